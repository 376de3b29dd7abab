"""Is the timer and notification machinery alive? For the health page and the admin warning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from .delivery import DELIVERY_HEARTBEAT
from .models import Heartbeat, Notification

SWEEP_HEARTBEAT = "deadlines_sweep"
STALE_AFTER = timedelta(seconds=60)
RECENT_FAILURES_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class DeliveryHealth:
    checked_at: datetime
    sweep_last_run_at: datetime | None
    sweep_last_duration_ms: int | None
    delivery_last_run_at: datetime | None
    pending: int  # waiting for their first attempt
    failing: int  # failed at least once, will be retried
    failed: int  # gave up, all time
    failed_recently: int  # gave up, queued in the last 24 hours
    oldest_pending_at: datetime | None

    @property
    def sweep_age(self) -> timedelta | None:
        return None if self.sweep_last_run_at is None else self.checked_at - self.sweep_last_run_at

    @property
    def sweep_stale(self) -> bool:
        return self.sweep_age is None or self.sweep_age > STALE_AFTER

    @property
    def problems(self) -> list[str]:
        problems = []
        if self.sweep_last_run_at is None:
            problems.append("The deadline sweep has never run: is the Celery beat running?")
        elif self.sweep_stale:
            problems.append(
                f"The deadline sweep last ran {int(self.sweep_age.total_seconds())} s ago "
                f"(more than {int(STALE_AFTER.total_seconds())} s): SLA timers, escalations and "
                "reminders are not firing. Check the Celery beat and worker."
            )
        if self.failing:
            problems.append(f"{self.failing} notification(s) failing and being retried.")
        if self.failed_recently:
            problems.append(
                f"{self.failed_recently} notification(s) given up in the last 24 hours."
            )
        return problems

    @property
    def is_healthy(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        def iso(value):
            return value.isoformat() if value else None

        return {
            "status": "ok" if self.is_healthy else "degraded",
            "checked_at": iso(self.checked_at),
            "sweep": {
                "last_run_at": iso(self.sweep_last_run_at),
                "age_seconds": None if self.sweep_age is None else round(
                    self.sweep_age.total_seconds(), 1),
                "last_duration_ms": self.sweep_last_duration_ms,
                "stale": self.sweep_stale,
                "stale_after_seconds": int(STALE_AFTER.total_seconds()),
            },
            "delivery": {
                "last_run_at": iso(self.delivery_last_run_at),
                "pending": self.pending,
                "failing": self.failing,
                "failed": self.failed,
                "failed_last_24h": self.failed_recently,
                "oldest_pending_at": iso(self.oldest_pending_at),
            },
            "problems": self.problems,
        }


def delivery_health() -> DeliveryHealth:
    now = timezone.now()
    heartbeats = {
        beat.name: beat
        for beat in Heartbeat.objects.filter(name__in=[SWEEP_HEARTBEAT, DELIVERY_HEARTBEAT])
    }
    pending = Q(status=Notification.Status.PENDING)
    failed = Q(status=Notification.Status.FAILED)
    # Only unsent rows are counted (the status index), so the cost does not grow with history.
    counts = Notification.objects.filter(pending | failed).aggregate(
        pending=Count("pk", filter=pending & Q(last_error="")),
        failing=Count("pk", filter=pending & ~Q(last_error="")),
        failed=Count("pk", filter=failed),
        failed_recently=Count(
            "pk", filter=failed & Q(created_at__gte=now - RECENT_FAILURES_WINDOW)),
        oldest_pending_at=Min("created_at", filter=pending),
    )
    sweep = heartbeats.get(SWEEP_HEARTBEAT)
    delivery = heartbeats.get(DELIVERY_HEARTBEAT)
    return DeliveryHealth(
        checked_at=now,
        sweep_last_run_at=sweep.last_run_at if sweep else None,
        sweep_last_duration_ms=sweep.last_duration_ms if sweep else None,
        delivery_last_run_at=delivery.last_run_at if delivery else None,
        **counts,
    )
