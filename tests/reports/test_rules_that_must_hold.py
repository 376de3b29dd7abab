"""Report figures that a one-line slip used to change without any test noticing (issue 16):
each test below was seen to fail with its rule broken. Times are Europe/Amsterdam."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine

from escalation.deadlines import deadlines_sweep
from escalation.models import SlaClock
from incidents import services
from incidents.reports import metrics
from incidents.reports.periods import ReportPeriod

from .conftest import at

pytestmark = pytest.mark.django_db

NOVEMBER = ReportPeriod(date(2026, 11, 1), date(2026, 11, 30))
DECEMBER = ReportPeriod(date(2026, 12, 1), date(2026, 12, 31))
NOW = at("2026-12-02 12:00")


def summary(period: ReportPeriod) -> metrics.Summary:
    with time_machine.travel(NOW, tick=False):
        return metrics.report_summary(period)


def test_what_is_declared_or_resolved_at_midnight_after_the_last_day_is_in_the_next_period(
    make_incident
):
    make_incident("P1", declared="2026-11-30 23:59:59", acknowledged="2026-12-01 00:10",
                  resolved="2026-12-01 00:00")
    make_incident("P1", declared="2026-12-01 00:00", acknowledged="2026-12-01 00:10",
                  resolved="2026-12-01 02:00")
    november, december = summary(NOVEMBER), summary(DECEMBER)
    assert november.declared["incidents"] == 1
    assert december.declared["incidents"] == 1
    assert november.resolved["resolved"] == 0
    assert december.resolved["resolved"] == 2


def test_a_response_made_exactly_at_its_due_time_counts_as_met(make_incident):
    # P1: respond within 4 hours.
    make_incident("P1", declared="2026-11-10 10:00", acknowledged="2026-11-10 14:00",
                  resolved="2026-11-10 15:00")
    declared = summary(NOVEMBER).declared
    assert (declared["response_met"], declared["response_breached"]) == (1, 0)
    assert declared["response_compliance_pct"] == 100


def test_a_breach_the_sweep_recorded_stays_a_breach_on_the_report(declare, incident_manager):
    """Nobody acknowledged or triaged the P1 within the response SLA's four hours: the sweep
    recorded the breach and told people. Triage an hour later meets the clock late; the report
    counts the breach everyone was told about, not a met response."""
    start = at("2026-11-10 10:00")
    with time_machine.travel(start, tick=False):
        incident = declare(severity="P1")
        incident = services.incident_assign_role(incident, by=incident_manager,
                                                 role="incident_manager", user=incident_manager)
    with time_machine.travel(start + timedelta(hours=4), tick=False):
        deadlines_sweep()
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        services.incident_triage(incident, by=incident_manager)
    clock = SlaClock.objects.get(incident=incident, kind="response")
    assert clock.breached_at == start + timedelta(hours=4)
    assert clock.met_at == start + timedelta(hours=5)
    declared = summary(NOVEMBER).declared
    assert (declared["response_met"], declared["response_breached"]) == (0, 1)
    assert declared["response_compliance_pct"] == 0


def test_a_response_acknowledged_in_time_is_met_on_the_report(declare, incident_manager):
    """The paging tool acknowledged the P1 after three hours and triage came after the four
    hours were up: the response was in time, so the sweep breached nothing and the report
    counts it met."""
    start = at("2026-11-10 10:00")
    with time_machine.travel(start, tick=False):
        incident = declare(severity="P1")
        incident = services.incident_assign_role(incident, by=incident_manager,
                                                 role="incident_manager", user=incident_manager)
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        incident = services.incident_acknowledge(incident, by=incident_manager)
    with time_machine.travel(start + timedelta(hours=4), tick=False):
        deadlines_sweep()
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        services.incident_triage(incident, by=incident_manager)
    declared = summary(NOVEMBER).declared
    assert (declared["response_met"], declared["response_breached"]) == (1, 0)
