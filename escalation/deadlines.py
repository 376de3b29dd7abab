"""Timers that neither drop nor double.

Apps register a handler per deadline kind (in AppConfig.ready) and schedule rows; one beat task
calls `deadlines_sweep`, which claims due rows with SELECT ... FOR UPDATE SKIP LOCKED, marks
them fired and runs the handler in the same transaction. A second beat skips rows the first
holds; a killed worker rolls back, so the rows stay pending for the next sweep.

Lock order, so that the sweep and a person acting never wait on each other in a circle:
- people's services lock the incident first (FOR NO KEY UPDATE), then its timers, then clocks
  and escalation events;
- the sweep locks timers, then clocks and events, and never locks an incident: at COMMIT,
  PostgreSQL's foreign-key checks take KEY SHARE on the incidents its new rows refer to, which
  does not conflict with NO KEY UPDATE. Handlers must keep it that way (no select_for_update
  on incidents, no UPDATE of incident rows).
Every select_for_update that joins the incident (select_related, or a Meta.ordering through a
foreign key such as SlaClock's) names `of=("self",)`: otherwise PostgreSQL locks the joined
incident row FOR UPDATE too, which blocks those foreign-key checks and brings the deadlock back.
Cancelling locks the rows first and updates them in a second statement (see `_cancel`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from .models import PENDING, Deadline, Heartbeat

logger = logging.getLogger(__name__)

Handler = Callable[[Deadline], None]
_handlers: dict[str, Handler] = {}
MAX_BACKOFF = timedelta(hours=1)


def register(kind: str) -> Callable[[Handler], Handler]:
    """Decorator: `@deadlines.register("sla.response")` on `def handle(deadline): ...`.

    The handler runs inside the sweep's transaction with the row locked; it may write rows,
    schedule follow-up deadlines and queue notifications (outbox), but must not send mail or
    call the network itself."""

    def decorator(handler: Handler) -> Handler:
        _handlers[kind] = handler
        return handler

    return decorator


def deadline_schedule(
    *, subject, key: str, kind: str, due_at: datetime, incident=None,
    payload: dict | None = None,
) -> Deadline:
    """Schedule (or move) the timer `key` of `subject`; a pending one with that key is replaced."""
    deadline_cancel(subject=subject, key=key)
    return Deadline.objects.create(
        kind=kind,
        key=key,
        incident=incident,
        content_type=ContentType.objects.get_for_model(subject),
        object_id=subject.pk,
        due_at=due_at,
        payload=payload or {},
    )


def pending_deadlines(subject, *, key_prefix: str = ""):
    qs = Deadline.objects.filter(
        PENDING, content_type=ContentType.objects.get_for_model(subject), object_id=subject.pk
    )
    if key_prefix:
        qs = qs.filter(key__startswith=key_prefix)
    return qs


def deadline_cancel(*, subject, key: str | None = None, key_prefix: str = "") -> int:
    """Cancel the pending timer `key` (or all whose key starts with `key_prefix`) of `subject`."""
    qs = pending_deadlines(subject, key_prefix=key_prefix)
    if key is not None:
        qs = qs.filter(key=key)
    return deadlines_cancel(qs)


def deadlines_cancel(pending, *, now: datetime | None = None) -> int:
    """Cancel the pending timers of the queryset `pending`.

    The rows are locked first and updated by a second statement. If a sweep holds some of
    them, the lock waits for it to commit; the UPDATE then runs on a fresh snapshot (READ
    COMMITTED), so it sees what that sweep did: rows it fired are left alone, and timers it
    scheduled meanwhile (an escalation's reminder, a rescheduled key) are cancelled too instead
    of surviving, or of colliding with a new row of the same key."""
    with transaction.atomic():
        deadlines_lock(pending)
        return pending.update(cancelled_at=now or timezone.now())


def deadlines_lock(pending) -> None:
    """Lock the timers of the queryset `pending` (waiting for a sweep that holds some)."""
    list(pending.select_for_update().order_by("pk").values_list("pk", flat=True))


def deadlines_sweep(*, now: datetime | None = None, batch_size: int = 50) -> int:
    """Fire every pending deadline due by `now`. Returns how many handlers ran.

    Each batch commits on its own: a handler costs tens of milliseconds (rows, history,
    timeline, outbox), so small batches make the first notifications of a mass breach visible
    to the delivery worker within seconds instead of after the whole backlog."""
    started = time.monotonic()
    now = now or timezone.now()
    fired = 0
    while True:
        with transaction.atomic():
            due = list(
                Deadline.objects.select_for_update(skip_locked=True)
                .filter(PENDING, due_at__lte=now)
                .order_by("due_at")[:batch_size]
            )
            for deadline in due:
                fired += _fire(deadline, now)
        if len(due) < batch_size:
            break
    Heartbeat.objects.update_or_create(
        name="deadlines_sweep",
        defaults={
            "last_run_at": timezone.now(),
            "last_duration_ms": int((time.monotonic() - started) * 1000),
            "last_count": fired,
        },
    )
    return fired


def _fire(deadline: Deadline, now: datetime) -> int:
    handler = _handlers.get(deadline.kind)
    if handler is None:
        logger.error("No handler for deadline kind %s (%s); cancelling it", deadline.kind, deadline)
        deadline.cancelled_at = now
        deadline.last_error = f"No handler registered for kind {deadline.kind!r}."
        deadline.save(update_fields=["cancelled_at", "last_error"])
        return 0
    attempts = deadline.attempts + 1
    try:
        # A savepoint per deadline: one failing handler must not undo the others in the batch.
        with transaction.atomic():
            # When it really ran; the handler acts as at `due_at` (see escalation.subjects).
            deadline.fired_at = timezone.now()
            deadline.attempts = attempts
            deadline.save(update_fields=["fired_at", "attempts"])
            handler(deadline)
        return 1
    except Exception as exc:  # noqa: BLE001 - any handler failure is retried with backoff
        logger.exception("Deadline %s failed; retrying later", deadline)
        deadline.fired_at = None
        deadline.attempts = attempts
        deadline.last_error = f"{type(exc).__name__}: {exc}"
        deadline.due_at = now + min(timedelta(minutes=2 ** min(deadline.attempts, 6)), MAX_BACKOFF)
        deadline.save(update_fields=["fired_at", "attempts", "last_error", "due_at"])
        return 0
