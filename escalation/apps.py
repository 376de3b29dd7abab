from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "SLA, escalation and notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connects incident signal receivers, lifecycle guards and deadline handlers.
        from . import procedure, receivers  # noqa: F401
