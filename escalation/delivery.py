"""Delivery of the notification outbox: claim, send, record, retry.

A worker claims one due row at a time with SELECT ... FOR UPDATE SKIP LOCKED and, in that same
short transaction, counts the attempt, records a `DeliveryAttempt` and leases the row (moves
`next_attempt_at` past the longest a send may take). It sends with no transaction open (a slow
endpoint must not hold locks, and on SQLite the write lock), then records the outcome. So:

- two workers never claim the same row (the lock while claiming, the lease after);
- a worker killed mid-send loses nothing: the row is due again when its lease ends, and it is
  re-sent with the same idempotency id (Message-ID / X-Webhook-Id) for the receiver to dedupe;
  the interrupted attempt stays on record;
- a failure is retried with exponential backoff until `NOTIFICATION_MAX_ATTEMPTS`, then the row is
  marked failed; an endpoint or channel that fails is skipped for the rest of the run, so it
  never holds up the others."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import channels
from .channels import DeliveryError
from .models import DeliveryAttempt, Heartbeat, Notification

logger = logging.getLogger(__name__)

DELIVERY_HEARTBEAT = "notifications_delivery"
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
ATTEMPT_IN_PROGRESS = (
    "Sending; no outcome recorded yet (if this stays, the sender stopped mid-send)."
)


def max_attempts() -> int:
    return int(getattr(settings, "NOTIFICATION_MAX_ATTEMPTS", 8))


def lease() -> timedelta:
    """How long a claimed row is reserved for its sender: longer than a send can take."""
    return timedelta(seconds=float(getattr(settings, "NOTIFICATION_DELIVERY_LEASE_SECONDS", 60)))


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: 30 s, 1 min, 2 min, 4 min, ... at most one hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


@dataclass
class DeliveryRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped_webhooks: set[int] = field(default_factory=set)
    skipped_channels: set[str] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def deliver_due(*, time_budget: float = 50.0, limit: int | None = None) -> DeliveryRun:
    """Deliver due outbox rows one by one until none is left, `limit` were handled or
    `time_budget` seconds have passed (the caller is a task with a time limit)."""
    started = time.monotonic()
    run = DeliveryRun()
    handled = 0
    while time.monotonic() - started < time_budget and (limit is None or handled < limit):
        claimed = _claim_next(run)
        if claimed is None:
            break
        handled += 1
        notification, attempt = claimed
        if attempt is not None:
            _send_and_record(notification, attempt, run)
    Heartbeat.objects.update_or_create(
        name=DELIVERY_HEARTBEAT,
        defaults={
            "last_run_at": timezone.now(),
            "last_duration_ms": int((time.monotonic() - started) * 1000),
            "last_count": run.sent,
        },
    )
    return run


def _due_rows(run: DeliveryRun):
    qs = Notification.objects.filter(
        status=Notification.Status.PENDING, next_attempt_at__lte=timezone.now()
    )
    if run.skipped_webhooks:
        qs = qs.exclude(webhook_id__in=run.skipped_webhooks)
    if run.skipped_channels:
        qs = qs.exclude(channel__in=run.skipped_channels)
    return qs.order_by("next_attempt_at", "pk")


def _claim_next(run: DeliveryRun) -> tuple[Notification, DeliveryAttempt | None] | None:
    """Lock, count and lease the next due row. Returns None when nothing is due; the attempt is
    None when the row needed no sending (in-app, or out of attempts)."""
    now = timezone.now()
    with transaction.atomic():
        notification = (
            _due_rows(run)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient", "webhook", "incident__severity", "content_type")
            .first()
        )
        if notification is None:
            return None
        if notification.channel == Notification.Channel.INAPP:
            # In-app notifications are delivered by existing (notify() creates them sent).
            Notification.objects.filter(pk=notification.pk).update(
                status=Notification.Status.SENT, sent_at=now
            )
            run.sent += 1
            return notification, None
        if notification.attempts >= max_attempts():
            # Only reached when the last allowed attempt never reported back (sender killed).
            _give_up(notification, now,
                     notification.last_error or "The last attempt never finished.")
            run.failed += 1
            return notification, None
        notification.attempts += 1
        notification.next_attempt_at = now + lease()
        notification.save(update_fields=["attempts", "next_attempt_at"])
        attempt = DeliveryAttempt.objects.create(
            notification=notification, attempted_at=now, error=ATTEMPT_IN_PROGRESS
        )
    return notification, attempt


def _send_and_record(notification: Notification, attempt: DeliveryAttempt, run: DeliveryRun):
    try:
        status_code = channels.send(notification)
    except DeliveryError as exc:
        _record_failure(notification, attempt, run, str(exc), exc.status_code, exc.permanent)
    except Exception as exc:  # noqa: BLE001 - a bug in one payload must not stop the run
        logger.exception("Unexpected error delivering notification %s", notification.pk)
        _record_failure(notification, attempt, run, f"{type(exc).__name__}: {exc}", None, False)
    else:
        now = timezone.now()
        with transaction.atomic():
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(
                succeeded=True, status_code=status_code, error=""
            )
            # Guarded by the attempt count: if an admin reset the row meanwhile, it stays reset.
            Notification.objects.filter(pk=notification.pk, attempts=notification.attempts).update(
                status=Notification.Status.SENT, sent_at=now, last_error=""
            )
        run.sent += 1


def _record_failure(notification, attempt, run, error, status_code, permanent):
    now = timezone.now()
    logger.warning("Notification %s attempt %s failed: %s", notification.pk,
                   notification.attempts, error)
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            succeeded=False, status_code=status_code, error=error
        )
        if permanent or notification.attempts >= max_attempts():
            _give_up(notification, now, error)
            run.failed += 1
        else:
            Notification.objects.filter(pk=notification.pk, attempts=notification.attempts).update(
                last_error=error, next_attempt_at=now + retry_delay(notification.attempts)
            )
            run.retrying += 1
    if not permanent:
        # The endpoint (or the mail server) is in trouble: leave its other rows for later.
        if notification.webhook_id:
            run.skipped_webhooks.add(notification.webhook_id)
        elif notification.channel == Notification.Channel.EMAIL:
            run.skipped_channels.add(Notification.Channel.EMAIL)


def _give_up(notification: Notification, now, error: str) -> None:
    Notification.objects.filter(pk=notification.pk, attempts=notification.attempts).update(
        status=Notification.Status.FAILED,
        last_error=f"Gave up after {notification.attempts} attempt(s): {error}",
        next_attempt_at=now,
    )


# --- Operations for managers -----------------------------------------------------------------

def notifications_retry_now(*, notification_ids) -> int:
    """Put undelivered notifications back in the queue with a fresh set of attempts (the admin's
    "retry now"). Sent ones are left alone: re-sending them is never what anyone wants."""
    with transaction.atomic():
        count = (
            Notification.objects.filter(pk__in=list(notification_ids))
            .exclude(status=Notification.Status.SENT)
            .update(status=Notification.Status.PENDING, attempts=0,
                    next_attempt_at=timezone.now())
        )
        if count:
            queue_delivery()
    return count


def webhook_send_test(*, endpoint, by) -> Notification:
    """Queue a test message to one endpoint (the admin's "send a test message")."""
    from django.contrib.contenttypes.models import ContentType

    now = timezone.now()
    content_type = ContentType.objects.get_for_model(endpoint)
    with transaction.atomic():
        notification = Notification.objects.create(
            dedup_key=f"{content_type.pk}:{endpoint.pk}:webhook.test@{now.isoformat()}:"
                      f"hook{endpoint.pk}:webhook",
            channel=Notification.Channel.WEBHOOK, webhook=endpoint,
            content_type=content_type, object_id=endpoint.pk, reason="webhook.test",
            title=f"Test message from Firebreak to {endpoint.name}"[:255],
            body=f"Sent by {by.get_full_name() or by.get_username()} to check this webhook.",
            created_at=now, next_attempt_at=now,
        )
        queue_delivery()
    return notification


def queue_delivery() -> None:
    """Ask a worker to deliver as soon as the current transaction commits. Best effort: the
    beat's delivery task picks the rows up within seconds anyway if the broker is down."""

    def enqueue():
        from .tasks import deliver_notifications_task

        try:
            deliver_notifications_task.apply_async(retry=False, expires=60)
        except Exception:  # noqa: BLE001 - the outbox row is safe; only the nudge is lost
            logger.warning("Could not queue notification delivery; the beat will catch up.",
                           exc_info=True)

    transaction.on_commit(enqueue)
