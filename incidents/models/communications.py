"""Stakeholder communication: message templates, who subscribes to which audience, how often
each audience must hear from us, and every update sent. Writes go through
`incidents.warroom.services`."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ..durations import MINUTE, YEAR, BoundedDurationField, format_duration
from .core import Incident, Service, SeverityLevel


class Audience(models.Model):
    """Who an update is for: customers, internal stakeholders, executives, the response team,
    or any group a team names (seed 002's clients, Cash IM team). People subscribe to it; a
    cadence says how often it must hear from us."""

    slug = models.SlugField(max_length=40, unique=True,
                            help_text="Stable name used in exports, imports and timers.")
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    includes_incident_team = models.BooleanField(
        default=False, help_text="Also reach the incident's own roster (manager, leads, "
                                 "responders).")
    may_publish = models.BooleanField(
        "may publish on the status page", default=False,
        help_text="Updates for this audience may be published on the public status page.")
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class Contact(models.Model):
    """Someone without a login who hears about incidents (a client, a partner team): e-mail
    only, and never a link into the staff pages."""

    name = models.CharField(max_length=120)
    email = models.EmailField(unique=True, help_text="Also the contact's stable name in exports.")
    organisation = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["organisation", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})" if self.organisation else self.name

    def natural_key(self) -> tuple[str]:
        return (self.email,)

    def clean(self):
        self.email = self.email.strip().lower()  # before the uniqueness check

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class DefaultAudience(models.TextChoices):
    """The audiences the default configuration ships (rows of Audience, editable)."""

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
    audience = models.ForeignKey(
        Audience, on_delete=models.PROTECT, to_field="slug", db_column="audience",
        related_name="+",
    )
    stage = models.CharField(max_length=20, choices=Stage.choices)
    severity = models.ForeignKey(
        SeverityLevel, on_delete=models.CASCADE, null=True, blank=True,
        related_name="message_templates", help_text="Leave empty to offer it at every severity.",
    )
    incident_type = models.ForeignKey(
        "incidents.IncidentType", on_delete=models.CASCADE, null=True, blank=True,
        related_name="message_templates", verbose_name="type",
        help_text="Leave empty to offer it for every type of incident.",
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

    audience = models.ForeignKey(
        Audience, on_delete=models.PROTECT, to_field="slug", db_column="audience",
        related_name="subscriptions",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
        related_name="audience_subscriptions",
    )
    group = models.ForeignKey(
        "auth.Group", on_delete=models.CASCADE, null=True, blank=True,
        related_name="audience_subscriptions",
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions",
        help_text="Someone without a login: e-mail only, never a link into the staff pages.",
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
                condition=(models.Q(user__isnull=False) | models.Q(group__isnull=False)
                           | models.Q(contact__isnull=False)),
                name="subscription_has_someone",
            )
        ]

    def __str__(self) -> str:
        who = self.user or self.group or self.contact
        return f"{who} → {self.audience}"

    def clean(self):
        # A contact being added with its subscriptions inline is not saved yet (no id).
        unsaved_contact = self._state.fields_cache.get("contact") is not None
        if not (self.user_id or self.group_id or self.contact_id or unsaved_contact):
            raise ValidationError("Choose a person, a group or a contact.")


class CommunicationCadence(models.Model):
    """How often audiences must get an update at a severity, optionally for one incident type
    only (seed 004 "Communication Frequency by Severity"), optionally counted in business hours only ("every 2 hours
    during business hours"). The war room shows "update overdue" and reminds the
    communications lead and incident manager when the time passes without one."""

    slug = models.SlugField(max_length=80, unique=True,
                            help_text="Stable name used in exports, imports and timers.")
    severity = models.ForeignKey(SeverityLevel, on_delete=models.CASCADE, related_name="cadences")
    incident_type = models.ForeignKey(
        "incidents.IncidentType", on_delete=models.CASCADE, null=True, blank=True,
        related_name="cadences", verbose_name="type",
        help_text="Only incidents of this type (empty: every type).")
    audiences = models.ManyToManyField(Audience, related_name="cadences",
                                       help_text="Each audience gets its own timer.")
    interval = BoundedDurationField(help_text="Time between updates, e.g. 30m or 2h.",
                                    minimum=MINUTE, maximum=YEAR)
    business_hours_only = models.BooleanField(
        default=False,
        help_text="Count the interval in the default business calendar's working hours only "
                  "(a day counts as one working day).")
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
        ordering = ["severity__rank", "slug"]

    def __str__(self) -> str:
        every = format_duration(self.interval, business_days=self.business_hours_only)
        hours = " (business hours)" if self.business_hours_only else ""
        kind = f" {self.incident_type.name.lower()}" if self.incident_type_id else ""
        return f"{self.severity.code}{kind} every {every}{hours}"

    def natural_key(self) -> tuple[str]:
        return (self.slug,)

    def clean(self):
        if self.interval is not None and self.interval.total_seconds() < 60:
            raise ValidationError({"interval": "An interval shorter than a minute is not useful."})


class StatusUpdate(models.Model):
    """A message sent about an incident, kept with its recipients. Customer-facing updates
    marked public appear on the public status page."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="status_updates")
    audience = models.ForeignKey(
        Audience, on_delete=models.PROTECT, to_field="slug", db_column="audience",
        related_name="+",
    )
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
    contacts = models.ManyToManyField(Contact, blank=True, related_name="status_updates_received")
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
        return f"{self.audience} {self.get_stage_display()}: {self.subject}"
