"""The procedure's dimensions that are not severities: incident types; and the record of
every procedure file applied.

Checklists, escalation ladders, impact rules, message templates and required roles hang on
(severity x) type in the areas that own them; the type itself holds what every incident of it
starts with. Each configuration row has a code as its natural key, so a procedure file can name
rows without database ids."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class CodeNamedManager(models.Manager):
    """Configuration rows are found by their code in procedure files and fixtures."""

    def get_by_natural_key(self, code):
        return self.get(code=code)


class IncidentType(models.Model):
    """What kind of problem an incident is (seed 004's "Issue Categories": technical, security,
    infrastructure, process, business). Managers add their own."""

    code = models.SlugField(max_length=40, unique=True,
                            help_text="Short name used in procedure files, e.g. security.")
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True, help_text="What belongs to this type.")
    order = models.PositiveSmallIntegerField(default=0, help_text="Position in lists.")
    is_default = models.BooleanField(
        "default type", default=False,
        help_text="Preselected when declaring; incidents created without a type get it.",
    )
    is_active = models.BooleanField(
        default=True, help_text="Inactive types are no longer offered when declaring; "
                                "incidents that have them keep them.",
    )
    restricted_by_default = models.BooleanField(
        default=False,
        help_text="New incidents of this type start restricted to their participants "
                  "(e.g. security incidents).",
    )
    history = HistoricalRecords()
    objects = CodeNamedManager()

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                    name="one_default_incident_type"),
        ]

    def __str__(self) -> str:
        return self.name

    def natural_key(self):
        return (self.code,)

    @classmethod
    def default_pk(cls) -> int | None:
        """The default type's id: the one flagged default, else the first in order."""
        pks = cls.objects.order_by("-is_default", "order", "pk").values_list("pk", flat=True)
        return pks.first()


def default_incident_type():
    """Model default for Incident.incident_type (a module-level function so migrations can
    reference it)."""
    return IncidentType.default_pk()


class ProcedureRevision(models.Model):
    """One applied procedure file (a preset loaded by name, or a file imported). The newest
    row names the procedure the portal runs; every configuration row it changed also has the
    reason in its own history."""

    name = models.CharField(max_length=200, help_text="The procedure's name, from its file.")
    preset = models.CharField(max_length=100, blank=True,
                              help_text="The preset it was loaded from, if any.")
    applied_at = models.DateTimeField(default=timezone.now, db_index=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=200)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the file applied.")
    changes = models.TextField(blank=True, help_text="What the import changed, one line each.")

    class Meta:
        ordering = ["-applied_at", "-id"]
        get_latest_by = "applied_at"
        permissions = [("switch_procedure", "Can preview and switch the active procedure")]

    def __str__(self) -> str:
        return f"{self.name} ({timezone.localtime(self.applied_at):%Y-%m-%d %H:%M})"

    @classmethod
    def active(cls) -> ProcedureRevision | None:
        return cls.objects.order_by("-applied_at", "-id").first()
