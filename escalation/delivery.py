"""Delivery of the notification outbox: claim, send, record, retry.

A worker claims a batch of due rows with SELECT ... FOR UPDATE SKIP LOCKED LIMIT k on the
notification table alone (its partial index of pending rows) and, in that same short
transaction, counts the attempts, records a `DeliveryAttempt` each and leases the rows (moves
`next_attempt_at` past the longest a send may take). It loads what the channels need by key,
sends with no transaction open (a slow endpoint must not hold locks, and on SQLite the write
lock), e-mails over one SMTP session, then records the outcomes in one transaction. So:

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
from django.db.models import F, prefetch_related_objects
from django.utils import timezone

from . import channels
from .channels import DeliveryError
from .models import DeliveryAttempt, Heartbeat, Notification

logger = logging.getLogger(__name__)

DELIVERY_HEARTBEAT = "notifications_delivery"
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
BATCH_SIZE = 50  # rows claimed per transaction: about a second of e-mails
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


def deliver_due(*, time_budget: float = 50.0, limit: int | None = None,
                batch_size: int = BATCH_SIZE) -> DeliveryRun:
    """Deliver due outbox rows, a claimed batch at a time, until none is left, `limit` were
    handled or `time_budget` seconds have passed (the caller is a task with a time limit)."""
    started = time.monotonic()
    run = DeliveryRun()
    handled = 0
    while time.monotonic() - started < time_budget and (limit is None or handled < limit):
        size = batch_size if limit is None else min(batch_size, limit - handled)
        claimed = _claim_batch(run, size)
        if claimed is None:
            break
        handled += claimed.size
        _send_batch(claimed.to_send, run)
    Heartbeat.objects.update_or_create(
        name=DELIVERY_HEARTBEAT,
        defaults={
            "last_run_at": timezone.now(),
            "last_duration_ms": int((time.monotonic() - started) * 1000),
            "last_count": run.sent,
        },
    )
    return run


@dataclass
class Claimed:
    size: int
    to_send: list[tuple[Notification, DeliveryAttempt]]


def _due_ids(run: DeliveryRun, size: int) -> list[int]:
    """Lock up to `size` due rows: the notification table alone, through its partial index of
    pending rows by next attempt, skipping rows other workers hold. No join, no sort of the
    backlog: the cost per claimed row stays flat however many are pending."""
    qs = Notification.objects.filter(
        status=Notification.Status.PENDING, next_attempt_at__lte=timezone.now()
    )
    if run.skipped_webhooks:
        qs = qs.exclude(webhook_id__in=run.skipped_webhooks)
    if run.skipped_channels:
        qs = qs.exclude(channel__in=run.skipped_channels)
    return list(qs.order_by("next_attempt_at").select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:size])


def _claim_batch(run: DeliveryRun, size: int) -> Claimed | None:
    """Lock, count and lease a batch of due rows in one short transaction, recording an attempt
    for each row to send. Returns None when nothing is due. In-app rows (delivered by existing)
    and rows out of attempts are settled here and need no sending."""
    now = timezone.now()
    with transaction.atomic():
        ids = _due_ids(run, size)
        if not ids:
            return None
        rows = list(Notification.objects.filter(pk__in=ids))
        inapp = [n.pk for n in rows if n.channel == Notification.Channel.INAPP]
        if inapp:
            # In-app notifications are delivered by existing (notify() creates them sent).
            Notification.objects.filter(pk__in=inapp).update(
                status=Notification.Status.SENT, sent_at=now)
            run.sent += len(inapp)
        to_send = []
        for notification in rows:
            if notification.channel == Notification.Channel.INAPP:
                continue
            if notification.attempts >= max_attempts():
                # Only reached when the last allowed attempt never reported back (sender killed).
                _give_up(notification, now,
                         notification.last_error or "The last attempt never finished.")
                run.failed += 1
                continue
            notification.attempts += 1
            to_send.append(notification)
        if to_send:
            # Each row's own attempt count (+1) and a lease past the longest a send may take.
            Notification.objects.filter(pk__in=[n.pk for n in to_send]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + lease())
            attempts = DeliveryAttempt.objects.bulk_create([
                DeliveryAttempt(notification=n, attempted_at=now, error=ATTEMPT_IN_PROGRESS)
                for n in to_send])
            _load_related(to_send)
    return Claimed(size=len(rows), to_send=list(zip(to_send, attempts, strict=True))
                   if to_send else [])


def _load_related(notifications: list[Notification]) -> None:
    """What the channels read (recipient, endpoint, incident and severity, content type), by
    key, a query per table for the whole batch."""
    prefetch_related_objects(notifications, "recipient", "webhook", "incident__severity",
                             "content_type")


def _send_batch(batch: list[tuple[Notification, DeliveryAttempt]], run: DeliveryRun) -> None:
    """Send with no transaction open (a slow endpoint must not hold locks), e-mails over one
    SMTP session, then record all outcomes in one transaction."""
    outcomes = []
    connection = None
    try:
        for notification, attempt in batch:
            if notification.webhook_id in run.skipped_webhooks or (
                    notification.channel in run.skipped_channels):
                # Its endpoint failed earlier in this batch: try again soon, not now.
                outcomes.append((notification, attempt, "Skipped: its endpoint was failing.",
                                 None, False, True))
                continue
            if notification.channel == Notification.Channel.EMAIL and connection is None:
                connection = channels.email_connection()
            try:
                status_code = channels.send(notification, email_connection=connection)
            except DeliveryError as exc:
                outcomes.append((notification, attempt, str(exc), exc.status_code,
                                 exc.permanent, False))
                _note_trouble(notification, exc.permanent, run)
                if notification.channel == Notification.Channel.EMAIL:
                    connection = _drop(connection)
            except Exception as exc:  # noqa: BLE001 - a bug in one payload must not stop the run
                logger.exception("Unexpected error delivering notification %s", notification.pk)
                outcomes.append((notification, attempt, f"{type(exc).__name__}: {exc}", None,
                                 False, False))
            else:
                outcomes.append((notification, attempt, None, status_code, False, False))
    finally:
        _drop(connection)
    _record_outcomes(outcomes, run)


def _drop(connection) -> None:
    if connection is not None:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - a broken session is dropped either way
            logger.debug("Closing the SMTP session failed", exc_info=True)
    return None


def _note_trouble(notification: Notification, permanent: bool, run: DeliveryRun) -> None:
    if not permanent:
        # The endpoint (or the mail server) is in trouble: leave its other rows for later.
        if notification.webhook_id:
            run.skipped_webhooks.add(notification.webhook_id)
        elif notification.channel == Notification.Channel.EMAIL:
            run.skipped_channels.add(Notification.Channel.EMAIL)


def _record_outcomes(outcomes, run: DeliveryRun) -> None:
    now = timezone.now()
    sent: dict[int, list[int]] = {}  # attempts -> notification ids
    with transaction.atomic():
        for notification, attempt, error, status_code, permanent, skipped in outcomes:
            if error is None:
                sent.setdefault(notification.attempts, []).append(notification.pk)
                continue
            if skipped:
                # Not really attempted: hand the attempt back and make the row due again.
                DeliveryAttempt.objects.filter(pk=attempt.pk).delete()
                Notification.objects.filter(pk=notification.pk,
                                            attempts=notification.attempts).update(
                    attempts=F("attempts") - 1, next_attempt_at=now)
                continue
            logger.warning("Notification %s attempt %s failed: %s", notification.pk,
                           notification.attempts, error)
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(
                succeeded=False, status_code=status_code, error=error)
            if permanent or notification.attempts >= max_attempts():
                _give_up(notification, now, error)
                run.failed += 1
            else:
                Notification.objects.filter(pk=notification.pk,
                                            attempts=notification.attempts).update(
                    last_error=error, next_attempt_at=now + retry_delay(notification.attempts))
                run.retrying += 1
        succeeded = [attempt.pk for n, attempt, error, *_ in outcomes if error is None]
        if succeeded:
            status_codes = {attempt.pk: code for n, attempt, error, code, *_ in outcomes
                            if error is None}
            for code in set(status_codes.values()):
                DeliveryAttempt.objects.filter(
                    pk__in=[pk for pk, c in status_codes.items() if c == code]).update(
                    succeeded=True, status_code=code, error="")
        for attempts, ids in sent.items():
            # Guarded by the attempt count: if an admin reset a row meanwhile, it stays reset.
            run.sent += Notification.objects.filter(pk__in=ids, attempts=attempts).update(
                status=Notification.Status.SENT, sent_at=now, last_error="")


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
