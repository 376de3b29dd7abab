from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("export.pdf", views.export_pdf, name="export_pdf"),
    path("exports/<uuid:export_id>/", views.export_status, name="export_status"),
    path("exports/<uuid:export_id>/download", views.export_download, name="export_download"),
    path("incidents/<str:reference>/summary.pdf", views.incident_summary_pdf,
         name="incident_summary_pdf"),
    path("incidents/<str:reference>/summary.txt", views.incident_summary_txt,
         name="incident_summary_txt"),
]
