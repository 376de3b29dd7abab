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

from escalation import deadlines, delivery
from escalation.deadlines import deadline_schedule, deadlines_sweep
from escalation.models import (
    BusinessCalendar,
    Deadline,
    EscalationEvent,
    Notification,
    SlaClock,
    WebhookEndpoint,
)
from escalation.notifications import notify
from incidents import services
from incidents.models import TimelineEntry

from .notify_fixtures import SECRET, alice, failing_receiver, receiver  # noqa: F401

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

