"""Seed 001, issue response, run end to end as its document says."""

from __future__ import annotations

import pytest

from incidents import services
from incidents.errors import ActionRefused
from incidents.models import SeverityLevel

from .conftest import HOUR, MINUTE, MONDAY_MORNING, checklist, levels_reached, recipients

pytestmark = pytest.mark.django_db
DAY = 24 * HOUR


@pytest.fixture
def issue_response(load_preset):
    return load_preset("issue-response")


@pytest.fixture
def manager(make_user):
    return make_user("Incident manager", username="im")


def test_the_preset_has_the_documents_response_and_resolution_times(issue_response):
    targets = {s.code: (s.response_target_text, s.resolution_target_text)
               for s in SeverityLevel.objects.active()}
    assert targets == {"P0": ("1h", "4h"), "P1": ("4h", "1d"), "P2": ("1d", "7d"),
                       "P3": ("7d", "30d")}


def test_p0_steps_remind_at_15_minutes_1_hour_4_hours_and_24_hours(
        issue_response, level, declare_at, manager):
    incident, walk = declare_at(MONDAY_MORNING, level("P0"))
    services.incident_assign_role(incident, by=manager, role="incident_manager", user=manager)

    for offset in (15 * MINUTE, HOUR, 4 * HOUR, DAY):
        assert not recipients(walk.to(offset - MINUTE), "checklist.window_ended"), offset
        assert "im" in recipients(walk.to(offset), "checklist.window_ended"), offset


def test_p0_clocks_breach_at_1_and_4_hours_and_the_rollback_runbook_is_on_the_item(
        issue_response, level, declare_at):
    incident, walk = declare_at(MONDAY_MORNING, level("P0"))

    assert "sla.response.breached" not in walk.reasons(HOUR - MINUTE)
    assert "sla.response.breached" in walk.reasons(HOUR)
    assert "sla.resolution.breached" in walk.reasons(4 * HOUR)
    rollback = checklist(incident)["Automatic rollback triggered"]
    assert "./scripts/monitor-deployment.sh --rollback" in rollback.runbook


def test_p0_cannot_be_resolved_before_it_is_redeployed(issue_response, level, declare_at,
                                                       manager):
    incident, walk = declare_at(MONDAY_MORNING, level("P0"))
    with walk.at(30 * MINUTE):
        services.incident_triage(incident, by=manager, incident_manager=manager)
        with pytest.raises(ActionRefused, match="Redeployed with the feature disabled"):
            services.incident_resolve(incident, by=manager, summary="Rolled back")


def test_p1_steps_remind_at_4_24_and_48_hours(issue_response, level, declare_at, manager):
    incident, walk = declare_at(MONDAY_MORNING, level("P1"))
    services.incident_assign_role(incident, by=manager, role="incident_manager", user=manager)

    for offset in (4 * HOUR, DAY, 2 * DAY):
        assert not recipients(walk.to(offset - MINUTE), "checklist.window_ended"), offset
        assert "im" in recipients(walk.to(offset), "checklist.window_ended"), offset


def test_p3_resolution_breaches_after_a_month_not_before(issue_response, level, declare_at):
    incident, walk = declare_at(MONDAY_MORNING, level("P3"))

    assert "sla.resolution.breached" not in walk.reasons(30 * DAY - MINUTE)
    assert "sla.resolution.breached" in walk.reasons(30 * DAY)


def test_p1_updates_are_due_every_4_hours(issue_response, level, declare_at, manager):
    incident, walk = declare_at(MONDAY_MORNING, level("P1"))
    services.incident_assign_role(incident, by=manager, role="incident_manager", user=manager)

    def overdue(offset):
        return {n.reason.split(".")[2] for n in walk.to(offset)
                if n.reason.startswith("comms.update_overdue.")}

    assert overdue(4 * HOUR - MINUTE) == set()
    assert overdue(4 * HOUR) == {"team", "stakeholders"}


def test_a_missed_p0_response_brings_the_lead_developer_and_a_missed_resolution_the_cto(
        issue_response, level, declare_at, make_user):
    make_user("Incident manager", username="lead-dev")
    make_user("Manager", username="cto")
    incident, walk = declare_at(MONDAY_MORNING, level("P0"))

    walk.to(HOUR - MINUTE)
    assert levels_reached(incident) == []
    assert "lead-dev" in recipients(walk.to(HOUR), "escalation")
    walk.to(4 * HOUR - MINUTE)
    assert [n for _l, n in levels_reached(incident)] == [2]
    assert "cto" in recipients(walk.to(4 * HOUR), "escalation")
    assert [n for _l, n in levels_reached(incident)] == [2, 3]
