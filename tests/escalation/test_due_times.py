"""Each timer acts at its own due time, however late the sweep gets to it: breach times,
escalation times and the reminders that follow are counted from the due time, `fired_at` says
when the sweep really ran, and what a person did after the due time does not undo what was due
before it. When an incident ends, its timers due later are cancelled; every handler checks the
state of what its timer is about."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation import services as escalation_services
from escalation.deadlines import deadlines_sweep, pending_deadlines
from escalation.health import delivery_health
from escalation.models import (
    Deadline,
    EscalationEvent,
    EscalationPolicy,
    Notification,
    SlaClock,
    WebhookEndpoint,
)
from escalation.reminders import reminder_schedule
from incidents import services
from incidents.models import IncidentParticipant, SeverityLevel, TimelineEntry
from postmortems import services as postmortem_services
from postmortems.models import ActionItem, PostMortem

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def sweep_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return deadlines_sweep()


@pytest.fixture
def p0(declare, incident_manager, staffed_levels):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)


@pytest.fixture
def p1(declare, incident_manager, staffed_levels):
    EscalationPolicy.objects.update(is_active=False)  # only the SLA clocks are timed
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)


def test_a_late_sweep_records_the_escalation_at_the_steps_due_time_and_reminds_from_there(p0):
    late = START + HOUR + 40 * MINUTE  # the 1 h step (L2) is swept 40 minutes late
    sweep_at(late)
    event = EscalationEvent.objects.get(incident=p0)
    assert event.at == START + HOUR
    timer = Deadline.objects.get(incident=p0, kind="escalation.step", fired_at__isnull=False)
    assert (timer.due_at, timer.fired_at) == (START + HOUR, late)
    entry = TimelineEntry.objects.get(incident=p0, kind="escalation")
    assert entry.occurred_at == START + HOUR
    # L2 answers a P0 within 15 minutes: the reminder is due 15 minutes after the escalation,
    # not after the late sweep (so nobody gets a longer window because the sweep was slow).
    reminder = pending_deadlines(event).get(kind="escalation.reminder")
    assert reminder.due_at == START + HOUR + 15 * MINUTE


def test_a_late_sweep_records_the_breach_at_the_due_time(p1):
    sweep_at(START + 4 * HOUR + 45 * MINUTE)  # P1 response: 4 h
    clock = SlaClock.objects.get(incident=p1, kind="response")
    assert clock.breached_at == START + 4 * HOUR
    entry = TimelineEntry.objects.get(incident=p1, kind="sla", is_key_event=True)
    assert entry.occurred_at == START + 4 * HOUR


def test_a_response_acknowledged_after_its_due_time_is_a_breach_even_before_the_sweep(
    p1, incident_manager
):
    with time_machine.travel(START + 4 * HOUR + 20 * MINUTE, tick=False):
        services.incident_triage(p1, by=incident_manager)  # the sweep never got there
    clock = SlaClock.objects.get(incident=p1, kind="response")
    assert clock.breached_at == START + 4 * HOUR
    assert clock.met_at == START + 4 * HOUR + 20 * MINUTE
    assert clock.breach_by == 20 * MINUTE
    entry = TimelineEntry.objects.get(incident=p1, kind="sla", is_key_event=True)
    assert "Response SLA breached" in entry.text and entry.occurred_at == START + 4 * HOUR
    told = Notification.objects.filter(reason="sla.response.breached", channel="inapp")
    assert p1.incident_manager in {n.recipient for n in told}
    about_sla = Notification.objects.filter(reason__startswith="sla.")
    count = about_sla.count()
    sweep_at(START + 5 * HOUR)  # nothing recorded or sent twice
    assert TimelineEntry.objects.filter(incident=p1, kind="sla", is_key_event=True).count() == 1
    assert about_sla.count() == count


def test_a_response_acknowledged_in_time_is_no_breach(p1, incident_manager):
    with time_machine.travel(START + 3 * HOUR, tick=False):
        services.incident_triage(p1, by=incident_manager)
    sweep_at(START + 5 * HOUR)
    clock = SlaClock.objects.get(incident=p1, kind="response")
    assert clock.breached_at is None and clock.met_at == START + 3 * HOUR
    assert not Notification.objects.filter(reason="sla.response.breached").exists()


def test_a_step_due_before_the_resolve_fires_once_and_one_due_after_never(
    p0, incident_manager, only_core_guards
):
    # Nobody swept at 1 h (the L2 step's due time); the incident is resolved at 1 h 30.
    with time_machine.travel(START + 90 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
    for hours in (2, 3, 6, 30):
        sweep_at(START + hours * HOUR)
    events = list(EscalationEvent.objects.filter(incident=p0))
    assert [(e.level.number, e.at) for e in events] == [(2, START + HOUR)]
    # The 2 h, 3 h and 6 h steps were due after the resolve: cancelled with it.
    assert not pending_deadlines(p0).exists()
    assert not Deadline.objects.filter(incident=p0, kind__startswith="escalation.",
                                       fired_at__isnull=False,
                                       due_at__gt=START + 90 * MINUTE).exists()


def test_closing_leaves_the_timers_of_its_action_items_pending(
    p0, incident_manager, manager, responder, only_core_guards
):
    """What outlives the incident is still chased after the close: an action item is reminded
    before its due date and escalated when overdue."""
    with time_machine.travel(START + 90 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
        item = postmortem_services.action_item_create(
            PostMortem.objects.get(incident=p0), by=incident_manager, owner=responder,
            title="Alert on lock waits", due_date=(START + 30 * 24 * HOUR).date(),
            kind=ActionItem.Kind.MONITORING)
        postmortem_services.postmortem_waive(p0, by=manager, reason="Reviewed with INC-1")
        services.incident_close(p0, by=incident_manager)
    timers = set(pending_deadlines(item).values_list("kind", flat=True))
    assert "action_item.overdue" in timers


def test_every_timer_of_an_incident_is_cancelled_when_it_ends(
    declare, incident_manager, make_user, only_core_guards
):
    watcher = make_user("Responder")
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
        reminder_schedule(subject=incident, key="custom.check", due_at=START + 2 * HOUR,
                          reason="custom.check", title="Check the queue", recipients=[watcher],
                          incident=incident)
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_cancel(incident, by=incident_manager, reason="False alarm")
    assert not pending_deadlines(incident).exists()
    assert not Deadline.objects.filter(incident=incident, cancelled_at__isnull=True,
                                       fired_at__isnull=True).exists()
    sweep_at(START + 3 * HOUR)
    assert not Notification.objects.filter(reason="custom.check").exists()


def test_a_reminder_acts_as_at_its_due_time(declare, incident_manager, make_user,
                                            only_core_guards):
    """Due before the incident ended: still sent by a late sweep. Due after it ended (a row
    nothing cancelled): the handler sees the incident was no longer open then."""
    watcher = make_user("Responder")
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P3")
        for key, due in (("before", START + HOUR), ("after", START + 3 * HOUR)):
            reminder_schedule(subject=incident, key=key, due_at=due, reason=f"custom.{key}",
                              title=key, recipients=[watcher], incident=incident)
    with time_machine.travel(START + 2 * HOUR, tick=False):
        services.incident_resolve(services.incident_triage(incident, by=incident_manager,
                                                           incident_manager=incident_manager),
                                  by=incident_manager, summary="Fixed")
    # A timer that escaped the cancellation (e.g. written by hand) still must not act.
    Deadline.objects.filter(key="after").update(cancelled_at=None)
    sweep_at(START + 4 * HOUR)
    sent = set(Notification.objects.filter(reason__startswith="custom.")
               .values_list("reason", flat=True))
    assert sent == {"custom.before"}


def test_the_health_report_shows_how_far_the_sweep_is_behind(p1, client, manager):
    # Only the response SLA's timer (due at 4 h) is left, so the figures are easy to read.
    pending_deadlines(p1).exclude(kind="sla.response").update(cancelled_at=START)
    with time_machine.travel(START + 4 * HOUR + 3 * MINUTE, tick=False):
        report = delivery_health()
        assert report.sweep_overdue == 1
        assert report.sweep_lag == 3 * MINUTE
        assert any("oldest by 180 s" in problem for problem in report.problems)
        client.force_login(manager)
        data = client.get("/notifications/health/?format=json").json()
        page = client.get("/notifications/health/").content.decode()
    assert data["sweep"]["lag_seconds"] == 180.0
    assert data["sweep"]["overdue"] == 1
    assert 'data-testid="sweep-lag"' in page and "180 s" in page
    sweep_at(START + 4 * HOUR + 4 * MINUTE)
    with time_machine.travel(START + 4 * HOUR + 4 * MINUTE, tick=False):
        report = delivery_health()
    assert (report.sweep_overdue, report.sweep_lag) == (0, None)


def test_a_response_at_risk_warns_the_people_on_the_incident_with_its_due_time_in_words(p1):
    sweep_at(START + 3 * HOUR - MINUTE)
    assert not Notification.objects.filter(reason__endswith=".at_risk").exists()
    sweep_at(START + 3 * HOUR)  # P1 responds within 4 hours: at risk after three
    warned = Notification.objects.filter(reason="sla.response.at_risk", channel="inapp")
    assert {n.recipient for n in warned} == {p1.incident_manager, p1.reporter}
    warning = warned.get(recipient=p1.incident_manager)
    assert warning.title == f"[P1] {p1.reference}: response SLA at risk"
    # 12:00 UTC is 14:00 in the organisation's zone (Europe/Amsterdam, summer time).
    assert warning.body == (f"{p1.reference} {p1.title}\n"
                            "Response is due Mon 15 Jun 2026 14:00 CEST.")
    assert warning.url == p1.get_absolute_url()


def test_no_at_risk_warning_once_the_clock_is_met_or_breached_or_the_incident_ended(
    p1, incident_manager, only_core_guards
):
    """The sweep cancels nothing by itself: a warning whose timer fires after the clock was
    met or breached, or the incident ended, must not be sent."""
    response = SlaClock.objects.get(incident=p1, kind="response")
    resolution = SlaClock.objects.get(incident=p1, kind="resolution")
    response.met_at = START + HOUR
    assert escalation_services.sla_clocks_warn_at_risk([response]) == 0
    response.met_at, response.breached_at = None, START + 4 * HOUR
    assert escalation_services.sla_clocks_warn_at_risk([response]) == 0
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_cancel(p1, by=incident_manager, reason="False alarm")
    resolution.refresh_from_db()
    resolution.stopped_at = None  # as if the cancel had not stopped it
    resolution.incident.refresh_from_db()
    assert escalation_services.sla_clocks_warn_at_risk([resolution]) == 0
    assert not Notification.objects.filter(reason__endswith=".at_risk").exists()


def test_a_breach_is_on_the_timeline_and_told_in_words_with_its_due_time_and_target(
    p1, incident_manager, staffed_levels
):
    chat = WebhookEndpoint.objects.create(name="Chat", url="https://hooks.example.com/sla")
    WebhookEndpoint.objects.create(name="P0 only", url="https://hooks.example.com/p0",
                                   min_severity_rank=0)
    sweep_at(START + 4 * HOUR)  # P1 responds within 4 hours; nobody triaged it
    entry = TimelineEntry.objects.get(incident=p1, kind="sla", is_key_event=True)
    # 12:00 UTC is 14:00 in the organisation's zone (Europe/Amsterdam, summer time).
    assert (entry.occurred_at, entry.text, entry.data) == (
        START + 4 * HOUR,
        "Response SLA breached: it was due Mon 15 Jun 2026 14:00 CEST (P1 target 4:00:00).",
        {"clock": "response", "due_at": "2026-06-15T12:00:00+00:00", "breached": True})
    told = Notification.objects.get(reason="sla.response.breached", channel="inapp",
                                     recipient=incident_manager)
    assert told.title == f"[P1] {p1.reference}: response SLA breached"
    assert told.body == (f"{p1.reference} {p1.title}\n"
                         "Response was due Mon 15 Jun 2026 14:00 CEST.\nNobody has triaged it yet.")
    assert told.url == p1.get_absolute_url()
    hooked = Notification.objects.filter(reason="sla.response.breached", channel="webhook")
    assert [row.webhook for row in hooked] == [chat]  # a P1 is not for the P0-only endpoint
    assert IncidentParticipant.objects.get(incident=p1, user=staffed_levels[1]).reason == "paged"
    change = SlaClock.objects.get(incident=p1, kind="response").history.first()
    assert (change.history_type, change.history_change_reason) == ("~", "Breached")

    with time_machine.travel(START + 5 * HOUR, tick=False):
        services.incident_triage(p1, by=incident_manager)
    sweep_at(START + 24 * HOUR)  # resolution within a day
    told = Notification.objects.get(reason="sla.resolution.breached", channel="inapp",
                                    recipient=incident_manager)
    assert told.title == f"[P1] {p1.reference}: resolution SLA breached"
    assert told.body == (f"{p1.reference} {p1.title}\n"
                         "Resolution was due Tue 16 Jun 2026 10:00 CEST.")  # triaged by then


def test_a_breach_timer_that_escaped_cancellation_breaches_no_clock_met_or_stopped_by_then(
    p1, declare, incident_manager
):
    backlog = SeverityLevel.objects.create(code="P9", name="Backlog", rank=9)  # no SLA
    with time_machine.travel(START, tick=False):
        stopped, cancelled = declare(severity="P1"), declare(severity="P1")
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_cancel(cancelled, by=incident_manager, reason="False alarm")
    with time_machine.travel(START + 4 * HOUR, tick=False):  # the response's due time itself
        services.incident_triage(p1, by=incident_manager)  # meets its response clock, in time
        services.incident_change_severity(stopped, by=incident_manager, severity=backlog,
                                          reason="Not urgent after all")
    # Response timers that escaped the cancellation (e.g. written by hand) still must not act,
    # even on the clock of an incident no longer open that nothing stopped.
    Deadline.objects.filter(kind="sla.response").update(cancelled_at=None)
    SlaClock.objects.filter(incident=cancelled).update(stopped_at=None)
    sweep_at(START + 5 * HOUR)
    assert not SlaClock.objects.filter(breached_at__isnull=False).exists()
    assert not Notification.objects.filter(reason="sla.response.breached").exists()
    assert not TimelineEntry.objects.filter(kind="sla", text__contains="breached").exists()
    timers = Deadline.objects.filter(kind="sla.response")
    assert (timers.filter(fired_at__isnull=False).count(), timers.exclude(last_error="").count()) \
        == (3, 0)  # each used up at once, none failing and waiting to be tried again


def test_resolving_past_the_resolution_due_time_before_the_sweep_records_the_breach_then(
    p1, incident_manager, only_core_guards
):
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_triage(p1, by=incident_manager)
    with time_machine.travel(START + 25 * HOUR, tick=False):  # P1 resolves within a day
        services.incident_resolve(p1, by=incident_manager, summary="Rolled back")
    clock = SlaClock.objects.get(incident=p1, kind="resolution")
    assert (clock.breached_at, clock.breach_by, clock.met_at) == (
        START + 24 * HOUR, HOUR, START + 25 * HOUR)
    entry = TimelineEntry.objects.get(incident=p1, kind="sla", text__contains="breached")
    assert (entry.occurred_at, entry.text) == (
        START + 24 * HOUR,
        "Resolution SLA breached: it was due Tue 16 Jun 2026 10:00 CEST "
        "(P1 target 1 day, 0:00:00).")
    assert Notification.objects.filter(reason="sla.resolution.breached",
                                       recipient=incident_manager).exists()


def test_a_breach_after_an_escalation_tells_the_level_reached_not_the_first(
    p1, responder, staffed_levels, levels
):
    with time_machine.travel(START + HOUR, tick=False):
        escalation_services.incident_escalate(p1, by=responder, level=levels[3],
                                              reason_category="complexity", note="Needs a DBA")
    sweep_at(START + 4 * HOUR)
    told = set(Notification.objects.filter(reason="sla.response.breached", channel="inapp")
               .values_list("recipient", flat=True))
    assert staffed_levels[3].pk in told and staffed_levels[1].pk not in told
