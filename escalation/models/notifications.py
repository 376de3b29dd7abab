"""The notification outbox (`Notification` rows delivered by workers), webhook endpoints,
people's preferences and the log of delivery attempts."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords


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
    # Someone without a login (a client, a partner team): e-mail only, no link to the portal.
    to_address = models.EmailField(blank=True)
    to_name = models.CharField(max_length=120, blank=True)
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
        target = self.recipient or self.webhook or self.to_address
        return f"{self.get_channel_display()} to {target}: {self.title}"


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
    # Who changed an endpoint, and when. Neither the secret nor the URL (for Slack and Teams the
    # credential itself) is copied into history; the change reason names the URL's host.
    history = HistoricalRecords(excluded_fields=["secret", "url"])

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
    history = HistoricalRecords()

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
