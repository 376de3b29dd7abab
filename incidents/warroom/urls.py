from django.urls import path

from . import views

app_name = "warroom"

urlpatterns = [
    path("<str:reference>/", views.room, name="room"),
    path("<str:reference>/timeline/", views.timeline_fragment, name="timeline"),
    path("<str:reference>/notes/", views.add_note, name="add_note"),
    path("<str:reference>/roster/join/", views.join_or_leave, name="join_or_leave"),
    path("<str:reference>/roster/assign/", views.assign_role, name="assign_role"),
    path("<str:reference>/roster/remove/<int:user_id>/", views.remove_responder,
         name="remove_responder"),
    path("<str:reference>/transition/<str:name>/", views.transition, name="transition"),
    path("<str:reference>/checklist/<int:item_id>/", views.tick_item, name="tick_item"),
    path("<str:reference>/checklist/<int:item_id>/assign/", views.assign_item,
         name="assign_item"),
    path("<str:reference>/messages/new/", views.compose, name="compose"),
]
