from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("incidents/", views.incident_list, name="list"),
    path("incidents/declare/", views.incident_declare, name="declare"),
    path("incidents/<str:reference>/", views.incident_detail, name="detail"),
    path("incidents/<str:reference>/transition/<str:name>/", views.incident_transition,
         name="transition"),
    path("incidents/<str:reference>/notes/", views.incident_add_note, name="add_note"),
    path("incidents/<str:reference>/severity/", views.incident_change_severity,
         name="change_severity"),
    path("incidents/<str:reference>/roles/", views.incident_assign_role, name="assign_role"),
    path("incidents/<str:reference>/responders/", views.incident_responder, name="responder"),
    path("incidents/<str:reference>/impact/", views.incident_update_impact, name="update_impact"),
    path("incidents/<str:reference>/visibility/", views.incident_change_visibility,
         name="change_visibility"),
]
