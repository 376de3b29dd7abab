"""Is the timer and notification machinery alive? For the health page and the admin warning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from .delivery import DELIVERY_HEARTBEAT
from .models import PENDING, Deadline, Heartbeat, Notification

SWEEP_HEARTBEAT = "deadlines_sweep"
STALE_AFTER = timedelta(seconds=60)
# The beat sweeps every 5 s, so a timer is normally overdue for a few seconds at most; a
# minute means the sweep cannot keep up (or is not running) and timers act late.
LAG_WARN_AFTER = timedelta(seconds=60)
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
    sweep_overdue: int = 0  # pending timers whose due time has passed
    sweep_oldest_overdue_at: datetime | None = None

    @property
    def sweep_lag(self) -> timedelta | None:
        """How far the sweep is behind: the age of the oldest overdue pending timer."""
        if self.sweep_oldest_overdue_at is None:
            return None
        return self.checked_at - self.sweep_oldest_overdue_at

    @property
    def sweep_lagging(self) -> bool:
        return self.sweep_lag is not None and self.sweep_lag > LAG_WARN_AFTER

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
        if self.sweep_lagging:
            problems.append(
                f"Timers are running late: {self.sweep_overdue} overdue, the oldest by "
                f"{int(self.sweep_lag.total_seconds())} s (more than "
                f"{int(LAG_WARN_AFTER.total_seconds())} s). SLA breaches and escalations are "
                "recorded at their due time but notified late: the sweep cannot keep up. Add "
                "workers or check the Celery beat."
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
                "overdue": self.sweep_overdue,
                "oldest_overdue_due_at": iso(self.sweep_oldest_overdue_at),
                "lag_seconds": None if self.sweep_lag is None else round(
                    self.sweep_lag.total_seconds(), 1),
                "lag_warn_after_seconds": int(LAG_WARN_AFTER.total_seconds()),
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
    # Both read the partial index of pending timers by due time: the cost follows the backlog.
    overdue = Deadline.objects.filter(PENDING, due_at__lte=now)
    oldest_overdue = overdue.order_by("due_at").values_list("due_at", flat=True).first()
    sweep = heartbeats.get(SWEEP_HEARTBEAT)
    delivery = heartbeats.get(DELIVERY_HEARTBEAT)
    return DeliveryHealth(
        checked_at=now,
        sweep_last_run_at=sweep.last_run_at if sweep else None,
        sweep_last_duration_ms=sweep.last_duration_ms if sweep else None,
        delivery_last_run_at=delivery.last_run_at if delivery else None,
        sweep_overdue=overdue.count() if oldest_overdue else 0,
        sweep_oldest_overdue_at=oldest_overdue,
        **counts,
    )
