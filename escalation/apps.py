from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "SLA, escalation and notifications"
    default_auto_field = "django.db.models.BigAutoField"
