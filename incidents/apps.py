from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Guards and signal receivers of the war room (checklists block transitions).
        from .warroom import receivers  # noqa: F401
        # The configuration sections of a procedure file (severities, checklists, templates).
        from .procedure import core  # noqa: F401
        from .warroom import procedure  # noqa: F401
        # The public status page's cache moves on when what it shows changes.
        from .statuspage import freshness  # noqa: F401
        # So does the report dashboard's.
        from .reports import freshness as report_freshness  # noqa: F401
