"""Timers and the notification outbox: the database is the source of truth for both.

`Deadline` rows are swept by one beat task (`escalation.deadlines.deadlines_sweep`);
`Notification` rows are the transactional outbox, delivered by workers."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone

PENDING = Q(fired_at__isnull=True, cancelled_at__isnull=True)


class Deadline(models.Model):
    """A timer: at `due_at` the handler registered for `kind` runs, exactly once.

    `subject` is what the timer is about (an incident, a post-mortem, an action item, ...);
    `key` names the timer within its subject, so rescheduling replaces the pending one."""

    kind = models.CharField(max_length=64, db_index=True)
    key = models.CharField(max_length=200)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, null=True, blank=True,
        related_name="deadlines",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            # The sweep reads only pending rows by due time, so its cost follows the number of
            # due timers, not the number of incidents or of timers ever fired.
            models.Index(fields=["due_at"], condition=PENDING, name="deadline_pending_due_idx"),
            models.Index(fields=["content_type", "object_id"], name="deadline_subject_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "key"], condition=PENDING,
                name="deadline_one_pending_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_pending(self) -> bool:
        return self.fired_at is None and self.cancelled_at is None


class Heartbeat(models.Model):
    """When a periodic job last completed, for the health page and the admin warning."""

    name = models.CharField(max_length=64, primary_key=True)
    last_run_at = models.DateTimeField()
    last_duration_ms = models.PositiveIntegerField(default=0)
    last_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class Notification(models.Model):
    """Outbox row: one message for one recipient on one channel about one subject and reason.

    `dedup_key` is unique, so the same (subject, reason, recipient, channel) is queued once,
    however often a timer or a retried task asks for it."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        INAPP = "inapp", "In-app"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    dedup_key = models.CharField(max_length=255, unique=True)
    idempotency_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
        related_name="notifications",
    )
    webhook = models.ForeignKey(
        "escalation.WebhookEndpoint", on_delete=models.CASCADE, null=True, blank=True,
        related_name="notifications",
    )
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, null=True, blank=True,
        related_name="notifications",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    reason = models.CharField(max_length=120)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"),
                name="notification_due_idx",
            ),
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.recipient or self.webhook}: {self.title}"


class WebhookEndpoint(models.Model):
    """An incoming webhook that managers configure: Slack, Microsoft Teams or signed JSON."""

    class Format(models.TextChoices):
        SLACK = "slack", "Slack incoming webhook"
        TEAMS = "teams", "Microsoft Teams incoming webhook"
        JSON = "json", "Generic JSON (HMAC-SHA256 signed)"

    name = models.CharField(max_length=100, unique=True)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.JSON)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=200, blank=True, help_text="Signs generic JSON payloads (X-Webhook-Signature)."
    )
    is_active = models.BooleanField(default=True)
    min_severity_rank = models.PositiveSmallIntegerField(
        default=3, help_text="Receive incidents at this severity rank or more severe (0 = P0 only)."
    )

    def __str__(self) -> str:
        return self.name


class NotificationPreference(models.Model):
    """How a person wants to be told. In-app notifications are always on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.BooleanField(default=True, help_text="Also send notifications by email.")
    weekly_summary = models.BooleanField(
        default=False, help_text="Email me the weekly management summary (managers)."
    )
    monthly_summary = models.BooleanField(
        default=False, help_text="Email me the monthly management summary (managers)."
    )

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class DeliveryAttempt(models.Model):
    """One try at delivering a notification, kept for the admin and for debugging."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts_log"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-attempted_at"]
