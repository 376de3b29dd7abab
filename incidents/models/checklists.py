"""Checklists: templates per severity (managers edit them in the admin) and the items each
incident gets from them. Writes go through `incidents.warroom.services`."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .core import Incident, SeverityLevel


class BlockedTransition(models.TextChoices):
    NONE = "", "Nothing"
    RESOLVE = "resolve", "Resolve"
    CLOSE = "close", "Close"


class ItemKind(models.TextChoices):
    TASK = "task", "Task"
    QUALITY_GATE = "quality_gate", "Quality gate"
    SUCCESS_CRITERION = "success_criterion", "Success criterion"


class ChecklistTemplate(models.Model):
    """A checklist every incident of `severity` gets when it is declared (or raised to it)."""

    name = models.CharField(max_length=120)
    severity = models.ForeignKey(
        SeverityLevel, on_delete=models.CASCADE, related_name="checklist_templates"
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["severity__rank", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["severity", "name"], name="checklist_template_name")
        ]

    def __str__(self) -> str:
        return f"{self.severity.code}: {self.name}"


class ChecklistPhase(models.Model):
    """A phase of a template, optionally with a time window counted from the declaration
    (seed 000: Initial Response hour 0-1, Triage Analysis hours 1-2, ...)."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)
    starts_after = models.DurationField(
        null=True, blank=True, help_text="Window start, counted from the declaration (hh:mm:ss)."
    )
    ends_after = models.DurationField(
        null=True, blank=True,
        help_text="Window end, counted from the declaration; items still open after it are overdue.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["template", "order", "id"]

    def __str__(self) -> str:
        return f"{self.template.name} / {self.name}"

    def clean(self):
        if self.starts_after and self.ends_after and self.ends_after < self.starts_after:
            raise ValidationError({"ends_after": "The window cannot end before it starts."})

    @property
    def window_label(self) -> str:
        def hours(value):
            h = value.total_seconds() / 3600
            return f"{h:g}"

        if self.ends_after is None:
            return ""
        start = hours(self.starts_after) if self.starts_after is not None else "0"
        return f"hour {start}–{hours(self.ends_after)}"


class ChecklistTemplateItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    phase = models.ForeignKey(
        ChecklistPhase, on_delete=models.CASCADE, null=True, blank=True, related_name="items",
        help_text="Optional: a phase of this template, whose window makes the item overdue.",
    )
    text = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=ItemKind.choices, default=ItemKind.TASK)
    order = models.PositiveSmallIntegerField(default=0)
    is_required = models.BooleanField(default=False)
    blocks = models.CharField(
        "blocks transition", max_length=20, choices=BlockedTransition.choices, blank=True,
        default=BlockedTransition.NONE,
        help_text="A required item still open refuses this transition.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["template", "phase__order", "order", "id"]

    def __str__(self) -> str:
        return self.text

    def clean(self):
        if self.phase_id and self.template_id and self.phase.template_id != self.template_id:
            raise ValidationError({"phase": "Choose a phase of the same template."})
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
    position = models.PositiveIntegerField(default=0)
    text = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=ItemKind.choices, default=ItemKind.TASK)
    is_required = models.BooleanField(default=False)
    blocks = models.CharField(
        "blocks transition", max_length=20, choices=BlockedTransition.choices, blank=True,
        default=BlockedTransition.NONE,
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
