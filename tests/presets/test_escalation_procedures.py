"""Seed 004, issue escalation procedures, run end to end as its document says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from incidents import services
from incidents.models import IncidentType, SeverityLevel
from incidents.warroom.services import checklist_item_set_done
from postmortems.models import ReviewAgendaItem

from .conftest import HOUR, MINUTE, MONDAY_MORNING, levels_reached, recipients

pytestmark = pytest.mark.django_db
# Friday 19 June 2026, 15:00 in Amsterdam: two office hours before the weekend.
FRIDAY_AFTERNOON = datetime(2026, 6, 19, 13, 0, tzinfo=UTC)


@pytest.fixture
def escalation_procedures(load_preset):
    return load_preset("escalation-procedures")


def test_levels_p1_to_p4_and_the_categories(escalation_procedures):
    levels = SeverityLevel.objects.active().order_by("rank")
    assert [(s.code, s.name) for s in levels] == [
        ("P1", "Critical"), ("P2", "High"), ("P3", "Medium"), ("P4", "Low")]
    types = IncidentType.objects.filter(is_active=True)
    assert [t.code for t in types] == ["technical", "security", "infrastructure",
                                       "performance", "process", "business"]
    assert IncidentType.objects.get(code="security").restricted_by_default


def test_a_critical_issue_escalates_after_one_hour_without_resolution(
        escalation_procedures, level, declare_at):
    incident, walk = declare_at(MONDAY_MORNING, level("P1"))

    assert "sla.response.immediate" in {n.reason for n in walk.fired}
    assert "sla.resolution.breached" not in walk.reasons(HOUR - MINUTE)
    assert "sla.resolution.breached" in walk.reasons(HOUR)


def test_a_medium_issue_waits_one_business_day_over_the_weekend(
        escalation_procedures, level, declare_at):
    incident, walk = declare_at(FRIDAY_AFTERNOON, level("P3"))

    monday_afternoon = FRIDAY_AFTERNOON.replace(day=22) - FRIDAY_AFTERNOON
    assert "sla.resolution.breached" not in walk.reasons(monday_afternoon - MINUTE)
    assert "sla.resolution.breached" in walk.reasons(monday_afternoon)


@pytest.fixture
def led(make_user):
    """Assigns an incident manager and a communications lead, who hear of overdue updates."""
    manager = make_user("Incident manager", username="im")
    lead = make_user("Responder", username="comms")

    def lead_it(incident, walk, offset=MINUTE * 0):
        with walk.at(offset):
            services.incident_assign_role(incident, by=manager, role="incident_manager",
                                          user=manager)
            services.incident_assign_role(incident, by=manager, role="communications_lead",
                                          user=lead)
        return manager
    return lead_it


def overdue(notifications) -> set[str]:
    """The audiences whose update came due, from the reminders' reasons."""
    return {n.reason.split(".")[2] for n in notifications
            if n.reason.startswith("comms.update_overdue.")}


def test_critical_updates_every_30_minutes_customers_within_an_hour_executives_every_2(
        escalation_procedures, level, declare_at, led):
    incident, walk = declare_at(MONDAY_MORNING, level("P1"))
    led(incident, walk)

    assert overdue(walk.to(30 * MINUTE - MINUTE)) == set()
    assert overdue(walk.to(30 * MINUTE)) == {"stakeholders", "team"}
    assert "customer" not in overdue(walk.to(HOUR - MINUTE))
    assert "customer" in overdue(walk.to(HOUR))
    assert "executives" not in overdue(walk.to(2 * HOUR - MINUTE))
    assert "executives" in overdue(walk.to(2 * HOUR))


def test_high_status_updates_count_business_hours_only(escalation_procedures, level,
                                                      declare_at, led):
    friday_four_pm = FRIDAY_AFTERNOON + HOUR  # one working hour left before the weekend
    incident, walk = declare_at(friday_four_pm, level("P2"))
    led(incident, walk)

    monday_ten_am = friday_four_pm.replace(day=22) - friday_four_pm - 6 * HOUR
    assert "team" not in overdue(walk.to(monday_ten_am - MINUTE))
    assert "team" in overdue(walk.to(monday_ten_am))


def test_the_post_mortem_meeting_is_due_48_hours_after_resolution_with_its_agenda(
        escalation_procedures, level, declare_at, led):
    incident, walk = declare_at(MONDAY_MORNING, level("P1"))
    manager = led(incident, walk)
    with walk.at(30 * MINUTE):
        services.incident_triage(incident, by=manager)
        for item in incident.checklist_items.filter(is_required=True, blocks="resolve"):
            checklist_item_set_done(item, by=manager, done=True)
        services.incident_resolve(incident, by=manager, summary="Failed over")

    resolved = 30 * MINUTE
    assert "postmortem.overdue" not in walk.reasons(resolved + 48 * HOUR - MINUTE)
    assert "postmortem.overdue" in walk.reasons(resolved + 48 * HOUR)
    agenda = [(a.label, a.minutes) for a in ReviewAgendaItem.objects.filter(is_active=True)]
    assert [minutes for _label, minutes in agenda] == [20, 30, 20, 20, 0]


def test_a_critical_issue_unresolved_after_an_hour_reaches_the_team_lead_who_has_15_minutes(
        escalation_procedures, level, declare_at, make_user):
    make_user("Incident manager", username="team-lead")
    incident, walk = declare_at(MONDAY_MORNING, level("P1"))

    walk.to(HOUR - MINUTE)
    assert levels_reached(incident) == []
    assert "team-lead" in recipients(walk.to(HOUR), "escalation")
    assert levels_reached(incident) == [("standard", 2)]
    assert not recipients(walk.to(HOUR + 14 * MINUTE), "escalation.reminder")
    assert "team-lead" in recipients(walk.to(HOUR + 15 * MINUTE), "escalation.reminder")


def test_a_security_incident_climbs_the_security_matrix(escalation_procedures, level,
                                                        declare_at, make_user):
    security = IncidentType.objects.get(code="security")
    incident, walk = declare_at(MONDAY_MORNING, level("P3"), incident_type=security)

    for minutes, number in ((15, 2), (30, 3), (60, 4), (240, 5)):
        walk.to((minutes - 1) * MINUTE)
        assert ("security", number) not in levels_reached(incident), minutes
        walk.to(minutes * MINUTE)
        assert ("security", number) in levels_reached(incident), minutes


def test_a_performance_incident_climbs_the_performance_ladder(escalation_procedures, level,
                                                              declare_at):
    performance = IncidentType.objects.get(code="performance")
    incident, walk = declare_at(MONDAY_MORNING, level("P2"), incident_type=performance)

    for minutes, number in ((30, 2), (120, 3), (480, 4)):
        walk.to((minutes - 1) * MINUTE)
        assert ("performance", number) not in levels_reached(incident), minutes
        walk.to(minutes * MINUTE)
        assert ("performance", number) in levels_reached(incident), minutes


def test_impact_escalates_data_integrity_at_15_minutes_and_revenue_at_30(
        escalation_procedures, level, declare_at):
    incident, walk = declare_at(MONDAY_MORNING, level("P3"), is_data_integrity=True,
                                revenue_impact_per_hour=500)

    walk.to(14 * MINUTE)
    assert levels_reached(incident) == []
    walk.to(15 * MINUTE)
    assert levels_reached(incident) == [("standard", 2)]
    walk.to(30 * MINUTE)
    assert len(levels_reached(incident)) == 2


def test_a_security_incident_gets_the_15_minute_immediate_response_checklist(
        escalation_procedures, level, declare_at, make_user):
    manager = make_user("Incident manager", username="im")
    security = IncidentType.objects.get(code="security")
    incident, walk = declare_at(MONDAY_MORNING, level("P2"), incident_type=security)
    services.incident_assign_role(incident, by=manager, role="incident_manager", user=manager)

    assert "Affected systems isolated" in {i.text for i in incident.checklist_items.all()}
    assert not any(n.reason.startswith("checklist.window_ended")
                   for n in walk.to(15 * MINUTE - MINUTE))
    assert any(n.reason.startswith("checklist.window_ended") and n.recipient == manager
               for n in walk.to(15 * MINUTE))
