"""Update cadence: a timer per audience; an overdue update reminds the communications lead
and the incident manager once; sending an update restarts the clock; resolving stops it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from escalation.deadlines import deadlines_sweep
from escalation.models import Deadline, Notification
from incidents import services
from incidents.models import Audience, CommunicationCadence, SeverityLevel
from incidents.warroom.rendering import format_datetime
from incidents.warroom.communications import cadence_status, next_update_due, status_update_send

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minutes):
    return time_machine.travel(START + timedelta(minutes=minutes), tick=False)


def reminders(audience="stakeholders"):
    return Notification.objects.filter(reason__startswith=f"comms.update_overdue.{audience}.")


@pytest.fixture
def incident(declare, incident_manager, responder, payments):
    with at(0):
        incident = declare(title="Checkout down", severity="P0", services=[payments],
                           detected_at=START - timedelta(minutes=40), is_customer_facing=True)
        services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                      user=incident_manager)
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="communications_lead", user=responder)


def send(incident, by, audience="stakeholders"):
    return status_update_send(incident, by=by, audience=audience, stage="update",
                              subject="Still rolling back", body="Next update soon.")


def test_each_audience_gets_a_timer_from_the_seeded_cadence(incident):
    assert next_update_due(incident, "stakeholders") == START + timedelta(minutes=30)
    assert next_update_due(incident, "executives") == START + timedelta(hours=2)
    # Customers: within an hour of detection, which was 40 minutes before the declaration.
    assert next_update_due(incident, "customer") == START + timedelta(minutes=20)
    assert next_update_due(incident, "team") is None


def test_an_overdue_update_reminds_the_lead_and_the_manager_once(incident):
    with at(29):
        deadlines_sweep()
    assert not reminders().exists()
    with at(31):
        deadlines_sweep()
        status = {c.audience: c for c in cadence_status(incident)}
    assert status["stakeholders"].is_overdue
    assert sorted((n.recipient.username, n.channel) for n in reminders()) == [
        ("ivan", "email"), ("ivan", "inapp"), ("rita", "email"), ("rita", "inapp")]
    assert "update for internal stakeholders is overdue" in reminders().first().title
    with at(90):
        deadlines_sweep()
    assert reminders().count() == 4, "a reminder fires once, not on every sweep"
    assert incident.timeline.filter(kind="sla", data__audience="stakeholders").count() == 1


def test_the_overdue_reminder_says_which_update_was_due_when_and_links_the_war_room(incident):
    due = START + timedelta(minutes=30)
    with at(31):
        deadlines_sweep()
    room = reverse("warroom:room", kwargs={"reference": incident.reference})
    assert {(n.title, n.body, n.url, n.incident_id) for n in reminders()} == {(
        f"{incident.reference}: the update for internal stakeholders is overdue",
        f"An update for internal stakeholders on {incident.reference} “Checkout down” was due "
        f"at {format_datetime(due)}. Send one from the war room.", room, incident.pk)}
    entry = incident.timeline.get(kind="sla", data__audience="stakeholders")
    assert entry.text == (
        f"The update for internal stakeholders was due at {format_datetime(due)} and has not "
        "been sent; the communications lead and incident manager were reminded.")
    timer = Deadline.objects.get(pk=entry.data["deadline"])
    assert (timer.due_at, entry.data) == (due, {
        "audience": "stakeholders", "deadline": timer.pk, "cadence": "p0-stakeholders"})


def test_a_severity_change_counts_the_next_update_from_the_change_for_every_audience(
    incident, responder, incident_manager
):
    """Stakeholders had an update, customers had none: after the change to P1 both wait one
    P1 interval from the change (customers' first update within four hours)."""
    with at(10):
        send(incident, responder)
    with at(20):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=SeverityLevel.objects.get(code="P1"),
                                          reason="Re-assessed")
    changed = START + timedelta(minutes=20)
    assert next_update_due(incident, "stakeholders") == changed + timedelta(hours=2)
    assert next_update_due(incident, "customer") == changed + timedelta(hours=4)
    assert next_update_due(incident, "executives") == changed + timedelta(hours=12)


def test_sending_an_update_restarts_the_clock(incident, responder):
    with at(31):
        deadlines_sweep()
    with at(45):
        send(incident, responder)
        assert next_update_due(incident, "stakeholders") == START + timedelta(minutes=75)
        assert not {c.audience: c for c in cadence_status(incident)}["stakeholders"].is_overdue
    with at(74):
        deadlines_sweep()
    assert reminders().count() == 4
    with at(76):
        deadlines_sweep()
    assert reminders().count() == 8, "the next missed update reminds again"


def test_an_update_for_one_audience_does_not_move_the_others(incident, responder):
    with at(10):
        send(incident, responder, audience="executives")
    assert next_update_due(incident, "executives") == START + timedelta(minutes=130)
    assert next_update_due(incident, "stakeholders") == START + timedelta(minutes=30)


def test_resolving_stops_the_reminders(incident, incident_manager):
    with at(5):
        incident = services.incident_triage(incident, by=incident_manager)
        incident.checklist_items.filter(blocks="resolve").update(done_at=START)
        services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    with at(300):
        deadlines_sweep()
    assert not Notification.objects.filter(reason__startswith="comms.update_overdue").exists()
    assert cadence_status(incident) == []


def test_triaging_keeps_the_update_clock_running(incident, incident_manager):
    with at(20):
        services.incident_triage(incident, by=incident_manager)
    with at(31):
        deadlines_sweep()
    assert reminders().count() == 4, "due 30 minutes after the declaration, not after triage"


def test_reopening_restarts_the_update_clock_from_the_reopen(incident, incident_manager):
    with at(5):
        incident = services.incident_triage(incident, by=incident_manager)
        incident.checklist_items.filter(blocks="resolve").update(done_at=START)
        incident = services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    assert next_update_due(incident, "stakeholders") is None
    with at(120):
        incident = services.incident_reopen(incident, by=incident_manager, reason="Back again")
    assert next_update_due(incident, "stakeholders") == START + timedelta(minutes=150)


def test_editing_the_title_leaves_the_update_clock_alone(incident, incident_manager):
    with at(10):
        services.incident_update_impact(incident, by=incident_manager, title="Checkout slow")
    assert next_update_due(incident, "stakeholders") == START + timedelta(minutes=30)


def test_raising_the_severity_switches_to_the_stricter_cadence(declare, incident_manager,
                                                               severities):
    with at(0):
        incident = declare(severity="P2")
    assert next_update_due(incident, "stakeholders") == START + timedelta(days=1)
    with at(60):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P0"], reason="Spreading")
    assert next_update_due(incident, "stakeholders") == START + timedelta(minutes=90)


def test_the_war_room_shows_an_overdue_update(incident, incident_manager, client_for):
    with at(31):
        deadlines_sweep()
        page = client_for(incident_manager).get(f"/war-room/{incident.reference}/")
    assert page.status_code == 200
    assert "Update overdue" in page.content.decode()


def test_each_war_room_shows_the_update_clocks_of_its_own_incident(
        incident, declare, incident_manager, payments):
    with at(5):
        later = declare(title="Refunds down", severity="P0", services=[payments])
    assert next_update_due(incident, "stakeholders") == START + timedelta(minutes=30)
    assert next_update_due(later, "stakeholders") == START + timedelta(minutes=35)
    with at(6):
        status = {state.audience: state.due_at for state in cadence_status(incident)}
    assert status["stakeholders"] == START + timedelta(minutes=30)


def test_a_cadence_for_one_incident_type_runs_for_incidents_of_that_type(
        declare, incident_types, severities):
    security = incident_types["security"]
    cadence = CommunicationCadence.objects.create(
        slug="security-legal", severity=severities["P2"], incident_type=security,
        interval=timedelta(minutes=45))
    cadence.audiences.set(Audience.objects.filter(slug="executives"))
    with at(0):
        breach = declare(title="Leaked keys", severity="P2", incident_type=security)
    assert next_update_due(breach, "executives") == START + timedelta(minutes=45)


def test_changing_whether_an_incident_is_customer_facing_replans_only_the_update_clocks(
        incident, incident_manager):
    def other_timers():
        return set(Deadline.objects.filter(incident=incident, fired_at=None, cancelled_at=None)
                   .exclude(key__startswith="comms.").values_list("pk", flat=True))

    before = other_timers()
    assert before, "the P0 has SLA and escalation timers"
    with at(5):
        services.incident_update_impact(incident, by=incident_manager, is_customer_facing=False)
    assert other_timers() == before


def test_an_audience_that_had_its_first_update_waits_a_whole_interval_after_a_replan(
        incident, responder, incident_manager):
    """A manager's cadence asks for the first stakeholder update within 10 minutes, then
    every 30: once the first update went out, a replan does not bring back the 10 minutes."""
    CommunicationCadence.objects.filter(slug="p0-stakeholders").update(
        first_update_within=timedelta(minutes=10))
    with at(8):
        send(incident, responder)
    with at(20):
        services.incident_update_impact(incident, by=incident_manager, is_customer_facing=False)
    assert next_update_due(incident, "stakeholders") == START + timedelta(minutes=50)


def test_after_a_severity_change_the_war_room_shows_the_new_levels_update_clocks(
        incident, incident_manager):
    with at(20):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=SeverityLevel.objects.get(code="P1"),
                                          reason="Re-assessed")
        status = {state.audience: state.due_at for state in cadence_status(incident)}
    changed = START + timedelta(minutes=20)
    assert status == {"stakeholders": changed + timedelta(hours=2),
                      "customer": changed + timedelta(hours=4),
                      "executives": changed + timedelta(hours=12)}


def test_an_overdue_update_for_an_audience_deleted_meanwhile_is_named_by_its_slug(
        declare, severities, payments):
    board = Audience.objects.create(slug="board", name="The board")
    cadence = CommunicationCadence.objects.create(
        slug="p0-board", severity=severities["P0"], interval=timedelta(minutes=15))
    cadence.audiences.set([board])
    with at(0):
        incident = declare(title="Checkout down", severity="P0", services=[payments])
    board.delete()
    with at(15):
        deadlines_sweep()
    assert incident.timeline.get(kind="sla", data__audience="board").text.startswith(
        "The update for board was due at")
