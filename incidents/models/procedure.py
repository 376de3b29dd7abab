"""The procedure's dimensions that are not severities: incident types and roles; and the
record of every procedure file applied.

Checklists, escalation ladders, impact rules, message templates and required roles hang on
(severity x) type in the areas that own them; the type itself holds what every incident of it
starts with. Each configuration row has a code as its natural key, so a procedure file can name
rows without database ids."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .sole_default import SoleDefault


class CodeNamedManager(models.Manager):
    """Configuration rows are found by their code in procedure files and fixtures."""

    def get_by_natural_key(self, code):
        return self.get(code=code)


class IncidentType(SoleDefault):
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
        pks = cls.objects.order_by("-is_active", "-is_default", "order", "pk").values_list(
            "pk", flat=True)
        return pks.first()


def default_incident_type():
    """Model default for Incident.incident_type (a module-level function so migrations can
    reference it)."""
    return IncidentType.default_pk()


class IncidentRole(models.Model):
    """A role someone holds on an incident. Incident manager, communications lead and scribe
    are built in (stored on the incident itself); managers add their own, e.g. seed 003's
    security auditor and performance engineer.

    When a severity x type requires a role (`RoleRequirement`), whoever can fill it is paged at
    declaration: the people on call on the rotas that fill it (set on the rota), else the members
    of its group."""

    class Builtin(models.TextChoices):
        INCIDENT_MANAGER = "incident_manager", "Incident manager"
        COMMUNICATIONS_LEAD = "communications_lead", "Communications lead"
        SCRIBE = "scribe", "Scribe"

    code = models.SlugField(max_length=40, unique=True,
                            help_text="Short name used in procedure files, e.g. security-auditor.")
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True, help_text="What the person in this role does.")
    order = models.PositiveSmallIntegerField(default=0)
    incident_field = models.CharField(
        max_length=24, choices=Builtin.choices, blank=True, default="", editable=False,
        help_text="Built-in roles are stored on the incident itself.",
    )
    group = models.ForeignKey(
        "auth.Group", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="Paged when an incident requires this role and no rota fills it.",
    )
    history = HistoricalRecords()
    objects = CodeNamedManager()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def natural_key(self):
        return (self.code,)

    @property
    def is_builtin(self) -> bool:
        return bool(self.incident_field)


class RoleRequirement(models.Model):
    """Incidents of a severity and type need someone in this role (empty severity or type: any).
    Seed 003: P0 needs a devops troubleshooter, a security auditor and a performance engineer.

    The role can be filled from the affected service at declaration (seed 000: "repository
    owner + technical lead"); otherwise, or when the service names nobody, it is paged."""

    class FromService(models.TextChoices):
        NOBODY = "", "Nobody: page the role's rota or group"
        OWNER = "owner", "The affected service's owner"
        TECHNICAL_LEAD = "technical_lead", "The affected service's technical lead"

    role = models.ForeignKey(IncidentRole, on_delete=models.CASCADE, related_name="requirements")
    severity = models.ForeignKey("incidents.SeverityLevel", on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="role_requirements",
                                 help_text="Empty: every severity.")
    incident_type = models.ForeignKey(IncidentType, on_delete=models.CASCADE, null=True,
                                      blank=True, related_name="role_requirements",
                                      verbose_name="type", help_text="Empty: every type.")
    fill_from_service = models.CharField(
        "assign at declaration", max_length=20, choices=FromService.choices, blank=True,
        default=FromService.NOBODY,
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["role__order", "role__name"]

    def clean(self):
        # Checked here rather than by a unique constraint: "any severity" is NULL, and NULLs
        # are distinct in unique constraints on every database we run on.
        twins = RoleRequirement.objects.filter(role=self.role_id, severity=self.severity_id,
                                               incident_type=self.incident_type_id)
        if self.role_id and twins.exclude(pk=self.pk).exists():
            raise ValidationError("This role is already required for that severity and type.")

    def __str__(self) -> str:
        where = " ".join(str(part) for part in (
            self.severity.code if self.severity_id else "any severity",
            self.incident_type if self.incident_type_id else "any type"))
        return f"{self.role} for {where}"

    def natural_key(self):
        return (self.role.code, self.severity.code if self.severity_id else None,
                self.incident_type.code if self.incident_type_id else None)


class IncidentRoleAssignment(models.Model):
    """Who holds a role a manager defined (built-in roles are fields on the incident)."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE,
                                 related_name="role_assignments")
    role = models.ForeignKey(IncidentRole, on_delete=models.PROTECT, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="incident_roles")
    assigned_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["role__order", "role__name"]
        constraints = [models.UniqueConstraint(fields=["incident", "role"],
                                               name="one_holder_per_incident_role")]

    def __str__(self) -> str:
        return f"{self.role}: {self.user}"


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
