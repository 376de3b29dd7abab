"""Seed 004, issue escalation procedures, run end to end as its document says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from incidents.models import IncidentType, SeverityLevel

from .conftest import HOUR, MINUTE, MONDAY_MORNING

pytestmark = pytest.mark.django_db
# Friday 19 June 2026, 15:00 in Amsterdam: two office hours before the weekend.
FRIDAY_AFTERNOON = datetime(2026, 6, 19, 13, 0, tzinfo=UTC)


@pytest.fixture
def escalation_procedures(load_preset):
    return load_preset("escalation-procedures")


def test_levels_p1_to_p4_and_the_five_categories(escalation_procedures):
    levels = SeverityLevel.objects.active().order_by("rank")
    assert [(s.code, s.name) for s in levels] == [
        ("P1", "Critical"), ("P2", "High"), ("P3", "Medium"), ("P4", "Low")]
    types = IncidentType.objects.filter(is_active=True)
    assert [t.code for t in types] == ["technical", "security", "infrastructure", "process",
                                       "business"]
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
