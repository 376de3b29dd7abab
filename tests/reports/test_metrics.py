"""Every headline figure against a November 2026 fixture worked out by hand (times are
Europe/Amsterdam, CET in November; "now" is Tue 1 Dec 2026 12:00).

  A  P0  detected 2 Nov 09:30, declared 10:00, ack 10:30, resolved 13:30   €1000/h, 200 customers,
         Checkout, technical                     response met (0.5 h ≤ 1 h), resolution met (3.5 h ≤ 4 h)
  B  P1  declared 10 Nov 08:00, ack 14:00, resolved 11 Nov 10:00          €100/h, 50 customers,
         Checkout, technical                     response breached (6 h > 4 h), resolution breached (26 h)
  C  P1  declared 20 Nov 09:00, never acknowledged, still open             Search
                                                 both breached (due 13:00 on the 20th / 09:00 on the 21st)
  D  P0  detected 31 Oct 21:00, declared 22:00, ack 22:15, resolved 1 Nov 02:00
                                                 declared in October: only in November's MTTR (5 h)
  E  P1  declared 30 Nov 23:30 (22:30 UTC: still November), ack 1 Dec 00:30, open, €10/h
                                                 response met (exactly 1 h ≤ 4 h), resolution pending
  F  P2  declared 1 Dec 00:30                    after the period
  G  P1  declared 15 Nov, cancelled              not counted, reported apart
"""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident
from incidents.reports import metrics
from incidents.reports.periods import ReportPeriod

from .conftest import at

pytestmark = pytest.mark.django_db

NOVEMBER = ReportPeriod(date(2026, 11, 1), date(2026, 11, 30))
NOW = at("2026-12-01 12:00")


@pytest.fixture
def november(make_incident, checkout, search_service, incident_types):
    return {
        "A": make_incident("P0", detected="2026-11-02 09:30", declared="2026-11-02 10:00",
                           acknowledged="2026-11-02 10:30", resolved="2026-11-02 13:30",
                           revenue_impact_per_hour=1000, customers_affected=200,
                           services=[checkout], incident_type=incident_types["technical"]),
        "B": make_incident("P1", declared="2026-11-10 08:00", acknowledged="2026-11-10 14:00",
                           resolved="2026-11-11 10:00", revenue_impact_per_hour=100,
                           customers_affected=50, services=[checkout],
                           incident_type=incident_types["technical"]),
        "C": make_incident("P1", declared="2026-11-20 09:00", services=[search_service]),
        "D": make_incident("P0", detected="2026-10-31 21:00", declared="2026-10-31 22:00",
                           acknowledged="2026-10-31 22:15", resolved="2026-11-01 02:00"),
        "E": make_incident("P1", declared="2026-11-30 23:30", acknowledged="2026-12-01 00:30",
                           revenue_impact_per_hour=10),
        "F": make_incident("P2", declared="2026-12-01 00:30"),
        "G": make_incident("P1", declared="2026-11-15 10:00", state=Incident.State.CANCELLED),
    }


@pytest.fixture
def summary(november):
    with time_machine.travel(NOW, tick=False):
        return metrics.report_summary(NOVEMBER)


def test_incidents_are_counted_by_the_day_they_were_declared_in_the_organisations_time_zone(summary):
    assert summary.declared["incidents"] == 4  # A, B, C, E
    assert summary.declared["open"] == 2  # C, E
    assert summary.declared["unacknowledged"] == 1  # C
    assert summary.not_counted == 1  # G, cancelled


def test_mean_time_to_acknowledge_averages_acknowledged_incidents_from_declaration(summary):
    # (0.5 h + 6 h + 1 h) / 3 = 2.5 h; C was never acknowledged and is left out.
    assert summary.declared["mtta_seconds"] == pytest.approx(9000)


def test_mean_time_to_resolve_covers_incidents_resolved_in_the_period_from_detection(summary):
    # A 4 h, B 26 h, D 5 h (declared in October, resolved 1 Nov): 35 h / 3.
    assert summary.resolved["resolved"] == 3
    assert summary.resolved["mttr_seconds"] == pytest.approx(35 * 3600 / 3)
    assert summary.resolved["longest_seconds"] == pytest.approx(26 * 3600)


def test_sla_compliance_counts_met_and_breached_and_leaves_pending_undecided(summary):
    declared = summary.declared
    assert (declared["response_met"], declared["response_breached"],
            declared["response_pending"]) == (2, 2, 0)
    assert (declared["resolution_met"], declared["resolution_breached"],
            declared["resolution_pending"]) == (1, 2, 1)
    assert declared["response_compliance_pct"] == Decimal("50.0")
    assert declared["resolution_compliance_pct"] == Decimal("33.3")
    assert declared["breaches"] == 4


def test_revenue_lost_is_hourly_impact_times_hours_until_resolved_or_now(summary):
    # A 1000 × 4 h + B 100 × 26 h + E 10 × 12.5 h (open: 30 Nov 23:30 to 1 Dec 12:00).
    assert summary.revenue_lost == [("EUR", Decimal("6725.00"))]
    assert summary.declared["customers_affected"] == 250


def test_recurring_issues_are_the_same_service_and_type_again_in_the_period(summary):
    assert summary.recurring == [
        {"service": "Checkout", "incident_type": "Technical", "count": 2}
    ]
    assert summary.recurring_incidents == 1


def test_figures_per_severity_add_up_to_the_totals(summary):
    rows = {row["severity__code"]: row for row in summary.by_severity}
    assert rows["P0"]["incidents"] == 1  # A (D was declared in October)
    assert rows["P1"]["incidents"] == 3
    assert rows["P1"]["response_compliance_pct"] == Decimal("33.3")  # E met; B, C breached
    assert rows["P0"]["mtta_seconds"] == pytest.approx(1800)


def test_the_previous_period_is_the_same_length_just_before(summary):
    assert summary.previous["period"] == ReportPeriod(date(2026, 10, 2), date(2026, 10, 31))
    assert summary.previous["incidents"] == 1  # D


def test_filters_narrow_every_figure(november, severities, checkout, incident_types):
    with time_machine.travel(NOW, tick=False):
        by_service = metrics.report_summary(NOVEMBER, metrics.ReportFilters(service=checkout))
        by_severity = metrics.report_summary(
            NOVEMBER, metrics.ReportFilters(severity=severities["P0"]))
        by_type = metrics.report_summary(
            NOVEMBER, metrics.ReportFilters(incident_type=incident_types["security"]))
    assert by_service.declared["incidents"] == 2
    assert by_service.revenue_lost == [("EUR", Decimal("6600.00"))]
    assert by_severity.declared["incidents"] == 1
    assert by_severity.resolved["resolved"] == 2  # A and D
    assert by_type.declared["incidents"] == 0


def test_a_period_without_incidents_has_counts_of_zero_and_no_averages(db):
    with time_machine.travel(NOW, tick=False):
        summary = metrics.report_summary(NOVEMBER)
    assert summary.declared["incidents"] == 0
    assert summary.declared["mtta_seconds"] is None
    assert summary.resolved["mttr_seconds"] is None
    assert summary.declared["response_compliance_pct"] is None
    assert summary.revenue_lost == []
    assert summary.recurring == []


def test_an_open_unacknowledged_incident_is_pending_until_its_response_target_passes(make_incident):
    make_incident("P0", declared="2026-11-20 09:00")
    with time_machine.travel(at("2026-11-20 09:59"), tick=False):
        before = metrics.report_summary(NOVEMBER)
    with time_machine.travel(at("2026-11-20 10:01"), tick=False):
        after = metrics.report_summary(NOVEMBER)
    assert (before.declared["response_pending"], before.declared["response_breached"]) == (1, 0)
    assert (after.declared["response_pending"], after.declared["response_breached"]) == (0, 1)


def test_the_reports_page_gets_the_summary_and_the_weekly_trends_from_one_call(november):
    """What the reports page shows, made in one pass: the same figures as asking for each."""
    with time_machine.travel(NOW, tick=False):
        summary, trends = metrics.summary_and_trends(NOVEMBER)
        assert summary == metrics.report_summary(NOVEMBER)
        assert trends == metrics.weekly_trends(NOVEMBER)
        assert trends["totals"] == [0, 1, 1, 1, 0, 1]
        assert metrics.summary_and_trends(NOVEMBER, trends=False) == (summary, None)


def test_the_summary_alone_does_none_of_the_trends_work(november):
    with time_machine.travel(NOW, tick=False):
        with CaptureQueriesContext(connection) as summary_alone:
            metrics.report_summary(NOVEMBER)
        with CaptureQueriesContext(connection) as with_trends:
            metrics.summary_and_trends(NOVEMBER)
    assert len(summary_alone) < len(with_trends)


def test_weekly_trends_count_by_severity_and_average_resolution_per_week(november):
    with time_machine.travel(NOW, tick=False):
        trends = metrics.weekly_trends(NOVEMBER)
    # ISO weeks overlapping November 2026 start on Mondays 26 Oct ... 30 Nov.
    assert trends["weeks"][0] == date(2026, 10, 26)
    assert trends["weeks"][-1] == date(2026, 11, 30)
    assert len(trends["weeks"]) == 6
    assert trends["by_severity"]["P0"] == [0, 1, 0, 0, 0, 0]  # A, week of 2 Nov
    assert trends["by_severity"]["P1"] == [0, 0, 1, 1, 0, 1]  # B, C, E
    assert trends["totals"] == [0, 1, 1, 1, 0, 1]
    # D resolved 1 Nov (week of 26 Oct, 5 h); A 2 Nov (4 h); B 11 Nov (26 h).
    assert trends["mttr_hours"] == [5.0, 4.0, 26.0, None, None, None]
    assert trends["response_compliance"] == [None, Decimal("100.0"), Decimal("0.0"),
                                              Decimal("0.0"), None, Decimal("100.0")]
