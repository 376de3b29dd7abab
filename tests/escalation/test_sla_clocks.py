"""SLA clocks on incidents: started at declaration, met at triage and resolution, breached by
the sweep exactly once, recomputed when the severity changes."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission

from escalation import selectors
from escalation import services as escalation_services
from escalation.deadlines import deadlines_sweep, pending_deadlines
from escalation.models import (Deadline, EscalationEvent, EscalationLadder, EscalationLevel,
                               EscalationPolicy, EscalationStep, ImpactRule, Notification,
                               Rota, SlaClock, WebhookEndpoint)
from incidents import services
from incidents.models import SeverityLevel, TimelineEntry

from .conftest import AMSTERDAM, local

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam
HOUR = timedelta(hours=1)


def clocks(incident) -> dict[str, SlaClock]:
    return {clock.kind: clock for clock in SlaClock.objects.filter(incident=incident)}


def status(incident, kind: str, now: datetime) -> selectors.ClockStatus:
    return next(s for s in selectors.sla_clocks_for(incident, now) if s.clock.kind == kind)


def lower_to_p3_an_hour_in(incident, *, by) -> None:
    """The incident manager lowers the incident to P3 one hour after START."""
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_change_severity(incident, by=by,
                                          severity=SeverityLevel.objects.get(code="P3"),
                                          reason="Only one customer")


@pytest.fixture
def managed(declare, incident_manager):
    """declare(...) and make `incident_manager` its incident manager, ready for triage."""

    def _declare(**kwargs):
        incident = declare(**kwargs)
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)

    return _declare


def test_declaring_starts_response_and_resolution_clocks_with_timers(declare):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    running = clocks(incident)
    assert running["response"].due_at == START + 4 * HOUR
    assert running["resolution"].due_at == START + 24 * HOUR
    assert running["response"].at_risk_at == START + 3 * HOUR
    keys = set(pending_deadlines(incident, key_prefix="sla.").values_list("key", flat=True))
    assert {"sla.response", "sla.resolution", "sla.response.at_risk"} <= keys


def test_a_business_hours_clock_declared_on_friday_afternoon_is_due_after_the_weekend(declare):
    friday = local(AMSTERDAM, 2026, 3, 27, 16, 0)
    with time_machine.travel(friday, tick=False):
        incident = declare(severity="P2")  # response within 1 business day
    # One working day after Friday 16:00 is Monday 16:00, summer time by then.
    assert clocks(incident)["response"].due_at == local(AMSTERDAM, 2026, 3, 30, 16, 0)
    assert clocks(incident)["response"].clock == "business_hours"


def test_status_moves_from_on_track_to_at_risk_to_breached(declare):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    on_track = status(incident, "response", START + HOUR)
    assert (on_track.status, on_track.time_left) == ("on_track", 3 * HOUR)
    assert status(incident, "response", START + 3 * HOUR).status == "at_risk"
    late = status(incident, "response", START + 5 * HOUR)
    assert (late.status, late.overdue_by) == ("breached", HOUR)


def test_triage_meets_the_response_clock_and_cancels_its_timers(managed, incident_manager):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_triage(incident, by=incident_manager)
    response = clocks(incident)["response"]
    assert response.met_at == START + HOUR
    assert not pending_deadlines(incident, key_prefix="sla.response").exists()
    assert status(incident, "response", START + 10 * HOUR).status == "met"
    with time_machine.travel(START + 5 * HOUR, tick=False):
        deadlines_sweep()
    assert clocks(incident)["response"].breached_at is None


def test_a_breach_is_recorded_once_with_how_late_it_was_and_people_are_told(
    managed, staffed_levels
):
    EscalationPolicy.objects.update(is_active=False)  # no step escalates at 4 h as well
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    with time_machine.travel(START + 4 * HOUR + timedelta(seconds=3), tick=False):
        deadlines_sweep()
        deadlines_sweep()  # a second beat finds nothing left to do
    response = clocks(incident)["response"]
    # Recorded at its due time; the timer shows when the sweep really got to it.
    assert response.breached_at == START + 4 * HOUR
    assert response.breach_by == timedelta(0)
    timer = Deadline.objects.get(incident=incident, kind="sla.response", fired_at__isnull=False)
    assert timer.fired_at == START + 4 * HOUR + timedelta(seconds=3)
    entries = TimelineEntry.objects.filter(incident=incident, kind="sla", is_key_event=True)
    assert entries.count() == 1
    assert "Response SLA breached" in entries.get().text
    told = Notification.objects.filter(reason="sla.response.breached", channel="inapp")
    recipients = set(told.values_list("recipient__username", flat=True))
    # incident manager, reporter, and the first level's people (no escalation yet)
    assert {incident.incident_manager.username, incident.reporter.username,
            staffed_levels[1].username} <= recipients
    assert told.count() == len(recipients)


def test_meeting_a_breached_clock_records_the_final_lateness(managed, incident_manager):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    with time_machine.travel(START + 4 * HOUR, tick=False):
        deadlines_sweep()
    with time_machine.travel(START + 6 * HOUR, tick=False):
        services.incident_triage(incident, by=incident_manager)
    response = clocks(incident)["response"]
    assert response.breach_by == 2 * HOUR
    assert status(incident, "response", START + 7 * HOUR).status == "met_late"


def test_raising_the_severity_mid_incident_recomputes_due_times_and_says_so(
    declare, incident_manager, severities
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2")
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Checkout is down")
    running = clocks(incident)
    # P0 is 24x7: 1 h to respond, 4 h to resolve, counted from the declaration.
    assert running["response"].due_at == START + HOUR
    assert running["resolution"].due_at == START + 4 * HOUR
    assert running["resolution"].clock == "24x7"
    timer = pending_deadlines(incident).get(key="sla.resolution")
    assert timer.due_at == START + 4 * HOUR
    entry = TimelineEntry.objects.get(incident=incident, kind="sla")
    assert "SLA recomputed for P0" in entry.text
    assert entry.author == incident_manager
    # The response clock is already due: the next sweep records the breach.
    with time_machine.travel(START + HOUR + timedelta(seconds=1), tick=False):
        deadlines_sweep()
    assert clocks(incident)["response"].breached_at is not None


def test_a_recomputed_sla_is_on_the_timeline_with_each_due_time_in_words(
    declare, incident_manager, severities
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2")
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Checkout is down")
    entry = TimelineEntry.objects.get(incident=incident, kind="sla")
    # 08:00 UTC is 10:00 in Amsterdam: P0 gives 1 h to respond and 4 h to resolve, 24x7.
    assert entry.text == ("SLA recomputed for P0 (24x7): resolution due Mon 15 Jun 2026 14:00 "
                          "CEST; response due Mon 15 Jun 2026 11:00 CEST.")
    assert entry.data == {"severity": "P0",
                          "clocks": {"resolution": (START + 4 * HOUR).isoformat(),
                                     "response": (START + HOUR).isoformat()}}
    change = clocks(incident)["response"].history.first()
    assert (change.history_user, change.history_change_reason) == (
        incident_manager, "Severity changed to P0")


def test_a_level_without_a_resolution_sla_stops_that_clock_and_says_so(
    declare, incident_manager, severities
):
    SeverityLevel.objects.filter(code="P3").update(resolution_target=None)
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    lower_to_p3_an_hour_in(incident, by=incident_manager)
    resolution = clocks(incident)["resolution"]
    assert resolution.stopped_at == START + HOUR
    assert not pending_deadlines(incident, key_prefix="sla.resolution").exists()
    change = resolution.history.first()
    assert (change.history_user, change.history_change_reason) == (
        incident_manager, "No resolution SLA at P3")
    entry = TimelineEntry.objects.get(incident=incident, kind="sla", data__has_key="stopped")
    assert (entry.author, entry.text) == (incident_manager,
                                          "P3 has no resolution SLA: the clock stopped.")
    assert entry.data == {"severity": "P3", "stopped": ["resolution"]}


def test_a_clock_stopped_for_a_level_without_that_sla_stays_stopped_through_resolve_and_reopen(
    managed, incident_manager, severities, only_core_guards
):
    """P1 lowered to a P3 with no resolution SLA, then resolved after P1's due time: the page
    says the clock stopped (not "met late", which the reports would not count either), and a
    reopen does not say the clock runs again."""
    SeverityLevel.objects.filter(code="P3").update(resolution_target=None)
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
        services.incident_triage(incident, by=incident_manager)
    lower_to_p3_an_hour_in(incident, by=incident_manager)
    resolved_at = START + 30 * HOUR  # P1's resolution was due at START + 24 h
    with time_machine.travel(resolved_at, tick=False):
        incident = services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    shown = status(incident, "resolution", resolved_at)
    assert (shown.label, shown.overdue_by) == ("Stopped", None)
    assert clocks(incident)["resolution"].breach_by is None
    with time_machine.travel(resolved_at + HOUR, tick=False):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    assert not TimelineEntry.objects.filter(
        incident=incident, text__startswith="Resolution SLA clock runs again").exists()
    assert not pending_deadlines(incident, key_prefix="sla.resolution").exists()
    assert status(incident, "resolution", resolved_at + HOUR).label == "Stopped"


def test_a_level_with_an_sla_the_old_one_lacked_starts_its_clock_from_the_declaration(
    managed, incident_manager, severities
):
    SeverityLevel.objects.filter(code="P3").update(resolution_target=None)
    severities["P3"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P3")
        services.incident_triage(incident, by=incident_manager)
    assert "resolution" not in clocks(incident)
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Spreading")
    resolution = clocks(incident)["resolution"]
    # P0: 4 h to resolve, 24x7, counted from the declaration.
    assert (resolution.started_at, resolution.due_at) == (START, START + 4 * HOUR)
    assert pending_deadlines(incident).get(key="sla.resolution").due_at == START + 4 * HOUR
    assert resolution.history.first().history_user == incident_manager
    assert clocks(incident)["response"].met_at == START  # triaged: no second response clock
    assert SlaClock.objects.filter(incident=incident).count() == 2


def test_lowering_the_severity_moves_the_pending_timer_later(declare, incident_manager, severities):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
    with time_machine.travel(START + 30 * timedelta(minutes=1), tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P1"], reason="Workaround found")
    assert pending_deadlines(incident).get(key="sla.response").due_at == START + 4 * HOUR
    with time_machine.travel(START + 2 * HOUR, tick=False):
        deadlines_sweep()
    assert clocks(incident)["response"].breached_at is None


def test_a_reopened_incident_runs_against_its_original_resolution_due_time(
    managed, incident_manager, only_core_guards
):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
        services.incident_triage(incident, by=incident_manager)
    with time_machine.travel(START + 2 * HOUR, tick=False):
        services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    assert clocks(incident)["resolution"].met_at == START + 2 * HOUR
    with time_machine.travel(START + 30 * HOUR, tick=False):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
        assert clocks(incident)["resolution"].met_at is None
        deadlines_sweep()
    resolution = clocks(incident)["resolution"]
    assert resolution.breached_at == START + 30 * HOUR
    assert resolution.breach_by == 6 * HOUR


def test_cancelling_an_incident_stops_its_clocks(managed, incident_manager):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
        services.incident_cancel(incident, by=incident_manager, reason="False alarm")
    assert all(c.stopped_at == START for c in clocks(incident).values())
    assert not pending_deadlines(incident, key_prefix="sla.").exists()
    assert status(incident, "resolution", START + 48 * HOUR).status == "stopped"


def test_marking_an_incident_a_duplicate_stops_its_clocks_and_nothing_breaches(
    managed, declare, incident_manager
):
    with time_machine.travel(START, tick=False):
        original = declare(severity="P1", title="Checkout down")
        incident = managed(severity="P1")
        services.incident_mark_duplicate(incident, by=incident_manager, duplicate_of=original)
    assert all(c.stopped_at == START for c in clocks(incident).values())
    assert not pending_deadlines(incident).exists()
    with time_machine.travel(START + 48 * HOUR, tick=False):
        deadlines_sweep()
    assert all(c.breached_at is None for c in clocks(incident).values())
    assert not Notification.objects.filter(incident=incident,
                                           reason__endswith=".breached").exists()


def test_the_resolution_clock_running_again_is_on_the_timeline_under_the_reopeners_name(
    managed, incident_manager, only_core_guards
):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
        services.incident_triage(incident, by=incident_manager)
    with time_machine.travel(START + 2 * HOUR, tick=False):
        incident = services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    entry = TimelineEntry.objects.get(incident=incident, kind="sla",
                                      text__startswith="Resolution SLA clock runs again")
    assert entry.author == incident_manager
    # P1: 24 h to resolve from 10:00 in Amsterdam.
    assert entry.text == ("Resolution SLA clock runs again after the reopen; due Tue 16 Jun "
                          "2026 10:00 CEST.")
    assert entry.data == {"clock": "resolution", "due_at": (START + 24 * HOUR).isoformat()}
    change = clocks(incident)["resolution"].history.first()
    assert (change.history_user, change.history_change_reason) == (
        incident_manager, "Incident reopened")


def test_a_reopen_past_the_resolution_due_time_says_the_clock_is_already_breached(
    managed, incident_manager, only_core_guards
):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
        services.incident_triage(incident, by=incident_manager)
    with time_machine.travel(START + 2 * HOUR, tick=False):
        incident = services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    with time_machine.travel(START + 24 * HOUR, tick=False):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    entry = TimelineEntry.objects.get(incident=incident, kind="sla",
                                      text__startswith="Resolution SLA clock runs again")
    assert entry.text == ("Resolution SLA clock runs again after the reopen; due Tue 16 Jun "
                          "2026 10:00 CEST (already breached).")


def test_each_clock_change_is_in_its_history_with_why(managed, incident_manager):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
        services.incident_triage(incident, by=incident_manager)
        services.incident_cancel(incident, by=incident_manager, reason="False alarm")

    def reasons(kind):
        return list(clocks(incident)[kind].history.order_by("history_id")
                    .values_list("history_change_reason", flat=True))

    assert reasons("response") == ["Clock started", "Met"]
    assert reasons("resolution") == ["Clock started", "Stopped"]


def test_the_dashboard_lists_clocks_at_risk_or_breached_in_one_query(
    declare, django_assert_max_num_queries
):
    with time_machine.travel(START, tick=False):
        fresh = declare(severity="P3")
        for _ in range(3):
            declare(severity="P1")
    with django_assert_max_num_queries(1):
        attention = selectors.sla_clocks_needing_attention(None, now=START + 3 * HOUR)
        rows = [(s.clock.incident.reference, s.status, s.clock.incident.severity.code)
                for s in attention]
    assert len(rows) == 3
    assert {status for _, status, _ in rows} == {"at_risk"}
    assert fresh.reference not in {reference for reference, _, _ in rows}


def test_acknowledging_in_time_meets_the_response_clock_before_triage(
    managed, incident_manager, responder
):
    """The responder saw it at 3 h; triage comes later. The response SLA (4 h) was met when
    it was acknowledged, so the 4 h sweep breaches nothing and nobody is told of a breach."""
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    with time_machine.travel(START + 3 * HOUR, tick=False):
        services.incident_acknowledge(incident, by=responder)
    with time_machine.travel(START + 5 * HOUR, tick=False):
        deadlines_sweep()
        services.incident_triage(incident, by=incident_manager)

    response = clocks(incident)["response"]
    assert (response.met_at, response.breached_at) == (START + 3 * HOUR, None)
    assert status(incident, "response", START + 6 * HOUR).status == "met"
    assert not Notification.objects.filter(reason="sla.response.breached").exists()


def test_acknowledging_late_is_a_breach_even_before_the_sweep_got_to_it(
    managed, responder
):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    with time_machine.travel(START + 5 * HOUR, tick=False):  # no sweep since the due time
        services.incident_acknowledge(incident, by=responder)

    response = clocks(incident)["response"]
    assert response.breached_at == START + 4 * HOUR
    assert response.breach_by == HOUR
    assert Notification.objects.filter(reason="sla.response.breached").exists()


def test_an_immediate_response_pages_the_first_level_at_declaration_in_words(
    declare, staffed_levels, levels, severities
):
    EscalationPolicy.objects.update(is_active=False)
    SeverityLevel.objects.filter(code="P0").update(response_target=timedelta(0))
    severities["P0"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0", title="Checkout down")
    entry = TimelineEntry.objects.get(incident=incident, kind="sla")
    assert (entry.occurred_at, entry.text, entry.data) == (
        START, f"P0 needs an immediate response: paged L1 {levels[1].name}.",
        {"clock": "response", "immediate": True})
    paged = Notification.objects.filter(reason="sla.response.immediate", channel="inapp")
    assert set(paged.values_list("recipient", flat=True)) >= {staffed_levels[1].pk,
                                                              incident.reporter_id}
    page = paged.get(recipient=staffed_levels[1])
    assert page.title == f"[P0] {incident.reference}: respond now"
    assert page.body == (f"{incident.reference} Checkout down\nP0 needs an immediate response: "
                         "acknowledge it on the incident page.\nNobody has triaged it yet.")
    assert not pending_deadlines(incident, key_prefix="sla.response").exists()


def test_raising_an_incident_to_an_immediate_response_pages_at_once_and_only_once(
    declare, incident_manager, staffed_levels, levels, severities
):
    """Raised mid-incident to a level that wants an immediate response, the first level is paged
    at the change, in words, with no response timer left to breach; a later change between two
    immediate levels pages nobody again."""
    EscalationPolicy.objects.update(is_active=False)
    SeverityLevel.objects.filter(code="P0").update(response_target=timedelta(0))
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", title="Checkout down")
    assert not Notification.objects.filter(reason="sla.response.immediate").exists()
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=SeverityLevel.objects.get(code="P0"),
                                          reason="Every customer")
    entry = TimelineEntry.objects.get(incident=incident, kind="sla", data__immediate=True)
    assert (entry.occurred_at, entry.text) == (
        START + HOUR, f"P0 needs an immediate response: paged L1 {levels[1].name}.")
    recomputed = TimelineEntry.objects.get(incident=incident, kind="sla",
                                           text__startswith="SLA recomputed")
    assert "response immediate" in recomputed.text
    page = Notification.objects.get(reason="sla.response.immediate", channel="inapp",
                                    recipient=staffed_levels[1])
    assert page.title == f"[P0] {incident.reference}: respond now"
    assert page.body.endswith("acknowledge it on the incident page.\nNobody has triaged it yet.")
    assert not pending_deadlines(incident, key_prefix="sla.response").exists()
    with time_machine.travel(START + 6 * HOUR, tick=False):
        deadlines_sweep()
    assert not Notification.objects.filter(reason="sla.response.breached").exists()

    SeverityLevel.objects.filter(code="P1").update(response_target=timedelta(0))
    with time_machine.travel(START + 7 * HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=SeverityLevel.objects.get(code="P1"),
                                          reason="Half the customers")
    assert TimelineEntry.objects.filter(incident=incident, data__immediate=True).count() == 1
    assert Notification.objects.filter(reason="sla.response.immediate", channel="inapp",
                                       recipient=staffed_levels[1]).count() == 1


def test_the_at_risk_warning_reaches_the_people_on_it_when_the_share_has_passed(
    managed, incident_manager
):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    assert pending_deadlines(incident).get(key="sla.response.at_risk").due_at == START + 3 * HOUR
    with time_machine.travel(START + 3 * HOUR - timedelta(seconds=1), tick=False):
        deadlines_sweep()
    assert not Notification.objects.filter(reason="sla.response.at_risk").exists()
    with time_machine.travel(START + 3 * HOUR, tick=False):
        deadlines_sweep()
    warning = Notification.objects.get(reason="sla.response.at_risk", channel="inapp",
                                       recipient=incident_manager)
    assert warning.title == f"[P1] {incident.reference}: response SLA at risk"
    assert warning.incident == incident


def test_no_at_risk_warning_when_the_share_is_the_whole_time(managed, severities):
    SeverityLevel.objects.filter(code="P1").update(at_risk_percent=100)
    severities["P1"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    keys = set(pending_deadlines(incident, key_prefix="sla.").values_list("key", flat=True))
    assert keys == {"sla.response", "sla.resolution"}
    with time_machine.travel(START + 4 * HOUR, tick=False):
        deadlines_sweep()
    assert Notification.objects.filter(reason="sla.response.breached").exists()
    assert not Notification.objects.filter(reason="sla.response.at_risk").exists()


def test_a_severity_change_at_the_at_risk_moment_schedules_no_warning_for_it(
    managed, incident_manager, severities
):
    """Raised to P1 exactly 3 h after the declaration, the new at-risk point is now: no longer
    ahead, so there is no warning timer for it, only the breach timer an hour later."""
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P2")
    with time_machine.travel(START + 3 * HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P1"], reason="Spreading")
        assert not pending_deadlines(incident, key_prefix="sla.response.at_risk").exists()
        deadlines_sweep()
    assert pending_deadlines(incident).get(key="sla.response").due_at == START + 4 * HOUR
    assert not Notification.objects.filter(reason="sla.response.at_risk").exists()


def test_a_severity_change_moves_only_the_sla_timers(declare, incident_manager, severities):
    """Raised to P0, the P1 checklists' window reminders stay as they were (the war room adds
    P0's): the SLA recompute replaces its own timers only."""
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    windows = set(pending_deadlines(incident, key_prefix="checklist.")
                  .values_list("pk", "key", "due_at"))
    assert windows
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Every customer")
    assert windows <= set(pending_deadlines(incident, key_prefix="checklist.")
                          .values_list("pk", "key", "due_at"))


def test_triage_exactly_at_the_due_time_meets_the_response_in_time(managed, incident_manager):
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    with time_machine.travel(START + 4 * HOUR, tick=False):
        services.incident_triage(incident, by=incident_manager)
    response = clocks(incident)["response"]
    # Nor any lateness in the admin's list of clocks.
    assert (response.breached_at, response.breach_by) == (None, None)
    assert status(incident, "response", START + 5 * HOUR).status == "met"
    assert not Notification.objects.filter(reason="sla.response.breached").exists()
    assert not TimelineEntry.objects.filter(incident=incident, data__breached=True).exists()


def test_triage_after_a_level_without_a_response_sla_stopped_the_clock_records_no_breach(
    managed, incident_manager, severities
):
    SeverityLevel.objects.filter(code="P3").update(response_target=None)
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    lower_to_p3_an_hour_in(incident, by=incident_manager)
    with time_machine.travel(START + 6 * HOUR, tick=False):
        services.incident_triage(incident, by=incident_manager)
    assert clocks(incident)["response"].breached_at is None
    assert not Notification.objects.filter(reason="sla.response.breached").exists()
    assert not TimelineEntry.objects.filter(incident=incident, data__breached=True).exists()


def test_an_immediate_response_acknowledged_later_is_met_with_no_lateness(
    managed, incident_manager, responder, severities
):
    SeverityLevel.objects.filter(code="P0").update(response_target=timedelta(0))
    severities["P0"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P0")
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_acknowledge(incident, by=responder)
    response = clocks(incident)["response"]
    # No lateness in the admin's list of clocks: there was no time to miss.
    assert (response.met_at, response.breached_at, response.breach_by) == (
        START + HOUR, None, None)
    assert status(incident, "response", START + 2 * HOUR).label == "Acknowledged"
    assert not Notification.objects.filter(reason="sla.response.breached").exists()


def test_an_immediate_response_raised_after_an_escalation_pages_the_level_engaged(
    declare, incident_manager, responder, staffed_levels, levels, severities
):
    EscalationPolicy.objects.update(is_active=False)
    SeverityLevel.objects.filter(code="P0").update(response_target=timedelta(0))
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2")
    with time_machine.travel(START + HOUR, tick=False):
        escalation_services.incident_escalate(
            incident, by=responder, level=levels[3], reason_category="complexity",
            note="Needs a database architect")
    with time_machine.travel(START + 2 * HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=SeverityLevel.objects.get(code="P0"),
                                          reason="Every customer")
    entry = TimelineEntry.objects.get(incident=incident, kind="sla", data__immediate=True)
    assert entry.text == f"P0 needs an immediate response: paged L3 {levels[3].name}."
    paged = set(Notification.objects.filter(reason="sla.response.immediate", channel="inapp")
                .values_list("recipient", flat=True))
    assert staffed_levels[3].pk in paged
    assert staffed_levels[1].pk not in paged


def test_an_immediate_response_nobody_paged_may_triage_also_pages_who_may(
    declare, responder, incident_manager, staffed_levels, severities
):
    """The reporter and the first level are responders, who may not triage: the page also goes
    to the incident managers, who may, as a breach notice would."""
    EscalationPolicy.objects.update(is_active=False)
    SeverityLevel.objects.filter(code="P0").update(response_target=timedelta(0))
    severities["P0"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        declare(severity="P0", by=responder)
    paged = Notification.objects.filter(reason="sla.response.immediate", channel="inapp")
    assert {incident_manager.username, responder.username, staffed_levels[1].username} <= set(
        paged.values_list("recipient__username", flat=True))
    assert paged.get(recipient=incident_manager).body.endswith("Nobody has triaged it yet.")


def test_an_immediate_response_with_no_ladder_pages_the_people_on_it(declare, severities):
    EscalationPolicy.objects.update(is_active=False)
    EscalationLadder.objects.update(is_default=False)
    SeverityLevel.objects.filter(code="P0").update(response_target=timedelta(0))
    severities["P0"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
    entry = TimelineEntry.objects.get(incident=incident, kind="sla", data__immediate=True)
    assert entry.text == "P0 needs an immediate response: paged the people on it."
    assert Notification.objects.filter(reason="sla.response.immediate", channel="inapp",
                                       recipient=incident.reporter).exists()


def test_a_reopen_at_a_level_without_a_resolution_sla_runs_no_clock_again(
    managed, incident_manager, severities, only_core_guards
):
    SeverityLevel.objects.filter(code="P3").update(resolution_target=None)
    severities["P3"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P3")
        services.incident_triage(incident, by=incident_manager)
    with time_machine.travel(START + 2 * HOUR, tick=False):
        services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    with time_machine.travel(START + 3 * HOUR, tick=False):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    assert clocks(incident)["response"].met_at == START
    assert status(incident, "response", START + 4 * HOUR).status == "met"
    assert not TimelineEntry.objects.filter(incident=incident, kind="sla",
                                            text__contains="runs again").exists()
    assert not pending_deadlines(incident, key_prefix="sla.").exists()


def test_a_reopen_runs_again_the_resolution_clock_of_that_incident_only(
    managed, incident_manager, only_core_guards
):
    # A minute apart: declared at one instant, which clock of the two comes first would be
    # PostgreSQL's choice, and a lookup that forgot the incident would pass by luck.
    with time_machine.travel(START - timedelta(minutes=1), tick=False):
        earlier = managed(severity="P1", title="Search slow")
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
        for each in (earlier, incident):
            services.incident_triage(each, by=incident_manager)
    with time_machine.travel(START + 2 * HOUR, tick=False):
        for each in (earlier, incident):
            services.incident_resolve(each, by=incident_manager, summary="Rolled back")
    with time_machine.travel(START + 3 * HOUR, tick=False):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    assert status(earlier, "resolution", START + 4 * HOUR).status == "met"
    assert status(incident, "resolution", START + 4 * HOUR).status == "on_track"
    with time_machine.travel(START + 5 * HOUR, tick=False):
        services.incident_reopen(earlier, by=incident_manager, reason="Slow again")
    assert status(earlier, "resolution", START + 6 * HOUR).status == "on_track"
    assert pending_deadlines(incident).get(key="sla.resolution").due_at == START + 24 * HOUR


def test_cancelling_past_the_response_due_time_before_the_sweep_records_no_breach(
    managed, incident_manager
):
    """Its clocks stop with the cancel, their timers too, even one already due; a step of the
    policy due before the cancel still fires once, as at its due time."""
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    step_due = pending_deadlines(incident).get(key="escalation.step.6").due_at
    assert step_due == START + 4 * HOUR
    with time_machine.travel(START + 5 * HOUR, tick=False):  # no sweep since the due times
        services.incident_cancel(incident, by=incident_manager, reason="False alarm")
        deadlines_sweep()
    assert clocks(incident)["response"].breached_at is None
    assert not Notification.objects.filter(incident=incident,
                                           reason__endswith=".breached").exists()
    assert EscalationEvent.objects.filter(incident=incident, at=step_due).exists()


def test_an_immediate_response_page_goes_to_the_webhooks_too_and_links_the_incident(
    declare, staffed_levels, severities
):
    EscalationPolicy.objects.update(is_active=False)
    WebhookEndpoint.objects.create(name="Ops", url="https://hooks.invalid/ops")
    SeverityLevel.objects.filter(code="P0").update(response_target=timedelta(0))
    severities["P0"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
    hook = Notification.objects.get(reason="sla.response.immediate", channel="webhook")
    assert (hook.incident, hook.title) == (incident, f"[P0] {incident.reference}: respond now")
    page = Notification.objects.get(reason="sla.response.immediate", channel="inapp",
                                    recipient=staffed_levels[1])
    assert (page.incident, page.url) == (incident, incident.get_absolute_url())


def test_triage_meets_the_response_clock_of_that_incident_only(managed, incident_manager):
    # A minute apart, as above: the clock that comes first is then always the same one.
    with time_machine.travel(START - timedelta(minutes=1), tick=False):
        earlier = managed(severity="P1", title="Search slow")
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_triage(incident, by=incident_manager)
    assert status(earlier, "response", START + 2 * HOUR).status == "on_track"
    with time_machine.travel(START + 2 * HOUR, tick=False):
        services.incident_triage(earlier, by=incident_manager)
    assert (clocks(incident)["response"].met_at, clocks(earlier)["response"].met_at) == (
        START + HOUR, START + 2 * HOUR)


def test_a_business_hours_clock_is_at_risk_after_its_share_of_the_working_time(declare):
    friday = local(AMSTERDAM, 2026, 3, 27, 16, 0)
    with time_machine.travel(friday, tick=False):
        incident = declare(severity="P2")  # due Monday 16:00; 75 % of 8 working hours
    at_risk = pending_deadlines(incident).get(key="sla.response.at_risk")
    assert at_risk.due_at == local(AMSTERDAM, 2026, 3, 30, 14, 0)  # 1 h on Friday, 5 on Monday


def test_moving_to_a_business_hours_level_says_so_and_starts_its_missing_clock_on_that_clock(
    managed, incident_manager, severities
):
    SeverityLevel.objects.filter(code="P3").update(resolution_target=None)
    severities["P3"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P3")
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P2"], reason="Spreading")
    resolution = clocks(incident)["resolution"]
    assert resolution.clock == "business_hours"
    assert pending_deadlines(incident).get(key="sla.resolution").due_at == resolution.due_at
    entry = TimelineEntry.objects.get(incident=incident, kind="sla",
                                      text__startswith="SLA recomputed")
    assert entry.text.startswith("SLA recomputed for P2 (business hours): ")


def test_met_or_breached_clocks_keep_their_due_time_when_the_severity_changes(
    managed, incident_manager, severities
):
    EscalationPolicy.objects.update(is_active=False)
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P1")
        services.incident_triage(incident, by=incident_manager)
    with time_machine.travel(START + 25 * HOUR, tick=False):
        deadlines_sweep()  # the resolution clock breaches at 24 h
    with time_machine.travel(START + 26 * HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Every customer")
    running = clocks(incident)
    assert (running["response"].due_at, running["resolution"].due_at) == (
        START + 4 * HOUR, START + 24 * HOUR)
    assert not pending_deadlines(incident, key_prefix="sla.").exists()
    assert not TimelineEntry.objects.filter(incident=incident, kind="sla",
                                            text__startswith="SLA recomputed").exists()


def test_a_clock_stopped_or_dropped_does_not_keep_the_other_from_taking_the_new_targets(
    declare, incident_manager, severities
):
    SeverityLevel.objects.filter(code="P3").update(resolution_target=None)
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    lower_to_p3_an_hour_in(incident, by=incident_manager)
    p3 = SeverityLevel.objects.get(code="P3")
    assert clocks(incident)["response"].target == p3.response_target  # resolution dropped
    with time_machine.travel(START + 2 * HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Every customer")
    response = clocks(incident)["response"]  # resolution stopped: skipped
    assert (response.target, response.due_at) == (HOUR, START + HOUR)


def test_a_level_with_neither_sla_stops_both_clocks_in_one_sentence(
    declare, incident_manager, severities
):
    SeverityLevel.objects.filter(code="P3").update(response_target=None, resolution_target=None)
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    lower_to_p3_an_hour_in(incident, by=incident_manager)
    entry = TimelineEntry.objects.get(incident=incident, kind="sla", data__has_key="stopped")
    assert entry.text == "P3 has no resolution or response SLA: the clock stopped."


def test_a_level_without_a_response_sla_still_starts_its_resolution_clock(declare, severities):
    SeverityLevel.objects.filter(code="P3").update(response_target=None)
    severities["P3"].refresh_from_db()
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P3")
    assert set(clocks(incident)) == {"resolution"}
    assert pending_deadlines(incident).get(key="sla.resolution").due_at == (
        clocks(incident)["resolution"].due_at)


@pytest.fixture
def daily_rota(make_user):
    """daily_rota(name, people, **extra) -> a rota of one-day shifts from 09:00 in Amsterdam,
    starting on START's Monday with the first of `people`."""

    def _rota(name, people, **extra):
        rota = Rota.objects.create(name=name, time_zone="Europe/Amsterdam", handoff_time=time(9),
                                   shift_length=timedelta(days=1),
                                   rotation_start=date(2026, 6, 15), **extra)
        for order, person in enumerate(people):
            rota.members.create(user=make_user("Responder", username=person), order=order)
        return rota

    return _rota


@pytest.fixture
def triage_duty(daily_rota):
    """triage_duty(people) -> a rota whose person on duty is asked to triage and may."""

    def _duty(people):
        duty = daily_rota("Log checkers", people, asks_to_triage=True)
        duty.duty_permissions.add(Permission.objects.get(codename="triage_incident"))
        return duty

    return _duty


def told_of_the_response_breach() -> set[str]:
    return set(Notification.objects.filter(reason="sla.response.breached", channel="inapp")
               .values_list("recipient__username", flat=True))


def test_a_late_sweep_tells_whoever_was_on_shift_and_on_triage_duty_when_the_response_was_due(
        declare, levels, daily_rota, triage_duty):
    """Nobody triaged the P1 in time on Monday, on Anna's first-line and Carl's triage shift;
    the sweep ran on Tuesday, on Ben's and Dora's. Anna and Carl hear of the breach."""
    levels[1].rota = daily_rota("First line", ["anna", "ben"])
    levels[1].save()
    triage_duty(["carl", "dora"])
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    due = clocks(incident)["response"].due_at
    assert due < START + 23 * HOUR
    with time_machine.travel(START + 24 * HOUR, tick=False):
        deadlines_sweep()
    told = told_of_the_response_breach()
    assert {"anna", "carl"} <= told
    assert not {"ben", "dora"} & told
    assert Notification.objects.filter(reason="sla.response.breached").first().body == (
        f"{incident.reference} {incident.title}\nResponse was due "
        f"{escalation_services.when(due)}.\nNobody has triaged it yet.")


def test_a_response_breach_reported_by_someone_who_may_triage_adds_no_triage_duty(
        declare, incident_manager, triage_duty):
    triage_duty(["carl"])
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", by=incident_manager)
    with time_machine.travel(clocks(incident)["response"].due_at, tick=False):
        deadlines_sweep()
    told = told_of_the_response_breach()
    assert "ivan" in told and "carl" not in told


def test_deleting_an_incident_leaves_none_of_its_sla_timers(declare):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2")
    assert Deadline.objects.filter(kind="sla.at_risk").exists()
    incident.delete()
    assert not Deadline.objects.filter(kind__startswith="sla.").exists()


@pytest.mark.parametrize("fired_first", ["escalation.step", "sla.response"])
def test_a_breach_tells_the_level_engaged_before_it_whichever_timer_of_that_moment_fires_first(
        declare, staffed_levels, fired_first):
    """A P1's response is due four hours after declaration, when its ladder's step to the
    second level falls due too. The sweep fires timers of one moment in no set order: either
    way, the first level (whose response it was) hears of the breach, and the second is paged
    by its step."""
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    due = clocks(incident)["response"].due_at
    same_moment = {d.kind: d for d in Deadline.objects.filter(due_at=due)}
    assert {"sla.response", "escalation.step"} <= set(same_moment)
    first = same_moment.pop(fired_first)
    with time_machine.travel(due, tick=False):
        for deadline in (first, *same_moment.values()):
            deadlines_sweep_one(deadline, now=due)
    told = set(Notification.objects.filter(reason="sla.response.breached", channel="inapp")
               .values_list("recipient__username", flat=True))
    assert staffed_levels[1].username in told and staffed_levels[2].username not in told
    assert EscalationEvent.objects.get(incident=incident).level.number == 2


def deadlines_sweep_one(deadline: Deadline, *, now) -> None:
    """Fire one timer, as a sweep does (the sweep's own order of timers due at one moment is
    up to PostgreSQL)."""
    from escalation.deadlines import _fire_batch

    _fire_batch([Deadline.objects.select_for_update().get(pk=deadline.pk)], now)


def test_a_breach_with_no_escalation_level_to_call_still_tells_the_incident_manager(
        declare, incident_manager):
    """A procedure without escalation levels (or with its ladder emptied): the breach is still
    recorded and told, to the people of the incident, with nobody paged."""
    EscalationStep.objects.all().delete()
    ImpactRule.objects.all().delete()
    EscalationLevel.objects.all().delete()
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", by=incident_manager)
    with time_machine.travel(clocks(incident)["response"].due_at, tick=False):
        deadlines_sweep()
    assert clocks(incident)["response"].breached_at is not None
    assert told_of_the_response_breach() == {"ivan"}
