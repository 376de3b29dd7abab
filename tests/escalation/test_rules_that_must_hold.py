"""Rules of the business calendar, the timer sweep, delivery and escalation that a one-line slip
used to break without any test noticing (issue 16): each test below was seen to fail with its
rule broken. The SKIP LOCKED rules, which need two database connections, are in
test_rules_that_must_hold_under_locks.py."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType

from escalation import deadlines, delivery
from escalation.deadlines import (
    deadline_cancel,
    deadline_new,
    deadline_schedule,
    deadlines_schedule_many,
    deadlines_sweep,
    pending_deadlines,
)
from escalation.health import delivery_health
from escalation.models import (
    PENDING,
    BusinessCalendar,
    Deadline,
    EscalationEvent,
    Heartbeat,
    Notification,
    SlaClock,
    WebhookEndpoint,
)
from escalation.notifications import notify
from incidents import services
from incidents.models import Incident, TimelineEntry

from .notify_fixtures import SECRET, alice, bob, failing_receiver, receiver  # noqa: F401

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
HONOLULU = ZoneInfo("Pacific/Honolulu")  # UTC-10: its afternoon is already tomorrow in UTC


def sweep_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return deadlines_sweep()


# --- Business calendar ------------------------------------------------------------------------


def test_a_business_hours_clock_counts_the_working_day_of_the_calendars_own_time_zone(declare):
    BusinessCalendar.objects.filter(is_default=True).update(time_zone="Pacific/Honolulu",
                                                            holiday_country="")
    # Monday 15:00 in Honolulu is Tuesday 01:00 UTC: two working hours are left on Monday.
    monday_afternoon = datetime(2026, 6, 15, 15, 0, tzinfo=HONOLULU)
    with time_machine.travel(monday_afternoon, tick=False):
        incident = declare(severity="P2")  # respond within 1 business day
    clock = SlaClock.objects.get(incident=incident, kind="response")
    assert clock.clock == "business_hours"
    # Monday's last two hours, then six of Tuesday's: Tuesday 15:00 in Honolulu.
    assert clock.due_at == datetime(2026, 6, 16, 15, 0, tzinfo=HONOLULU)


# --- The timer sweep --------------------------------------------------------------------------


def test_a_failing_timer_waits_two_minutes_then_four_before_it_is_tried_again(
    alice, monkeypatch
):
    tries = []

    def broken(batch):
        tries.append(datetime.now(UTC))
        raise RuntimeError("the template is broken")

    monkeypatch.setitem(deadlines._handlers, "test.broken", broken)
    with time_machine.travel(START, tick=False):
        timer = deadline_schedule(subject=alice, key="test.broken", kind="test.broken",
                                  due_at=START)
    sweep_at(START)
    timer.refresh_from_db()
    assert (timer.attempts, timer.fired_at, timer.due_at) == (1, None, START + 2 * MINUTE)
    assert timer.last_error == "RuntimeError: the template is broken"
    sweep_at(START + 2 * MINUTE - timedelta(seconds=1))
    assert len(tries) == 1, "not due again yet"
    sweep_at(START + 2 * MINUTE)
    timer.refresh_from_db()
    assert len(tries) == 2
    assert (timer.attempts, timer.due_at) == (2, START + 6 * MINUTE)


def test_timers_of_a_kind_nothing_handles_are_cancelled_with_the_reason_and_logged(
    alice, caplog, monkeypatch
):
    """A kind whose app was removed (or renamed) must not retry forever nor hold up the others:
    its timers are cancelled, each says why, and the operator's log names the kind once."""
    monkeypatch.setitem(deadlines._handlers, "test.fine", lambda batch: None)
    with time_machine.travel(START, tick=False):
        orphans = [deadline_schedule(subject=alice, key=f"test.orphan.{n}", kind=kind,
                                     due_at=START + n * timedelta(seconds=1))
                   for n, kind in enumerate(["test.removed", "test.renamed", "test.renamed"])]
        fine = deadline_schedule(subject=alice, key="test.fine", kind="test.fine", due_at=START)
    with caplog.at_level(logging.ERROR, logger="escalation.deadlines"):
        assert sweep_at(START + MINUTE) == 1
    for orphan in orphans:
        orphan.refresh_from_db()
        assert (orphan.cancelled_at, orphan.fired_at) == (START + MINUTE, None)
        assert orphan.last_error == f"No handler registered for kind '{orphan.kind}'."
    fine.refresh_from_db()
    assert fine.fired_at is not None and fine.cancelled_at is None
    assert caplog.messages == [
        "No handler for deadline kind test.removed (1 timers); cancelling them",
        "No handler for deadline kind test.renamed (2 timers); cancelling them"]


class _Stopwatch:
    """A stand-in for time.monotonic: the sweep reads it when it starts and when it ends."""

    def __init__(self, *readings: float):
        self.readings = list(readings)

    def monotonic(self) -> float:
        return self.readings.pop(0)


def test_a_sweep_in_batches_fires_every_due_timer_asks_for_help_once_and_leaves_its_heartbeat(
    alice, monkeypatch
):
    """The beat's sweep goes on batch after batch until none is full, asks for helpers once
    (after its first full batch), and leaves the heartbeat the health page reads: when it ran,
    how long it took, how many timers it fired."""
    monkeypatch.setitem(deadlines._handlers, "test.a", lambda batch: None)
    monkeypatch.setitem(deadlines._handlers, "test.b", lambda batch: None)
    with time_machine.travel(START, tick=False):
        timers = [deadline_schedule(subject=alice, key=f"test.{n}", kind=f"test.{'ab'[n % 2]}",
                                    due_at=START + n * timedelta(seconds=1)) for n in range(5)]
    helpers_asked = []
    monkeypatch.setattr(deadlines, "time", _Stopwatch(100.0, 101.5))
    with time_machine.travel(START + MINUTE, tick=False):
        fired = deadlines_sweep(batch_size=2, on_full_batch=lambda: helpers_asked.append(1))
        report = delivery_health()
    assert fired == 5
    assert len(helpers_asked) == 1
    for timer in timers:
        timer.refresh_from_db()
        assert (timer.fired_at, timer.attempts) == (START + MINUTE, 1)
    assert (report.sweep_last_run_at, report.sweep_last_duration_ms) == (START + MINUTE, 1500)
    assert Heartbeat.objects.get(name="deadlines_sweep").last_count == 5


def test_a_sweep_without_helpers_goes_on_past_a_full_batch(alice, monkeypatch):
    monkeypatch.setitem(deadlines._handlers, "test.a", lambda batch: None)
    with time_machine.travel(START, tick=False):
        for n in range(3):
            deadline_schedule(subject=alice, key=f"test.{n}", kind="test.a", due_at=START)
    with time_machine.travel(START + MINUTE, tick=False):
        assert deadlines_sweep(batch_size=2) == 3
    assert not Deadline.objects.filter(PENDING).exists()


def test_handlers_registered_one_by_one_get_each_timer_and_batch_handlers_get_them_together(
    alice, monkeypatch
):
    monkeypatch.setattr(deadlines, "_handlers", {})
    seen = []

    @deadlines.register("test.single")
    def single(deadline):
        seen.append(("single", deadline.key))

    @deadlines.register_batch("test.batch")
    def batch(group):
        seen.append(("batch", [deadline.key for deadline in group]))

    with time_machine.travel(START, tick=False):
        for n, (kind, key) in enumerate([("test.single", "s1"), ("test.single", "s2"),
                                         ("test.batch", "b1"), ("test.batch", "b2")]):
            deadline_schedule(subject=alice, key=key, kind=kind,
                              due_at=START + n * timedelta(seconds=1))
    assert sweep_at(START + MINUTE) == 4
    assert seen == [("single", "s1"), ("single", "s2"), ("batch", ["b1", "b2"])]
    assert not Deadline.objects.filter(PENDING).exists()


def test_a_failing_timer_is_logged_with_its_error_and_the_next_kind_still_fires(
    alice, caplog, monkeypatch
):
    def broken(batch):
        raise RuntimeError("the template is broken")

    monkeypatch.setitem(deadlines._handlers, "test.broken", broken)
    monkeypatch.setitem(deadlines._handlers, "test.fine", lambda batch: None)
    with time_machine.travel(START, tick=False):
        deadline_schedule(subject=alice, key="test.broken", kind="test.broken", due_at=START)
        fine = deadline_schedule(subject=alice, key="test.fine", kind="test.fine",
                                 due_at=START + timedelta(seconds=1))
    with caplog.at_level(logging.ERROR, logger="escalation.deadlines"):
        assert sweep_at(START + MINUTE) == 1
    fine.refresh_from_db()
    assert fine.fired_at == START + MINUTE
    [record] = caplog.records
    assert record.getMessage() == ("Deadline test.broken test.broken due 2026-06-15 08:00 failed; "
                                   "retrying later")
    assert isinstance(record.exc_info[1], RuntimeError)
    assert str(record.exc_info[1]) == "the template is broken"


def test_a_batch_with_one_failing_timer_warns_the_operator_and_fires_the_others_alone(
    alice, caplog, monkeypatch
):
    def flaky(batch):
        if any(deadline.key == "test.flaky.2" for deadline in batch):
            raise RuntimeError("bad address")

    monkeypatch.setitem(deadlines._handlers, "test.flaky", flaky)
    with time_machine.travel(START, tick=False):
        timers = [deadline_schedule(subject=alice, key=f"test.flaky.{n}", kind="test.flaky",
                                    due_at=START + n * timedelta(seconds=1)) for n in (1, 2, 3)]
    with caplog.at_level(logging.WARNING, logger="escalation.deadlines"):
        assert sweep_at(START + MINUTE) == 2
    assert Heartbeat.objects.get(name="deadlines_sweep").last_count == 2
    for timer in timers:
        timer.refresh_from_db()
    assert [timer.fired_at for timer in timers] == [START + MINUTE, None, START + MINUTE]
    warning = caplog.records[0]
    assert (warning.levelno, warning.getMessage()) == (
        logging.WARNING, "A batch of 3 test.flaky timers failed; firing each alone")
    assert str(warning.exc_info[1]) == "bad address"
    assert [record.levelno for record in caplog.records] == [logging.WARNING, logging.ERROR]


def test_a_timer_failing_a_third_time_waits_eight_minutes(alice, monkeypatch):
    def broken(batch):
        raise RuntimeError("the template is broken")

    monkeypatch.setitem(deadlines._handlers, "test.broken", broken)
    with time_machine.travel(START, tick=False):
        timer = deadline_schedule(subject=alice, key="test.broken", kind="test.broken",
                                  due_at=START)
    for moment in (START, START + 2 * MINUTE, START + 6 * MINUTE):
        sweep_at(moment)
    timer.refresh_from_db()
    assert (timer.attempts, timer.due_at) == (3, START + 14 * MINUTE)


# --- Scheduling and cancelling timers ---------------------------------------------------------


def incident_timer_with_the_id_of(person) -> Deadline:
    """A "test.remind" timer of an incident whose id is the person's: another subject."""
    return Deadline.objects.create(
        kind="test.remind", key="test.remind", due_at=START + HOUR,
        content_type=ContentType.objects.get_for_model(Incident), object_id=person.pk)


def test_rescheduling_a_timer_moves_it_and_leaves_other_subjects_timers_of_that_key_alone(
    alice, bob
):
    """A timer is named by its subject and key: scheduling it again cancels the pending one and
    schedules the new time; another person's timer of that key, or another kind of subject
    with the same id, keeps its own."""
    with time_machine.travel(START, tick=False):
        first = deadline_schedule(subject=alice, key="test.remind", kind="test.remind",
                                  due_at=START + HOUR)
        deadline_schedule(subject=alice, key="test.other", kind="test.remind",
                          due_at=START + HOUR)
        bobs = deadline_schedule(subject=bob, key="test.remind", kind="test.remind",
                                 due_at=START + HOUR)
        same_id = incident_timer_with_the_id_of(alice)
    with time_machine.travel(START + MINUTE, tick=False):
        deadline_schedule(subject=alice, key="test.remind", kind="test.remind",
                          due_at=START + 2 * HOUR)
    first.refresh_from_db()
    assert first.cancelled_at == START + MINUTE
    assert sorted(pending_deadlines(alice).values_list("key", "due_at")) == [
        ("test.other", START + HOUR), ("test.remind", START + 2 * HOUR)]
    assert Deadline.objects.filter(PENDING, pk__in=[bobs.pk, same_id.pk]).count() == 2


def test_cancelling_by_key_prefix_leaves_the_subjects_other_timers_pending(alice):
    with time_machine.travel(START, tick=False):
        for key in ("sla.response", "sla.resolution", "escalation.step.1"):
            deadline_schedule(subject=alice, key=key, kind="test.any", due_at=START + HOUR)
        assert deadline_cancel(subject=alice, key_prefix="sla.") == 2
    assert list(pending_deadlines(alice).values_list("key", flat=True)) == ["escalation.step.1"]


def test_scheduling_many_replaces_each_subjects_pending_timer_of_that_key_only(alice, bob):
    with time_machine.travel(START, tick=False):
        alices = deadline_schedule(subject=alice, key="test.remind", kind="test.remind",
                                   due_at=START + HOUR)
        bobs_other = deadline_schedule(subject=bob, key="test.other", kind="test.remind",
                                       due_at=START + HOUR)
        bobs_remind = deadline_schedule(subject=bob, key="test.remind", kind="test.remind",
                                        due_at=START + HOUR)
        same_id = incident_timer_with_the_id_of(alice)
    with time_machine.travel(START + MINUTE, tick=False):
        made = deadlines_schedule_many([
            deadline_new(subject=alice, key="test.remind", kind="test.remind",
                         due_at=START + 2 * HOUR),
            deadline_new(subject=bob, key="test.other", kind="test.remind",
                         due_at=START + 3 * HOUR),
        ])
    assert len(made) == 2
    for replaced in (alices, bobs_other):
        replaced.refresh_from_db()
        assert replaced.cancelled_at == START + MINUTE
    assert sorted(pending_deadlines(alice).values_list("key", "due_at")) == [
        ("test.remind", START + 2 * HOUR)]
    assert sorted(pending_deadlines(bob).values_list("key", "due_at")) == [
        ("test.other", START + 3 * HOUR), ("test.remind", START + HOUR)]
    assert Deadline.objects.filter(PENDING, pk__in=[bobs_remind.pk, same_id.pk]).count() == 2


# --- Delivery ---------------------------------------------------------------------------------


def test_a_sender_killed_during_the_last_allowed_attempt_gives_the_message_up(
    receiver, alice, settings  # noqa: F811
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    WebhookEndpoint.objects.create(name="Ops", url=receiver.url, secret=SECRET)
    with time_machine.travel(START, tick=False) as clock:
        notify(subject=alice, reason="test.killed", recipients=[], title="Hi", webhooks=True)
        row = Notification.objects.get(channel="webhook")
        receiver.status = 500
        delivery.deliver_due()  # attempt 1 fails
        row.refresh_from_db()
        clock.move_to(row.next_attempt_at)
        # Attempt 2, the last allowed: claimed, then the worker is killed mid-send.
        assert len(delivery._claim_batch(delivery.DeliveryRun(), 1).to_send) == 1
        clock.shift(delivery.lease())
        receiver.status = 200
        run = delivery.deliver_due()
    row.refresh_from_db()
    assert (run.sent, run.failed) == (0, 1)
    assert row.status == "failed" and row.attempts == 2
    assert row.last_error.startswith("Gave up after 2 attempt(s)")
    assert len(receiver.requests) == 1, "no third attempt"


# --- Escalation -------------------------------------------------------------------------------


@pytest.fixture
def p0(declare, incident_manager, staffed_levels):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)


def test_an_escalation_made_before_a_resolve_is_not_reminded_after_a_reopen(
    p0, incident_manager, only_core_guards
):
    sweep_at(START + HOUR)  # the first step escalates to L2, to answer within 15 minutes
    event = EscalationEvent.objects.get(incident=p0)
    with time_machine.travel(START + HOUR + 5 * MINUTE, tick=False):
        incident = services.incident_triage(p0, by=incident_manager)
        incident = services.incident_resolve(incident, by=incident_manager,
                                             summary="Rolled back the release")
    with time_machine.travel(START + HOUR + 10 * MINUTE, tick=False):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    sweep_at(START + HOUR + 20 * MINUTE)
    event.refresh_from_db()
    assert event.reminded_at is None
    assert not Notification.objects.filter(reason="escalation.reminder").exists()
    assert not TimelineEntry.objects.filter(incident=p0, text__contains="reminder sent").exists()

