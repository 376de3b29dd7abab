from django.urls import path

from . import views

app_name = "escalation"

urlpatterns = [
    path("on-call/", views.oncall, name="oncall"),
    path("incidents/<str:reference>/escalate/", views.escalate, name="escalate"),
    path("incidents/<str:reference>/escalations/<int:pk>/acknowledge/", views.acknowledge,
         name="acknowledge"),
]
