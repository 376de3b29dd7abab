from django.urls import path

from . import endpoints, views

app_name = "intake"

urlpatterns = [
    path("intake/<uuid:public_id>/", endpoints.receive, name="receive"),
    path("intake/<uuid:public_id>/<str:secret>/", endpoints.receive, name="receive_with_secret"),
    path("v2/enqueue", endpoints.pagerduty_enqueue, name="pagerduty_enqueue"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("incidents/declare/similar/", views.similar_while_declaring,
         name="similar_while_declaring"),
]
