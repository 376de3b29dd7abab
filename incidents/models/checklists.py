"""Checklists: phases of items (shared between templates), templates per severity and
service (managers edit them in the admin), and the items each incident gets from them.
Writes go through `incidents.warroom.services`."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ..durations import YEAR, BoundedDurationField
from .core import Incident, Service, SeverityLevel


def _incident_transitions() -> list[tuple[str, str]]:
    """Every transition of the incident lifecycle, as (name, label), in declaration order."""
    seen = {}
    for transition in Incident._meta.get_field("state").get_all_transitions(Incident):
        seen.setdefault(transition.name, (transition.custom or {}).get("label", transition.name))
    return list(seen.items())


# Any transition can wait for a checklist item (seed 000's quality gates before resolving,
# seed 002's required tasks before closing, a team's own "triage only once ..." rule).
TRANSITION_CHOICES = _incident_transitions()
BLOCKS_CHOICES = [("", "Nothing"), *TRANSITION_CHOICES]


class BlockedTransition(models.TextChoices):
    """Kept for code that names the two common gates; any transition name is allowed."""

    NONE = "", "Nothing"
    RESOLVE = "resolve", "Resolve"
    CLOSE = "close", "Close"


class ItemKind(models.TextChoices):
    TASK = "task", "Task"
    QUALITY_GATE = "quality_gate", "Quality gate"
    SUCCESS_CRITERION = "success_criterion", "Success criterion"


class ChecklistPhase(models.Model):
    """A named group of checklist items, optionally with a time window counted from the
    declaration (seed 000: Initial Response hour 0-1, Triage Analysis hours 1-2, ...).

    A phase is defined once and used by any number of templates: seed 003's "For P0/P1
    incidents" mitigation steps are one phase shared by the P0 and the P1 checklist."""

    slug = models.SlugField(max_length=80, unique=True,
                            help_text="Stable name used in exports and imports.")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    starts_after = BoundedDurationField(
        null=True, blank=True, maximum=YEAR, help_text="Window start, counted from the declaration."
    )
    ends_after = BoundedDurationField(
        null=True, blank=True, maximum=YEAR,
        help_text="Window end, counted from the declaration; items still open after it are "
                  "overdue.",
    )
    remind_when_window_ends = models.BooleanField(
        default=True,
        help_text="When the window ends with items still open, remind the incident manager and "
                  "the people the open items are assigned to.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.window_label})" if self.window_label else self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    def clean(self):
        if self.starts_after and self.ends_after and self.ends_after < self.starts_after:
            raise ValidationError({"ends_after": "The window cannot end before it starts."})
        for field in ("starts_after", "ends_after"):
            value = getattr(self, field)
            if value is not None and value.total_seconds() < 0:
                raise ValidationError({field: "A window cannot start or end before the "
                                              "declaration."})

    @property
    def window_label(self) -> str:
        def hours(value):
            h = value.total_seconds() / 3600
            return f"{h:g}"

        if self.ends_after is None:
            return ""
        start = hours(self.starts_after) if self.starts_after is not None else "0"
        return f"hour {start}–{hours(self.ends_after)}"


class ChecklistTemplate(models.Model):
    """A checklist that incidents matching it get when declared (or raised to its severity, or
    changed to its type): a severity (empty: every severity), optionally one service and one
    incident type, and an ordered list of phases, which may be shared with other templates."""

    slug = models.SlugField(max_length=80, unique=True,
                            help_text="Stable name used in exports and imports.")
    name = models.CharField(max_length=120)
    severity = models.ForeignKey(
        SeverityLevel, on_delete=models.CASCADE, null=True, blank=True,
        related_name="checklist_templates", help_text="Empty: incidents of every severity.",
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True,
        related_name="checklist_templates",
        help_text="Only incidents affecting this service (empty: every incident).",
    )
    incident_type = models.ForeignKey(
        "incidents.IncidentType", on_delete=models.CASCADE, null=True, blank=True,
        related_name="checklist_templates", verbose_name="type",
        help_text="Only incidents of this type (empty: every type), e.g. seed 004's security "
                  "incident steps.",
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)
    phases = models.ManyToManyField(ChecklistPhase, through="ChecklistTemplatePhase",
                                    related_name="templates")
    history = HistoricalRecords()

    class Meta:
        ordering = ["severity__rank", "order", "name"]

    def __str__(self) -> str:
        return f"{self.severity.code}: {self.name}" if self.severity_id else self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class ChecklistTemplatePhase(models.Model):
    """A phase's place in a template."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE,
                                 related_name="phase_links")
    phase = models.ForeignKey(ChecklistPhase, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["template", "order", "id"]
        verbose_name = "phase of a template"
        constraints = [
            models.UniqueConstraint(fields=["template", "phase"], name="checklist_phase_once")
        ]

    def __str__(self) -> str:
        return f"{self.template.name} / {self.phase.name}"


class ChecklistTemplateItem(models.Model):
    """One item of a phase. Runbook text (commands, links) travels with it to the war room."""

    phase = models.ForeignKey(ChecklistPhase, on_delete=models.CASCADE, related_name="items")
    code = models.SlugField(max_length=80, help_text="Stable name within the phase.")
    text = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=ItemKind.choices, default=ItemKind.TASK)
    order = models.PositiveSmallIntegerField(default=0)
    is_required = models.BooleanField(default=False)
    blocks = models.CharField(
        "blocks transition", max_length=20, choices=BLOCKS_CHOICES, blank=True,
        default=BlockedTransition.NONE,
        help_text="A required item still open refuses this transition.",
    )
    runbook = models.TextField(
        blank=True, help_text="Commands or steps shown with the item in the war room (not run).",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["phase", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "code"], name="checklist_item_code")
        ]

    def __str__(self) -> str:
        return self.text

    def natural_key(self) -> tuple[str, str]:
        return (self.phase.slug, self.code)

    def clean(self):
        if self.blocks and not self.is_required:
            raise ValidationError({"blocks": "Only a required item can block a transition."})


class IncidentChecklistItem(models.Model):
    """One item on one incident's checklist: a copy of a template item, so later template
    edits never rewrite what an incident was asked to do."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="checklist_items")
    template_item = models.ForeignKey(
        ChecklistTemplateItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    template_name = models.CharField(max_length=120)
    phase_name = models.CharField(max_length=120, blank=True)
    phase_slug = models.CharField(max_length=80, blank=True)
    position = models.PositiveIntegerField(default=0)
    text = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=ItemKind.choices, default=ItemKind.TASK)
    is_required = models.BooleanField(default=False)
    blocks = models.CharField(
        "blocks transition", max_length=20, choices=BLOCKS_CHOICES, blank=True,
        default=BlockedTransition.NONE,
    )
    runbook = models.TextField(blank=True)
    applies = models.BooleanField(
        "required now", default=True,
        help_text="Off once the incident's severity or type no longer asks for the item: it "
                  "is kept (ticks are a record), shown as not required and gates nothing.",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="checklist_items_assigned",
        help_text="Reminded with the incident manager when the item's window ends open.",
    )
    window_starts_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["incident", "position", "id"]
        indexes = [models.Index(fields=["incident", "blocks", "done_at"])]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.text}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, now=None) -> bool:
        now = now or timezone.now()
        return self.done_at is None and self.due_at is not None and self.due_at < now
