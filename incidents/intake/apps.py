from django.apps import AppConfig


class IntakeConfig(AppConfig):
    """Alert intake: its own app label (and migrations) because it sits above `escalation`
    (rules page rotas), while the incident core below it must never depend on escalation."""

    name = "incidents.intake"
    label = "intake"
    verbose_name = "Alert intake"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from incidents.views.panels import register_declare_panel, register_incident_panel

        from . import procedure  # noqa: F401  (registers the intake's procedure sections)
        from .panels import similar_context

        register_incident_panel("intake/_incident_alerts.html", order=15)
        register_incident_panel("intake/_similar_incidents.html", context=similar_context,
                                order=16)
        register_declare_panel("intake/_declare_similar.html")
