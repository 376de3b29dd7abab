"""Stakeholder communication: message templates, who subscribes to which audience, how often
each audience must hear from us, and every update sent. Writes go through
`incidents.warroom.services`."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ..durations import MINUTE, YEAR, BoundedDurationField
from .core import Incident, Service, SeverityLevel


class Audience(models.TextChoices):
    CUSTOMER = "customer", "Customers"
    STAKEHOLDERS = "stakeholders", "Internal stakeholders"
    EXECUTIVES = "executives", "Executives"
    TEAM = "team", "Response team"


class Stage(models.TextChoices):
    INITIAL = "initial", "Initial notification"
    UPDATE = "update", "Update"
    RESOLUTION = "resolution", "Resolution"


class MessageTemplate(models.Model):
    """Subject and body in Django template syntax, rendered with a restricted context of the
    incident's data ({{ reference }}, {{ severity }}, {{ impact }}, {{ next_update }}, ...)."""

    name = models.CharField(max_length=120, unique=True)
    audience = models.CharField(max_length=20, choices=Audience.choices)
    stage = models.CharField(max_length=20, choices=Stage.choices)
    severity = models.ForeignKey(
        SeverityLevel, on_delete=models.CASCADE, null=True, blank=True,
        related_name="message_templates", help_text="Leave empty to offer it at every severity.",
    )
    subject = models.CharField(max_length=255)
    body = models.TextField()
    source = models.CharField(max_length=200, blank=True, help_text="Where the wording comes from.")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["audience", "stage", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from incidents.warroom.rendering import template_errors

        errors = {}
        for field in ("subject", "body"):
            problem = template_errors(getattr(self, field))
            if problem:
                errors[field] = problem
        if errors:
            raise ValidationError(errors)


class AudienceSubscription(models.Model):
    """A person or a group hears about incidents for an audience, optionally only for one
    service and from a minimum severity."""

    audience = models.CharField(max_length=20, choices=Audience.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
        related_name="audience_subscriptions",
    )
    group = models.ForeignKey(
        "auth.Group", on_delete=models.CASCADE, null=True, blank=True,
        related_name="audience_subscriptions",
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True,
        help_text="Only incidents affecting this service (empty: all).",
    )
    min_severity = models.ForeignKey(
        SeverityLevel, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text="Only incidents at this severity or more severe (empty: all).",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["audience", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(group__isnull=False),
                name="subscription_has_user_or_group",
            )
        ]

    def __str__(self) -> str:
        who = self.user or self.group
        return f"{who} → {self.get_audience_display()}"

    def clean(self):
        if not self.user_id and not self.group_id:
            raise ValidationError("Choose a person, a group or both.")


class CommunicationCadence(models.Model):
    """How often an audience must get an update at a severity (seed 004 "Communication
    Frequency by Severity"). The war room shows "update overdue" and reminds the
    communications lead and incident manager when the time passes without one."""

    severity = models.ForeignKey(SeverityLevel, on_delete=models.CASCADE, related_name="cadences")
    audience = models.CharField(max_length=20, choices=Audience.choices)
    interval = BoundedDurationField(help_text="Time between updates, e.g. 30m or 2h.",
                                    minimum=MINUTE, maximum=YEAR)
    first_update_within = BoundedDurationField(
        null=True, blank=True, maximum=YEAR,
        help_text="First update due this long after detection (empty: one interval after "
                  "declaration).",
    )
    only_if_customer_facing = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["severity__rank", "audience"]
        constraints = [
            models.UniqueConstraint(fields=["severity", "audience"], name="one_cadence_per_audience")
        ]

    def __str__(self) -> str:
        return f"{self.severity.code} {self.get_audience_display()} every {self.interval}"

    def clean(self):
        if self.interval is not None and self.interval.total_seconds() < 60:
            raise ValidationError({"interval": "An interval shorter than a minute is not useful."})


class StatusUpdate(models.Model):
    """A message sent about an incident, kept with its recipients. Customer-facing updates
    marked public appear on the public status page."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="status_updates")
    audience = models.CharField(max_length=20, choices=Audience.choices)
    stage = models.CharField(max_length=20, choices=Stage.choices)
    template = models.ForeignKey(
        MessageTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=255)
    body = models.TextField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="status_updates_sent"
    )
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="status_updates_received"
    )
    is_public = models.BooleanField(
        default=False, help_text="Published on the public status page (customer updates only)."
    )

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(fields=["incident", "audience", "sent_at"]),
            models.Index(fields=["is_public", "sent_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_audience_display()} {self.get_stage_display()}: {self.subject}"
