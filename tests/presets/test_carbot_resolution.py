"""Seed 000, CarBot issue resolution, run end to end as its document says."""

from __future__ import annotations

import pytest

from escalation.models import SlaClock
from incidents import services
from incidents.errors import ActionRefused
from incidents.models import Service, SeverityLevel
from incidents.warroom.services import checklist_item_set_done

from .conftest import HOUR, MINUTE, MONDAY_MORNING, checklist, levels_reached, recipients

pytestmark = pytest.mark.django_db


@pytest.fixture
def carbot(load_preset):
    return load_preset("carbot-resolution")


@pytest.fixture
def repository(make_user):
    return Service.objects.create(
        name="CarBot API", slug="carbot-api",
        owner=make_user("Responder", username="owner"),
        technical_lead=make_user("Incident manager", username="tech-lead"))


def test_the_preset_has_the_documents_levels_and_targets(carbot):
    targets = {s.code: (s.response_target_text, s.resolution_target_text)
               for s in SeverityLevel.objects.active()}
    assert targets == {"P0": ("1h", "4h"), "P1": ("4h", "1d"),
                       "P2": ("no SLA", "no SLA"), "P3": ("no SLA", "no SLA")}


def test_loading_it_twice_changes_nothing(carbot, load_preset):
    assert load_preset("carbot-resolution").changed == []


def test_p0_assigns_owner_and_lead_and_breaches_its_clocks_at_hour_1_and_4(
        carbot, level, declare_at, repository):
    incident, walk = declare_at(MONDAY_MORNING, level("P0"), services=[repository],
                                revenue_impact_per_hour=1200)

    incident.refresh_from_db()
    holders = {a.role.code: a.user.username for a in incident.role_assignments.all()}
    assert holders == {"repository-owner": "owner", "technical-lead": "tech-lead"}
    assert "sla.response.breached" not in walk.reasons(59 * MINUTE)
    assert "sla.response.breached" in walk.reasons(HOUR)
    assert "sla.resolution.breached" not in walk.reasons(4 * HOUR - MINUTE)
    assert "sla.resolution.breached" in walk.reasons(4 * HOUR)


def test_p0_checklist_windows_remind_at_hours_1_2_4_6_and_8(carbot, level, declare_at,
                                                             repository, make_user):
    manager = make_user("Incident manager", username="im")
    incident, walk = declare_at(MONDAY_MORNING, level("P0"), services=[repository])
    services.incident_assign_role(incident, by=manager, role="incident_manager", user=manager)

    reminders = {}
    for hours in (1, 2, 4, 6, 8):
        before = walk.to(hours * HOUR - MINUTE)
        assert not recipients(before, "checklist.window_ended")
        reminders[hours] = recipients(walk.to(hours * HOUR), "checklist.window_ended")
    assert all("im" in people for people in reminders.values()), reminders


def test_p0_quality_gates_hold_resolve_and_success_criteria_hold_close(
        carbot, level, declare_at, repository, make_user):
    manager = make_user("Incident manager", username="im")
    incident, walk = declare_at(MONDAY_MORNING, level("P0"), services=[repository])
    with walk.at(10 * MINUTE):
        services.incident_triage(incident, by=manager, incident_manager=manager)
        with pytest.raises(ActionRefused, match="Minimum viable fix"):
            services.incident_resolve(incident, by=manager, summary="Rolled back")
        items = checklist(incident)
        for text, item in items.items():
            if item.kind == "quality_gate":
                checklist_item_set_done(item, by=manager, done=True)
        services.incident_resolve(incident, by=manager, summary="Rolled back")
        with pytest.raises(ActionRefused, match="Customer access rate"):
            services.incident_close(incident, by=manager)


def test_p3_is_backlog_without_any_clock(carbot, level, declare_at):
    incident, walk = declare_at(MONDAY_MORNING, level("P3"))

    assert not SlaClock.objects.filter(incident=incident).exists()
    assert not {r for r in walk.reasons(60 * 24 * HOUR) if r.startswith("sla.")}
    assert "Quarterly review: business value, technical debt, market opportunity, resources" in (
        checklist(incident))


def test_p0_escalates_at_hours_2_3_4_and_6(carbot, level, declare_at, repository, make_user):
    cto = make_user("Manager", username="cto")
    incident, walk = declare_at(MONDAY_MORNING, level("P0"), services=[repository])

    for hours, reached in ((2, [3]), (3, [3, 3]), (4, [3, 3, 4]), (6, [3, 3, 4, 4])):
        walk.to(hours * HOUR - MINUTE)
        assert [n for _ladder, n in levels_reached(incident)] == reached[:-1], hours
        told = walk.to(hours * HOUR)
        assert [n for _ladder, n in levels_reached(incident)] == reached, hours
    assert "cto" in recipients(walk.fired, "escalation")


def test_p1_escalates_at_hours_12_18_24_and_36(carbot, level, declare_at):
    incident, walk = declare_at(MONDAY_MORNING, level("P1"))

    for hours, count in ((12, 1), (18, 2), (24, 3), (36, 4)):
        walk.to(hours * HOUR - MINUTE)
        assert len(levels_reached(incident)) == count - 1, hours
        walk.to(hours * HOUR)
        assert len(levels_reached(incident)) == count, hours
    assert [n for _ladder, n in levels_reached(incident)] == [2, 2, 3, 4]
