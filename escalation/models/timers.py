"""Timers: a `Deadline` row per pending timer, swept by one beat task
(`escalation.deadlines.deadlines_sweep`), and heartbeats of periodic jobs."""

from __future__ import annotations

from datetime import datetime

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

    @property
    def acts_at(self):
        """The moment the timer stands for: its due time, kept in the payload when a failed
        attempt moved `due_at` later for the retry (handlers act as at this moment)."""
        first = self.payload.get("acts_at")
        return datetime.fromisoformat(first) if first else self.due_at


class Heartbeat(models.Model):
    """When a periodic job last completed, for the health page and the admin warning."""

    name = models.CharField(max_length=64, primary_key=True)
    last_run_at = models.DateTimeField()
    last_duration_ms = models.PositiveIntegerField(default=0)
    last_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"
