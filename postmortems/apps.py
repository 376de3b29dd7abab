from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Post-incident reviews"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connects incident signal receivers, lifecycle guards and deadline handlers.
        from . import message_variables, procedure, receivers  # noqa: F401
