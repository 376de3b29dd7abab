from django.urls import path

from . import views

app_name = "postmortems"

urlpatterns = [
    path("", views.postmortem_list, name="list"),
    path("action-items/", views.action_items, name="action_items"),
    path("action-items/mine/", views.my_action_items, name="my_action_items"),
    path("action-items/<int:pk>/", views.action_item_edit, name="action_item_edit"),
    path("action-items/<int:pk>/<str:name>/", views.action_item_transition,
         name="action_item_transition"),
    path("<str:reference>/", views.postmortem_detail, name="detail"),
    path("<str:reference>/create/", views.postmortem_create, name="create"),
    path("<str:reference>/waive/", views.postmortem_waive, name="waive"),
    path("<str:reference>/edit/<slug:section>/", views.postmortem_section_edit, name="edit"),
    path("<str:reference>/timeline/", views.postmortem_timeline, name="timeline"),
    path("<str:reference>/timeline/import/", views.postmortem_timeline_import,
         name="timeline_import"),
    path("<str:reference>/transition/<str:name>/", views.postmortem_transition,
         name="transition"),
    path("<str:reference>/action-items/new/", views.action_item_create, name="action_item_create"),
    path("<str:reference>/action-items/from-follow-up/", views.action_item_from_follow_up,
         name="action_item_from_follow_up"),
    path("<str:reference>/export.md", views.export_markdown, name="export_markdown"),
    path("<str:reference>/export.pdf", views.export_pdf, name="export_pdf"),
]
