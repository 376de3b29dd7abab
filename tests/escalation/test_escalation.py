"""Escalation: policy steps fire at their time exactly once and stop on resolve; acknowledging
stops the reminder; impact rules fire at once or after their delay; breaches escalate."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from escalation import selectors
from escalation import services as escalation_services
from escalation.deadlines import (deadline_cancel, deadline_schedule, deadlines_sweep,
                                  pending_deadlines)
from escalation.models import (Deadline, EscalationEvent, LevelResponseTime, Notification, Rota,
                               WebhookEndpoint)
from incidents import services
from incidents.errors import ActionRefused
from incidents.models import IncidentRole, RoleRequirement, SeverityLevel, TimelineEntry

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def sweep_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return deadlines_sweep()


def levels_reached(incident) -> list[int]:
    return list(EscalationEvent.objects.filter(incident=incident).order_by("at", "id")
                .values_list("level__number", flat=True))


@pytest.fixture
def p0(declare, incident_manager, staffed_levels):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)


def test_the_first_p0_step_fires_after_one_hour_exactly_once(p0, staffed_levels):
    sweep_at(START + 59 * MINUTE)
    assert levels_reached(p0) == []
    sweep_at(START + HOUR)
    sweep_at(START + HOUR + MINUTE)
    assert levels_reached(p0) == [2]
    event = EscalationEvent.objects.get(incident=p0)
    assert (event.source, event.reason_category, event.at) == ("step", "time", START + HOUR)
    entry = TimelineEntry.objects.get(incident=p0, kind="escalation")
    assert entry.is_key_event and "L2" in entry.text
    assert event.history.count() == 1
    told = set(Notification.objects.filter(reason="escalation", channel="inapp")
               .values_list("recipient__username", flat=True))
    assert told == {staffed_levels[2].username, p0.incident_manager.username}


def test_p0_steps_follow_the_seed_timetable_and_the_missed_sla_brings_in_the_executive(p0):
    for hours in (1, 2, 3, 4, 5, 6):
        sweep_at(START + hours * HOUR)
    # 1 h L2, 2 h L3 (technical lead + CTO), 3 h L3 (consultant), 4 h resolution SLA missed
    # -> L4, 6 h L4 customer communication.
    assert levels_reached(p0) == [2, 3, 3, 4, 4]
    breach_event = EscalationEvent.objects.get(incident=p0, reason_category="sla_breach")
    assert breach_event.level.number == 4
    assert selectors.current_level(p0).number == 4


def test_resolving_stops_the_remaining_steps(p0, incident_manager, only_core_guards):
    sweep_at(START + HOUR)
    with time_machine.travel(START + 90 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        services.incident_resolve(p0, by=incident_manager, summary="Rolled back the release")
    for hours in (2, 3, 4, 6, 30):
        sweep_at(START + hours * HOUR)
    assert levels_reached(p0) == [2]
    assert not pending_deadlines(p0, key_prefix="escalation.").exists()


def test_resolving_cancels_only_that_incidents_later_timers(
    p0, declare, incident_manager, only_core_guards
):
    """Another incident's reminder, a timer of something else that shares the incident's id,
    and a timer that already fired are left as they are."""
    with time_machine.travel(START, tick=False):
        other = declare(severity="P0", title="Search is down")
        services.incident_assign_role(other, by=incident_manager, role="incident_manager",
                                      user=incident_manager)
    sweep_at(START + HOUR)  # both escalate to L2: each gets a reminder due at 1 h 15
    stranger = deadline_schedule(subject=incident_manager, key="test.same-id", kind="test.kind",
                                 due_at=START + 30 * HOUR)
    Deadline.objects.filter(pk=stranger.pk).update(object_id=p0.pk)
    fired = Deadline.objects.filter(incident=p0, fired_at__isnull=False).first()
    with time_machine.travel(START + HOUR, tick=False):
        called_off = deadline_schedule(subject=p0, key="test.called-off", kind="test.kind",
                                       due_at=START + 30 * HOUR)
        deadline_cancel(subject=p0, key="test.called-off")
    with time_machine.travel(START + HOUR + 5 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
    assert not pending_deadlines(p0, key_prefix="escalation.").exists()
    assert Deadline.objects.filter(incident=other, kind="escalation.reminder",
                                   cancelled_at__isnull=True, fired_at__isnull=True).exists()
    assert pending_deadlines(other, key_prefix="escalation.step.").exists()
    stranger.refresh_from_db()
    assert stranger.cancelled_at is None
    fired.refresh_from_db()
    assert (fired.fired_at, fired.cancelled_at) == (START + HOUR, None)
    called_off.refresh_from_db()
    assert called_off.cancelled_at == START + HOUR  # its record of when it was called off


def test_a_step_escalates_an_incident_once_even_when_its_timer_comes_twice(p0):
    """A stale copy of a step's timer, in the same batch or a later one, is not a second
    escalation."""
    step = selectors.escalation_policy_for(p0).steps.order_by("order").first()
    at = START + HOUR
    with time_machine.travel(at, tick=False):
        assert escalation_services.escalation_steps_fire([(step, p0, at), (step, p0, at)]) == 1
        assert escalation_services.escalation_steps_fire([(step, p0, at)]) == 0
    assert list(EscalationEvent.objects.filter(incident=p0).values_list("step", "at")) == [
        (step.pk, at)]


def test_a_step_due_after_the_incident_ended_never_escalates_it(
    p0, declare, incident_manager, only_core_guards
):
    """In a batch with an open incident's step, a step whose incident had ended by its due
    time is skipped, and the open incident still escalates."""
    step = selectors.escalation_policy_for(p0).steps.order_by("order").first()
    with time_machine.travel(START, tick=False):
        other = declare(severity="P0", title="Search is down")
    with time_machine.travel(START + 30 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
    p0.refresh_from_db()
    with time_machine.travel(START + HOUR, tick=False):
        fired = escalation_services.escalation_steps_fire(
            [(step, p0, START + HOUR), (step, other, START + HOUR)])
    assert fired == 1
    assert levels_reached(p0) == [] and levels_reached(other) == [2]


def test_an_escalation_says_who_or_what_escalated_on_the_timeline_and_in_its_history(
    p0, incident_manager, levels
):
    step = selectors.escalation_policy_for(p0).steps.order_by("order").first()
    sweep_at(START + HOUR)
    with time_machine.travel(START + HOUR + MINUTE, tick=False):
        escalation_services.incident_escalate(
            p0, by=incident_manager, level=levels[3], reason_category="complexity",
            note="Needs the database team")
    texts = list(TimelineEntry.objects.filter(incident=p0, kind=TimelineEntry.Kind.ESCALATION)
                 .order_by("occurred_at").values_list("text", flat=True))
    assert texts == [
        f"Escalated automatically to L2 Team lead / senior engineer (time without resolution): "
        f"{step.action}",
        f"Ivan Manager escalated to L3 {levels[3].name} (complexity): Needs the database team"]
    reasons = [event.history.earliest().history_change_reason
               for event in EscalationEvent.objects.filter(incident=p0).order_by("at")]
    assert reasons == ["Escalated to L2", "Escalated to L3"]


def test_a_step_without_an_action_escalates_with_a_plain_sentence(p0):
    selectors.escalation_policy_for(p0).steps.update(action="")
    sweep_at(START + HOUR)
    assert list(TimelineEntry.objects.filter(incident=p0, kind=TimelineEntry.Kind.ESCALATION)
                .values_list("text", flat=True)) == [
        "Escalated automatically to L2 Team lead / senior engineer (time without resolution)."]


def test_a_late_sweep_pages_whoever_was_on_call_when_the_step_fell_due(p0, levels, make_user):
    """The L2 step of the P0 fell due at 11:00 in Amsterdam, on Anna's shift; the sweep ran the
    next day, on Ben's. Anna is paged."""
    rota = Rota.objects.create(name="Team leads", time_zone="Europe/Amsterdam",
                               handoff_time=time(9), shift_length=timedelta(days=1),
                               rotation_start=date(2026, 6, 15))
    for order, name in enumerate(["anna", "ben"]):
        rota.members.create(user=make_user("Responder", username=name), order=order)
    levels[2].rota = rota
    levels[2].save()
    sweep_at(START + 24 * HOUR)
    paged = set(Notification.objects.filter(reason="escalation", channel="inapp")
                .values_list("recipient__username", flat=True))
    assert "anna" in paged and "ben" not in paged
    # Each page belongs to its incident (the inbox and a restricted incident's visibility).
    assert set(Notification.objects.filter(reason="escalation")
               .values_list("incident", flat=True)) == {p0.pk}


def test_an_escalation_page_says_what_and_why_links_the_incident_and_goes_to_webhooks(p0):
    chat = WebhookEndpoint.objects.create(name="Chat", url="https://hooks.example.com/esc")
    step = selectors.escalation_policy_for(p0).steps.order_by("order").first()
    sweep_at(START + HOUR)
    page = Notification.objects.filter(reason="escalation", channel="inapp").first()
    assert page.title == f"[P0] {p0.reference} escalated to L2 Team lead / senior engineer"
    assert page.body == (f"{p0.reference} {p0.title}\nTime without resolution: {step.action}\n"
                         "Please acknowledge the escalation on the incident page.")
    assert page.url == p0.get_absolute_url()
    assert Notification.objects.filter(reason="escalation", webhook=chat).exists()


def test_an_escalation_without_a_note_says_so_with_a_dash(p0):
    selectors.escalation_policy_for(p0).steps.update(action="")
    sweep_at(START + HOUR)
    page = Notification.objects.filter(reason="escalation", channel="inapp").first()
    assert page.body.splitlines()[1] == "Time without resolution: —"


def test_an_escalation_without_a_response_time_does_not_keep_others_in_its_batch_from_reminders(
    p0, declare, levels
):
    """A level with no response time at a severity without a response SLA sets no reminder;
    the next escalation recorded with it still gets its own."""
    SeverityLevel.objects.filter(code="P3").update(response_target=None)
    LevelResponseTime.objects.filter(severity__code="P3").delete()
    with time_machine.travel(START, tick=False):
        quiet = declare(severity="P3", title="A typo on the status page")
        quiet.refresh_from_db()
        events = escalation_services.escalations_record([
            escalation_services.Escalation(
                incident=incident, level=levels[2], source=EscalationEvent.Source.MANUAL,
                reason_category="complexity", note="Needs a second pair of eyes", at=START)
            for incident in (quiet, p0)])
    reminded = set(Deadline.objects.filter(kind="escalation.reminder")
                   .values_list("object_id", flat=True))
    assert reminded == {events[1].pk}


def test_a_severity_change_schedules_the_steps_of_the_new_level_another_incident_already_fired(
    p0, declare, incident_manager, severities
):
    """Steps fire per incident: the P0 that escalated at 1 h does not use up the step for a
    P1 raised to P0 later; the P0's fired timer keeps its record."""
    with time_machine.travel(START, tick=False):
        raised = declare(severity="P1", title="Search is slow")
    sweep_at(START + HOUR)  # the P0 fires its first step
    fired = Deadline.objects.get(incident=p0, kind="escalation.step", fired_at__isnull=False)
    with time_machine.travel(START + HOUR + 10 * MINUTE, tick=False):
        services.incident_change_severity(raised, by=incident_manager, severity=severities["P0"],
                                          reason="Search is down for everyone")
    sweep_at(START + 2 * HOUR)
    assert levels_reached(raised)[:1] == [2]
    fired.refresh_from_db()
    assert (fired.fired_at, fired.cancelled_at) == (START + HOUR, None)


def test_a_severity_change_leaves_the_record_of_a_step_that_already_fired(
    p0, incident_manager, severities
):
    sweep_at(START + HOUR)
    fired = Deadline.objects.get(incident=p0, kind="escalation.step", fired_at__isnull=False)
    with time_machine.travel(START + HOUR + 10 * MINUTE, tick=False):
        services.incident_change_severity(p0, by=incident_manager, severity=severities["P1"],
                                          reason="Only one region is affected")
    fired.refresh_from_db()
    assert (fired.fired_at, fired.cancelled_at) == (START + HOUR, None)


def test_an_unacknowledged_escalation_is_reminded_once_after_the_levels_response_time(p0):
    sweep_at(START + HOUR)
    event = EscalationEvent.objects.get(incident=p0)
    # L2 should answer a P0 within 15 minutes (seed 004).
    sweep_at(START + HOUR + 14 * MINUTE)
    assert not Notification.objects.filter(reason="escalation.reminder").exists()
    sweep_at(START + HOUR + 15 * MINUTE)
    sweep_at(START + HOUR + 16 * MINUTE)
    event.refresh_from_db()
    assert event.reminded_at == START + HOUR + 15 * MINUTE
    assert Notification.objects.filter(reason="escalation.reminder", channel="inapp").count() == 2


def test_a_reminder_swept_late_goes_to_whoever_was_on_the_levels_shift_when_it_was_due(
    p0, levels, make_user
):
    """Anna has L2's Monday shift and Ben its Tuesday one (hand-off at 09:00 in Amsterdam).
    The L2 reminder was due on Monday at 11:15 local time; the sweep only ran on Tuesday."""
    rota = Rota.objects.create(name="L2", time_zone="Europe/Amsterdam", handoff_time=time(9),
                               shift_length=timedelta(days=1), rotation_start=date(2026, 6, 15))
    for order, name in enumerate(["anna", "ben"]):
        rota.members.create(user=make_user("Responder", username=name), order=order)
    levels[2].rota = rota
    levels[2].save()
    sweep_at(START + HOUR)  # L2 paged: Anna
    sweep_at(START + 25 * HOUR)
    reminded = set(Notification.objects.filter(reason="escalation.reminder", channel="inapp")
                   .values_list("recipient__username", flat=True))
    assert "anna" in reminded and "ben" not in reminded


def test_acknowledging_an_escalation_stops_its_reminder(p0, staffed_levels):
    sweep_at(START + HOUR)
    event = EscalationEvent.objects.get(incident=p0)
    with time_machine.travel(START + HOUR + 5 * MINUTE, tick=False):
        escalation_services.escalation_acknowledge(event, by=staffed_levels[2])
    sweep_at(START + HOUR + 30 * MINUTE)
    event.refresh_from_db()
    assert event.acknowledged_by == staffed_levels[2]
    assert event.reminded_at is None
    assert not Notification.objects.filter(reason="escalation.reminder").exists()
    assert TimelineEntry.objects.filter(incident=p0, text__contains="acknowledged").exists()


def test_a_reminder_the_sweep_took_as_the_escalation_was_acknowledged_is_not_sent(
    p0, staffed_levels
):
    """The sweep may hold the reminder's timer when someone acknowledges: even a late
    acknowledgement makes the reminder moot."""
    sweep_at(START + HOUR)
    event = EscalationEvent.objects.get(incident=p0)
    with time_machine.travel(START + HOUR + 20 * MINUTE, tick=False):
        escalation_services.escalation_acknowledge(event, by=staffed_levels[2])
        event.refresh_from_db()
        escalation_services.escalations_remind([(event, START + HOUR + 15 * MINUTE)])
    event.refresh_from_db()
    assert event.reminded_at is None
    assert not Notification.objects.filter(reason="escalation.reminder").exists()


def test_an_escalation_is_reminded_only_once_whatever_fires_twice(p0):
    sweep_at(START + HOUR)
    sweep_at(START + HOUR + 15 * MINUTE)
    event = EscalationEvent.objects.get(incident=p0)
    assert Notification.objects.filter(reason="escalation.reminder", channel="inapp").count() == 2
    with time_machine.travel(START + HOUR + 20 * MINUTE, tick=False):
        escalation_services.escalations_remind([(event, START + HOUR + 20 * MINUTE)])
    event.refresh_from_db()
    assert event.reminded_at == START + HOUR + 15 * MINUTE
    assert Notification.objects.filter(reason="escalation.reminder", channel="inapp").count() == 2


def test_a_reminder_due_before_the_resolve_is_sent_by_a_later_sweep_as_of_its_due_time(
    p0, incident_manager, only_core_guards
):
    chat = WebhookEndpoint.objects.create(name="Chat", url="https://hooks.example.com/esc")
    sweep_at(START + HOUR)
    event = EscalationEvent.objects.get(incident=p0)
    due = START + HOUR + 15 * MINUTE
    with time_machine.travel(START + HOUR + 20 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
    sweep_at(START + HOUR + 30 * MINUTE)
    event.refresh_from_db()
    assert event.reminded_at == due
    assert event.history.first().history_change_reason == "Reminder sent"
    entry = TimelineEntry.objects.get(incident=p0, data__reminder=True)
    assert (entry.occurred_at, entry.text) == (
        due, "Escalation to L2 Team lead / senior engineer not acknowledged in time; reminder sent.")
    assert entry.kind == TimelineEntry.Kind.ESCALATION
    notice = Notification.objects.filter(reason="escalation.reminder", channel="inapp").first()
    assert (notice.url, notice.incident) == (p0.get_absolute_url(), p0)
    assert notice.title == f"[P0] {p0.reference}: escalation to L2 not yet acknowledged"
    assert notice.body == (f"{p0.reference} {p0.title}\n"
                           f"Escalated {escalation_services.when(START + HOUR)}.")
    recipients = set(Notification.objects.filter(reason="escalation.reminder", channel="inapp")
                     .values_list("recipient__username", flat=True))
    assert incident_manager.username in recipients and len(recipients) == 2
    assert Notification.objects.filter(reason="escalation.reminder", webhook=chat).exists()


def test_no_reminder_is_sent_for_an_incident_that_had_ended_by_its_due_time(
    p0, incident_manager, only_core_guards
):
    sweep_at(START + HOUR)
    event = EscalationEvent.objects.get(incident=p0)
    with time_machine.travel(START + HOUR + 5 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
    event = EscalationEvent.objects.select_related("incident", "level").get(pk=event.pk)
    with time_machine.travel(START + HOUR + 30 * MINUTE, tick=False):
        escalation_services.escalations_remind([(event, START + HOUR + 15 * MINUTE)])
    event.refresh_from_db()
    assert event.reminded_at is None
    assert not Notification.objects.filter(reason="escalation.reminder").exists()


def test_only_the_level_or_the_incident_manager_may_acknowledge(p0, staffed_levels, responder):
    sweep_at(START + HOUR)
    event = EscalationEvent.objects.get(incident=p0)
    with pytest.raises(ActionRefused, match="Only people at L2"):
        escalation_services.escalation_acknowledge(event, by=responder)
    escalation_services.escalation_acknowledge(event, by=p0.incident_manager)
    with pytest.raises(ActionRefused, match="already acknowledged"):
        escalation_services.escalation_acknowledge(event, by=staffed_levels[2])


def test_a_refused_acknowledgement_says_who_may_acknowledge_or_who_already_did_and_when(
    p0, staffed_levels, responder, levels
):
    sweep_at(START + HOUR)
    event = EscalationEvent.objects.get(incident=p0)
    with pytest.raises(ActionRefused) as refused:
        escalation_services.escalation_acknowledge(event, by=responder)
    assert refused.value.reasons == [
        f"Only people at L2 {levels[2].name} or the incident manager can acknowledge this "
        "escalation."]
    with time_machine.travel(START + HOUR + 5 * MINUTE, tick=False):
        escalation_services.escalation_acknowledge(event, by=p0.incident_manager)
    with pytest.raises(ActionRefused) as refused:
        escalation_services.escalation_acknowledge(event, by=staffed_levels[2])
    # 09:05 UTC is 11:05 in the organisation's zone (Europe/Amsterdam, summer time).
    assert refused.value.reasons == [
        "This escalation was already acknowledged by Ivan Manager at Mon 15 Jun 2026 11:05 CEST."]


def test_an_acknowledgement_is_on_the_timeline_and_in_the_history_under_the_persons_name(
    p0, staffed_levels, levels
):
    sweep_at(START + HOUR)
    event = EscalationEvent.objects.get(incident=p0)
    acknowledger = staffed_levels[2]
    with time_machine.travel(START + HOUR + 5 * MINUTE, tick=False):
        escalation_services.escalation_acknowledge(event, by=acknowledger)
    entry = TimelineEntry.objects.get(incident=p0, kind="escalation", data__acknowledged=True)
    assert entry.author == acknowledger
    assert entry.text == f"level2 acknowledged the escalation to L2 {levels[2].name}."
    assert entry.data == {"event": event.pk, "acknowledged": True}
    change = event.history.first()
    assert (change.history_user, change.history_change_reason) == (acknowledger, "Acknowledged")
    assert change.acknowledged_at == START + HOUR + 5 * MINUTE


def test_raising_the_severity_late_fires_only_the_latest_missed_step(
    declare, incident_manager, severities, staffed_levels
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2")
    with time_machine.travel(START + 3 * HOUR + 30 * MINUTE, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Spreading")
    sweep_at(START + 3 * HOUR + 31 * MINUTE)
    # P0's 1 h, 2 h and 3 h steps are past; only the 3 h one (L3 consultant) fires.
    assert levels_reached(incident) == [3]
    assert "consultant" in EscalationEvent.objects.get(incident=incident).note


def test_a_reopen_after_missed_steps_fires_only_the_latest_of_them(
    p0, incident_manager, staffed_levels, only_core_guards
):
    with time_machine.travel(START + 30 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        incident = services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
    with time_machine.travel(START + 3 * HOUR + 30 * MINUTE, tick=False):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    sweep_at(START + 3 * HOUR + 31 * MINUTE)
    # P0's 1 h, 2 h and 3 h steps passed while it was resolved; only the 3 h one fires.
    assert levels_reached(incident) == [3]
    assert "consultant" in EscalationEvent.objects.get(incident=incident).note


def test_a_reopen_never_fires_again_a_step_that_fired_before_the_resolve(
    p0, incident_manager, staffed_levels, only_core_guards
):
    sweep_at(START + HOUR)  # P0's 1 h step: L2
    with time_machine.travel(START + 90 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        incident = services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
    with time_machine.travel(START + 105 * MINUTE, tick=False):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    sweep_at(START + 106 * MINUTE)
    assert levels_reached(incident) == [2], "the 1 h step fired once, before the resolve"
    sweep_at(START + 2 * HOUR)
    assert levels_reached(incident) == [2, 3], "the steps still to come keep their times"


def test_a_second_reopen_fires_the_latest_step_that_has_not_fired_yet(
    p0, incident_manager, staffed_levels, only_core_guards
):
    """The first reopen caught up with the 3 h step only; at the second, the 1 h and 2 h steps
    are the missed ones that never fired, and the later of them fires."""
    with time_machine.travel(START + 30 * MINUTE, tick=False):
        services.incident_triage(p0, by=incident_manager)
        incident = services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
    with time_machine.travel(START + 3 * HOUR + 30 * MINUTE, tick=False):
        incident = services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    sweep_at(START + 3 * HOUR + 31 * MINUTE)
    with time_machine.travel(START + 4 * HOUR, tick=False):
        incident = services.incident_resolve(incident, by=incident_manager, summary="Again")
    with time_machine.travel(START + 5 * HOUR, tick=False):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back again")
    sweep_at(START + 5 * HOUR + MINUTE)
    assert list(EscalationEvent.objects.filter(incident=incident).order_by("id")
                .values_list("step__delay", "note")) == [
        (3 * HOUR, "No resolution after 3 hours: consider an external consultant."),
        (2 * HOUR, "No progress after 2 hours: technical lead and CTO.")]


def test_a_business_day_step_waits_over_the_weekend(declare, staffed_levels):
    friday_afternoon = datetime(2026, 6, 12, 14, 0, tzinfo=UTC)  # 16:00 in Amsterdam
    with time_machine.travel(friday_afternoon, tick=False):
        incident = declare(severity="P2")
    sweep_at(datetime(2026, 6, 13, 14, 0, tzinfo=UTC))
    sweep_at(datetime(2026, 6, 15, 13, 59, tzinfo=UTC))
    assert levels_reached(incident) == []
    sweep_at(datetime(2026, 6, 15, 14, 0, tzinfo=UTC))  # Monday 16:00: one working day later
    assert levels_reached(incident) == [2]


@pytest.mark.parametrize(("impact", "level"), [
    ({"is_customer_facing": True}, 2),
    ({"is_security": True}, 3),
    ({"is_compliance": True}, 3),
])
def test_customer_security_and_compliance_impact_escalate_at_once(
    declare, staffed_levels, impact, level
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2", **impact)
    event = EscalationEvent.objects.get(incident=incident)
    assert (event.level.number, event.source, event.at) == (level, "rule", START)


def test_an_impact_rule_escalation_is_credited_to_the_rule_not_the_reporter(
        declare, staffed_levels):
    incident = declare(severity="P2", is_customer_facing=True)
    event = EscalationEvent.objects.get(incident=incident)
    entry = incident.timeline.get(kind="escalation")
    assert event.by is None and entry.author is None
    assert entry.text.startswith("Escalated automatically (impact rule) to L2")


def test_data_integrity_escalates_after_fifteen_minutes(declare, staffed_levels):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2", is_data_integrity=True)
    assert levels_reached(incident) == []
    sweep_at(START + 14 * MINUTE)
    assert levels_reached(incident) == []
    sweep_at(START + 15 * MINUTE)
    sweep_at(START + 16 * MINUTE)
    assert levels_reached(incident) == [2]


def test_revenue_impact_recorded_later_escalates_thirty_minutes_after_it_was_recorded(
    declare, responder, staffed_levels
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2")
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_update_impact(incident, by=responder, revenue_impact_per_hour=5000)
    # Recording another impact change does not push the escalation back.
    with time_machine.travel(START + HOUR + 10 * MINUTE, tick=False):
        services.incident_update_impact(incident, by=responder, customers_affected_pct=3)
    sweep_at(START + HOUR + 29 * MINUTE)
    assert levels_reached(incident) == []
    sweep_at(START + HOUR + 30 * MINUTE)
    assert levels_reached(incident) == [3]


def test_an_impact_corrected_before_its_delay_does_not_escalate(declare, responder):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2", is_data_integrity=True)
    with time_machine.travel(START + 5 * MINUTE, tick=False):
        services.incident_update_impact(incident, by=responder, is_data_integrity=False)
    sweep_at(START + HOUR)
    assert levels_reached(incident) == []


def test_manual_escalation_records_the_reason_and_notifies_the_level(
    declare, responder, staffed_levels
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2")
    with time_machine.travel(START + 10 * MINUTE, tick=False):
        event = escalation_services.incident_escalate(
            incident, by=responder, level=selectors.escalation_levels().get(number=3),
            reason_category="complexity", note="Needs a database architect")
    assert (event.source, event.by, event.at) == ("manual", responder, START + 10 * MINUTE)
    entry = TimelineEntry.objects.get(incident=incident, kind="escalation")
    assert "Needs a database architect" in entry.text and entry.author == responder
    assert Notification.objects.filter(reason="escalation",
                                       recipient=staffed_levels[3]).exists()
    assert event.history.first().history_user == responder


def test_manual_escalation_is_refused_without_permission_or_a_reason(
    declare, product_manager, responder, levels
):
    incident = declare(severity="P2")
    with pytest.raises(ActionRefused, match="permission"):
        escalation_services.incident_escalate(incident, by=product_manager, level=levels[2],
                                              reason_category="complexity", note="Help")
    with pytest.raises(ActionRefused) as refused:
        escalation_services.incident_escalate(incident, by=responder, level=levels[2],
                                              reason_category="time", note=" ")
    assert len(refused.value.reasons) == 2
    assert not EscalationEvent.objects.exists()


def test_a_refused_manual_escalation_says_why_in_words(
    declare, product_manager, responder, incident_manager, levels
):
    incident = declare(severity="P2")
    with pytest.raises(ActionRefused) as refused:
        escalation_services.incident_escalate(incident, by=product_manager, level=levels[2],
                                              reason_category="complexity", note="Help")
    assert refused.value.reasons == ["You do not have permission to escalate incidents."]
    with pytest.raises(ActionRefused) as refused:
        escalation_services.incident_escalate(incident, by=responder, level=levels[2],
                                              reason_category="time", note=" ")
    assert refused.value.reasons == [
        "Choose why you escalate: complexity, resources, business impact or security.",
        "Say what the level is needed for."]
    services.incident_cancel(incident, by=incident_manager, reason="False alarm")
    with pytest.raises(ActionRefused) as refused:
        escalation_services.incident_escalate(incident, by=responder, level=levels[2],
                                              reason_category="complexity", note="Help")
    assert refused.value.reasons == [
        f"{incident.reference} is cancelled; it can no longer be escalated."]
    assert not EscalationEvent.objects.exists()


def test_an_incident_shows_the_highest_level_it_reached(declare, responder, levels):
    incident = declare(severity="P3")
    assert selectors.current_level(incident) is None
    for number in (3, 2):
        escalation_services.incident_escalate(incident, by=responder, level=levels[number],
                                              reason_category="resources", note="More hands")
    status = selectors.escalation_status(incident, responder)
    assert status["current_level"].number == 3
    assert [e.level.number for e in status["events"]] == [2, 3]


def test_required_roles_are_called_for_under_the_name_of_who_declared_or_changed_the_incident(
    declare, severities, incident_types, incident_manager, responder
):
    def required(name, **when):
        role = IncidentRole.objects.create(code=name.lower().replace(" ", "-"), name=name)
        RoleRequirement.objects.create(role=role, **when)

    required("Golang pro", severity=severities["P1"])
    required("Forensic analyst", incident_type=incident_types["security"])
    required("Database expert", severity=severities["P0"])
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", by=responder)
    with time_machine.travel(START + 10 * MINUTE, tick=False):
        incident = services.incident_update_impact(
            incident, by=incident_manager, incident_type=incident_types["security"],
            reason="It is a breach")
    with time_machine.travel(START + 20 * MINUTE, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Data at risk")
    entries = TimelineEntry.objects.filter(incident=incident, kind="role").order_by("occurred_at")
    nobody = "nobody to page (give the role a rota or group)."
    assert [(entry.author, entry.occurred_at, entry.text) for entry in entries] == [
        (responder, START, f"Required roles. Golang pro: {nobody}"),
        (incident_manager, START + 10 * MINUTE, f"Required roles. Forensic analyst: {nobody}"),
        (incident_manager, START + 20 * MINUTE, f"Required roles. Database expert: {nobody}"),
    ]


def test_a_severity_change_leaves_the_other_incidents_steps_alone(
        p0, declare, incident_manager, severities):
    with time_machine.travel(START, tick=False):
        other = declare(severity="P0", title="Refunds down")
    with time_machine.travel(START + 10 * MINUTE, tick=False):
        services.incident_change_severity(p0, by=incident_manager, severity=severities["P1"],
                                          reason="Only one region is affected")
    sweep_at(START + HOUR)
    assert levels_reached(other) == [2]


def test_steps_are_scheduled_on_a_raise_though_an_impact_rule_escalated_before(
        declare, staffed_levels, incident_manager, severities):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", is_customer_facing=True)
    assert levels_reached(incident) == [2]  # the customer-impact rule, at once
    with time_machine.travel(START + 10 * MINUTE, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Everyone is hit")
    sweep_at(START + HOUR)
    assert EscalationEvent.objects.filter(incident=incident, step__isnull=False).exists()


def test_an_escalation_is_still_reminded_after_a_severity_change(p0, incident_manager,
                                                                 severities):
    sweep_at(START + HOUR)  # L2, to answer within 15 minutes
    with time_machine.travel(START + HOUR + 5 * MINUTE, tick=False):
        services.incident_change_severity(p0, by=incident_manager, severity=severities["P1"],
                                          reason="Only one region is affected")
    sweep_at(START + HOUR + 15 * MINUTE)
    event = EscalationEvent.objects.get(incident=p0)
    assert event.reminded_at == START + HOUR + 15 * MINUTE
