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
from django.db.models import F, Q
from django.utils import timezone

from .models import PENDING, Deadline, Heartbeat

logger = logging.getLogger(__name__)

Handler = Callable[[Deadline], None]
BatchHandler = Callable[[list[Deadline]], None]
_handlers: dict[str, BatchHandler] = {}
MAX_BACKOFF = timedelta(hours=1)
BATCH_SIZE = 200


def register(kind: str) -> Callable[[Handler], Handler]:
    """Decorator: `@deadlines.register("sla.response")` on `def handle(deadline): ...`.

    The handler runs inside the sweep's transaction with the row locked; it may write rows,
    schedule follow-up deadlines and queue notifications (outbox), but must not send mail or
    call the network itself. It acts as at `deadline.acts_at` (its due time) and checks that what the timer is
    about is still in a state where it applies. Handlers registered this way run one timer at
    a time; `register_batch` takes all due timers of the kind in a batch at once."""

    def decorator(handler: Handler) -> Handler:
        def one_by_one(deadlines: list[Deadline]) -> None:
            for deadline in deadlines:
                handler(deadline)

        _handlers[kind] = one_by_one
        return handler

    return decorator


def register_batch(kind: str) -> Callable[[BatchHandler], BatchHandler]:
    """Decorator for a set-based handler: `def handle(deadlines: list[Deadline]): ...` gets all
    due timers of `kind` in a sweep batch and acts on them with bulk reads and writes. It must
    produce the same rows as acting on each alone: when it fails, the sweep calls it again with
    one timer at a time."""

    def decorator(handler: BatchHandler) -> BatchHandler:
        _handlers[kind] = handler
        return handler

    return decorator


def deadline_schedule(
    *, subject, key: str, kind: str, due_at: datetime, incident=None,
    payload: dict | None = None, replace: bool = True,
) -> Deadline:
    """Schedule (or move) the timer `key` of `subject`; a pending one with that key is replaced.
    Pass `replace=False` for a subject created in this very transaction (an incident being
    declared), which has no timer to replace: it saves the four statements of the cancel."""
    if replace:
        deadline_cancel(subject=subject, key=key)
    timer = deadline_new(subject=subject, key=key, kind=kind, due_at=due_at, incident=incident,
                         payload=payload)
    timer.save(force_insert=True)
    return timer


def deadline_new(*, subject, key: str, kind: str, due_at: datetime, incident=None,
                 payload: dict | None = None) -> Deadline:
    """An unsaved timer, for `deadlines_schedule_many`."""
    return Deadline(kind=kind, key=key, incident=incident,
                    content_type=ContentType.objects.get_for_model(subject),
                    object_id=subject.pk, due_at=due_at, payload=payload or {})


def deadlines_schedule_many(timers: list[Deadline], *, replace: bool = True) -> list[Deadline]:
    """`deadline_schedule` for many unsaved Deadline rows at once (a sweep batch). With
    `replace`, pending timers with the same subject and key are cancelled first (skip it for
    subjects created in this very transaction, which have none)."""
    if not timers:
        return []
    if replace:
        same_key = Q()
        for timer in timers:
            same_key |= Q(content_type_id=timer.content_type_id, object_id=timer.object_id,
                          key=timer.key)
        deadlines_cancel(Deadline.objects.filter(PENDING).filter(same_key))
    return Deadline.objects.bulk_create(timers)


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


def deadlines_sweep(*, now: datetime | None = None, batch_size: int = BATCH_SIZE,
                    on_full_batch: Callable[[], None] | None = None) -> int:
    """Fire every pending deadline due by `now`. Returns how many timers fired.

    Each batch is claimed with FOR UPDATE SKIP LOCKED and commits on its own, so several sweeps
    (the beat's and helpers asked for by `on_full_batch`, called once when the first batch is
    full) share a backlog, each on its own rows, and the first notifications of a mass breach
    reach the delivery worker while the rest is still being swept."""
    started = time.monotonic()
    now = now or timezone.now()
    fired = 0
    first = True
    while True:
        with transaction.atomic():
            due = list(
                Deadline.objects.select_for_update(skip_locked=True)
                .filter(PENDING, due_at__lte=now)
                .order_by("due_at")[:batch_size]
            )
            fired += _fire_batch(due, now)
        if len(due) < batch_size:
            break
        if first and on_full_batch is not None:
            on_full_batch()
        first = False
    Heartbeat.objects.update_or_create(
        name="deadlines_sweep",
        defaults={
            "last_run_at": timezone.now(),
            "last_duration_ms": int((time.monotonic() - started) * 1000),
            "last_count": fired,
        },
    )
    return fired


def _fire_batch(due: list[Deadline], now: datetime) -> int:
    """Fire a claimed batch: the timers of each kind together, by their kind's handler, in one
    savepoint. If that fails, each of them is tried alone, so one bad timer neither holds up
    nor undoes the others; a timer failing alone is retried later with backoff."""
    groups: dict[str, list[Deadline]] = {}
    for deadline in due:  # kinds in order of their first due timer
        groups.setdefault(deadline.kind, []).append(deadline)
    fired = 0
    for kind, group in groups.items():
        handler = _handlers.get(kind)
        if handler is None:
            _cancel_unhandled(group, now)
            continue
        try:
            with transaction.atomic():
                _mark_fired(group)
                handler(group)
            fired += len(group)
        except Exception as exc:  # noqa: BLE001 - isolate the failing timer(s) below
            if len(group) == 1:
                _record_failure(group[0], exc, now)
                continue
            logger.warning("A batch of %d %s timers failed; firing each alone", len(group), kind,
                           exc_info=True)
            for deadline in group:
                fired += _fire_alone(handler, deadline, now)
    return fired


def _mark_fired(group: list[Deadline]) -> None:
    # When they really ran; the handlers act as at `acts_at` (see escalation.subjects).
    fired_at = timezone.now()
    Deadline.objects.filter(pk__in=[d.pk for d in group]).update(
        fired_at=fired_at, attempts=F("attempts") + 1)
    for deadline in group:
        deadline.fired_at = fired_at


def _fire_alone(handler: BatchHandler, deadline: Deadline, now: datetime) -> int:
    try:
        with transaction.atomic():
            _mark_fired([deadline])
            handler([deadline])
        return 1
    except Exception as exc:  # noqa: BLE001 - any handler failure is retried with backoff
        _record_failure(deadline, exc, now)
        return 0


def _record_failure(deadline: Deadline, exc: Exception, now: datetime) -> None:
    logger.error("Deadline %s failed; retrying later", deadline, exc_info=exc)
    deadline.fired_at = None
    deadline.attempts += 1  # the savepoint rolled back the count with the rest
    # The retry waits (due_at moves), but still acts as at the original due time.
    payload = {**deadline.payload, "acts_at": deadline.acts_at.isoformat()}
    Deadline.objects.filter(pk=deadline.pk).update(
        fired_at=None, attempts=deadline.attempts, last_error=f"{type(exc).__name__}: {exc}",
        payload=payload,
        due_at=now + min(timedelta(minutes=2 ** min(deadline.attempts, 6)), MAX_BACKOFF))


def _cancel_unhandled(group: list[Deadline], now: datetime) -> None:
    kind = group[0].kind
    logger.error("No handler for deadline kind %s (%d timers); cancelling them", kind, len(group))
    Deadline.objects.filter(pk__in=[d.pk for d in group]).update(
        cancelled_at=now, last_error=f"No handler registered for kind {kind!r}.")
