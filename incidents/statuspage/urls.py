from django.urls import path

from . import views

app_name = "statuspage"

urlpatterns = [
    path("", views.index, name="index"),
]
