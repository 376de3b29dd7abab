"""Each incident's SLA outcome is stored by the clock services when it is known, and the
reports count those stored outcomes (issue 14): incidents built through the real services,
times Europe/Amsterdam, P1 = respond within 4 hours and resolve within a day."""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.db import connection

from escalation.deadlines import deadlines_sweep
from escalation.models import SlaClock, SlaOutcome
from incidents import services
from incidents.models import ReferenceCounter, SeverityLevel
from incidents.reports import metrics
from incidents.reports.periods import ReportPeriod

from .conftest import at

pytestmark = pytest.mark.django_db

NOVEMBER = ReportPeriod(date(2026, 11, 1), date(2026, 11, 30))
NOW = at("2026-12-02 12:00")
MET, BREACHED, NO_SLA = "met", "breached", "no_sla"


def stored(incident) -> tuple:
    row = SlaOutcome.objects.filter(incident=incident).first()
    return None if row is None else (row.response, row.resolution)


@pytest.fixture
def no_sla_level(db):
    return SeverityLevel.objects.create(code="P9", name="Backlog", rank=9)


@pytest.fixture
def lived(declare, make_incident, incident_manager, no_sla_level):
    """Seven incidents, each one way an SLA comes out, in the order they happened."""
    # Declared references start past the ones the table-writing factory makes up.
    ReferenceCounter.objects.update_or_create(year=2026, defaults={"last_number": 1000})

    def managed(when, severity="P1"):
        with time_machine.travel(at(when), tick=False):
            incident = declare(severity=severity)
            return services.incident_assign_role(incident, by=incident_manager,
                                                 role="incident_manager", user=incident_manager)

    def then(when, action, incident, **kwargs):
        with time_machine.travel(at(when), tick=False):
            return action(incident, by=incident_manager, **kwargs)

    met = managed("2026-11-02 10:00")
    then("2026-11-02 11:00", services.incident_triage, met)
    then("2026-11-02 15:00", services.incident_resolve, met, summary="Rolled back.")

    swept = managed("2026-11-03 10:00")  # nobody responds within the four hours
    with time_machine.travel(at("2026-11-03 14:00"), tick=False):
        deadlines_sweep()

    stopped = managed("2026-11-04 10:00")
    then("2026-11-04 11:00", services.incident_change_severity, stopped,
         severity=no_sla_level, reason="Not urgent after all")

    on_the_dot = managed("2026-11-05 10:00")
    then("2026-11-05 14:00", services.incident_acknowledge, on_the_dot)

    # P2 counts business days: one day from Friday 16:00 is Monday 16:00 (24x7, Saturday).
    business_hours = managed("2026-11-06 16:00", severity="P2")
    then("2026-11-09 10:00", services.incident_acknowledge, business_hours)

    pending = managed("2026-11-30 10:00", severity="P3")  # 7 days to respond, 30 to resolve

    # Written straight to the table (no clocks): its own times against P1's targets.
    no_clock = make_incident("P1", declared="2026-11-06 10:00", acknowledged="2026-11-06 11:00")
    return dict(met=met, swept=swept, stopped=stopped, on_the_dot=on_the_dot,
                business_hours=business_hours, pending=pending, no_clock=no_clock)


def test_the_clock_services_store_each_outcome_when_it_is_known(lived):
    assert stored(lived["met"]) == (MET, MET)
    assert stored(lived["swept"]) == (BREACHED, None)  # resolution still running
    assert stored(lived["stopped"]) == (NO_SLA, NO_SLA)
    assert stored(lived["on_the_dot"]) == (MET, None)
    assert stored(lived["business_hours"]) == (MET, None)
    assert stored(lived["pending"]) == (None, None)
    assert stored(lived["no_clock"]) is None
    # Due times are the clocks' own: P3 counts business days (7 from Monday 30 November).
    due = SlaOutcome.objects.get(incident=lived["pending"])
    clocks = {clock.kind: clock.due_at for clock in lived["pending"].sla_clocks.all()}
    assert due.response_due_at == clocks["response"] == at("2026-12-09 10:00")
    assert due.resolution_due_at == clocks["resolution"]


def test_the_report_counts_the_stored_outcomes_and_judges_the_rest_on_due_time_and_own_times(
        lived):
    with time_machine.travel(NOW, tick=False):
        summary = metrics.report_summary(NOVEMBER)
        trends = metrics.weekly_trends(NOVEMBER)
    declared = summary.declared
    # Response: met, swept, no SLA, met on the dot, met in business hours (its clock, not
    # 24 hours, decides), pending, met on its own times.
    assert [declared[f"response_{r}"] for r in ("met", "breached", "pending", "no_sla")] == [
        4, 1, 1, 1]
    # Resolution: met; swept, on the dot and business hours still running past their due
    # time; no SLA; pending; no clock and unresolved a day after declaration.
    assert [declared[f"resolution_{r}"] for r in ("met", "breached", "pending", "no_sla")] == [
        1, 4, 1, 1]
    assert declared["response_compliance_pct"] == 80
    p1 = next(row for row in summary.by_severity if row["severity__code"] == "P1")
    assert (p1["incidents"], p1["response_met"], p1["response_breached"]) == (4, 3, 1)
    # Week of 2 Nov: met, swept, on the dot, business hours and no clock responded (the
    # stopped one counts neither way): 4 of 5 met.
    assert trends["response_compliance"][1] == 80


def test_existing_clocks_fill_the_stored_outcomes_when_migrating(make_incident):
    incidents = [make_incident("P1", declared=f"2026-11-0{n} 10:00") for n in range(1, 5)]
    for incident, met, breached, stopped in (
            (incidents[0], "14:00", None, None),   # met exactly at its due time
            (incidents[1], "15:00", "14:00", None),  # breached by the sweep, met later
            (incidents[2], None, None, "11:00"),   # stopped: the level has no such SLA
            (incidents[3], None, None, None)):     # still running
        day = incident.declared_at.date().isoformat()
        SlaClock.objects.create(
            incident=incident, kind="response", target=timedelta(hours=4),
            started_at=incident.declared_at, due_at=at(f"{day} 14:00"),
            at_risk_at=at(f"{day} 13:00"), met_at=at(f"{day} {met}") if met else None,
            breached_at=at(f"{day} {breached}") if breached else None,
            stopped_at=at(f"{day} {stopped}") if stopped else None)
    migration = importlib.import_module("escalation.migrations.0017_sla_outcome_fill")
    migration.fill(apps, SimpleNamespace(connection=connection))
    assert [stored(incident) for incident in incidents] == [
        (MET, None), (BREACHED, None), (NO_SLA, None), (None, None)]
    assert SlaOutcome.objects.get(incident=incidents[3]).response_due_at == at("2026-11-04 14:00")
