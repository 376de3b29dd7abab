"""Report figures that a one-line slip used to change without any test noticing (issue 16):
each test below was seen to fail with its rule broken. Times are Europe/Amsterdam."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation.deadlines import deadlines_sweep
from escalation.models import SlaClock
from escalation.services import sla_outcomes_record
from incidents import services, severity_style
from incidents.models import Incident, IncidentParticipant, SeverityLevel
from incidents.reports import metrics, sources, tables
from incidents.reports.periods import ReportPeriod
from postmortems.models import ActionItem, PostMortem

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


# --- Figures pinned by mutation testing (issue 16): each was changed by mutmut and no test
# noticed. Incidents are written straight to the table; "now" is NOW unless a test says.


def test_the_report_names_its_filters_in_words_and_keeps_them_in_its_links(
        severities, checkout, incident_types):
    everything = metrics.ReportFilters()
    narrowed = metrics.ReportFilters(severity=severities["P1"], service=checkout,
                                     incident_type=incident_types["technical"])
    assert everything.describe() == "all incidents"
    assert everything.as_query() == {}
    assert narrowed.describe() == "severity P1, service Checkout, type Technical"
    assert narrowed.as_query() == {"severity": "P1", "service": "checkout", "type": "technical"}


def test_an_unanswered_incident_is_pending_at_its_due_time_and_breached_just_after(make_incident):
    # P1: respond within 4 hours, so due at 14:00.
    make_incident("P1", declared="2026-11-10 10:00")
    with time_machine.travel(at("2026-11-10 14:00"), tick=False):
        on_time = metrics.report_summary(NOVEMBER).declared
    with time_machine.travel(at("2026-11-10 14:00:01"), tick=False):
        late = metrics.report_summary(NOVEMBER).declared
    assert (on_time["response_pending"], on_time["response_breached"]) == (1, 0)
    assert (late["response_pending"], late["response_breached"]) == (0, 1)


def test_an_immediate_response_target_is_neither_met_nor_breached(make_incident):
    immediate = SeverityLevel.objects.create(code="P5", name="Page now", rank=5,
                                             response_target=timedelta(0),
                                             resolution_target=timedelta(hours=4))
    incident = make_incident("P1", declared="2026-11-10 10:00", acknowledged="2026-11-10 10:30",
                             resolved="2026-11-10 12:00")
    Incident.objects.filter(pk=incident.pk).update(severity=immediate)
    declared = summary(NOVEMBER).declared
    assert declared["response_no_sla"] == 1
    assert (declared["response_met"], declared["response_breached"]) == (0, 0)
    assert declared["response_compliance_pct"] is None
    assert (declared["resolution_met"], declared["resolution_no_sla"]) == (1, 0)


def test_customers_affected_add_up_and_customer_facing_incidents_are_counted(make_incident):
    make_incident("P1", declared="2026-11-03 10:00", customers_affected=120,
                  is_customer_facing=True)
    make_incident("P2", declared="2026-11-04 10:00", customers_affected=None)
    make_incident("P1", declared="2026-11-20 10:00", customers_affected=30)
    declared = summary(NOVEMBER).declared
    assert declared["customers_affected"] == 150
    assert declared["customer_facing"] == 1


def test_no_customer_counts_at_all_show_as_none_rather_than_zero_customers(make_incident):
    make_incident("P1", declared="2026-11-03 10:00", customers_affected=None)
    assert summary(NOVEMBER).declared["customers_affected"] is None


def test_revenue_lost_is_rounded_half_up_to_the_cent_per_currency(make_incident):
    # 1 per hour for 18 seconds is 0.005: half a cent rounds up. 36 USD per hour for 10 minutes.
    make_incident("P1", detected="2026-11-03 10:00:00", declared="2026-11-03 10:00:00",
                  acknowledged="2026-11-03 10:00:10", resolved="2026-11-03 10:00:18",
                  revenue_impact_per_hour=1)
    make_incident("P1", declared="2026-11-04 10:00", acknowledged="2026-11-04 10:05",
                  resolved="2026-11-04 10:10", revenue_impact_per_hour=36, currency="USD")
    make_incident("P1", declared="2026-11-05 10:00", currency="GBP")  # no revenue impact
    assert summary(NOVEMBER).revenue_lost == [("EUR", Decimal("0.01")), ("USD", Decimal("6.00"))]


def test_weekly_charts_count_each_week_by_severity_and_average_its_resolutions(
        make_incident, severities):
    # Week of 2 Nov: two P1s (one counted in euros, one in dollars), resolved in 1 h and 1 h 40:
    # MTTR 1 h 20 = 1.33 h; resolution met once (P1: a day), and once breached (week of 9 Nov).
    make_incident("P1", declared="2026-11-02 10:00", acknowledged="2026-11-02 10:10",
                  resolved="2026-11-02 11:00")
    make_incident("P1", declared="2026-11-03 10:00", acknowledged="2026-11-03 10:10",
                  resolved="2026-11-03 11:40", currency="USD")
    make_incident("P0", declared="2026-11-10 10:00", acknowledged="2026-11-10 10:10",
                  resolved="2026-11-10 20:00")
    with time_machine.travel(NOW, tick=False):
        trends = metrics.weekly_trends(NOVEMBER)
        only_p0 = metrics.weekly_trends(NOVEMBER, metrics.ReportFilters(severity=severities["P0"]))
    assert trends["labels"] == ["26 Oct 2026", "02 Nov 2026", "09 Nov 2026", "16 Nov 2026",
                                "23 Nov 2026", "30 Nov 2026"]
    assert trends["by_severity"]["P1"] == [0, 2, 0, 0, 0, 0]
    assert trends["resolved"] == [0, 2, 1, 0, 0, 0]
    assert trends["mttr_hours"] == [None, 1.33, 10.0, None, None, None]
    assert trends["resolution_compliance"] == [None, Decimal("100.0"), Decimal("0.0"), None,
                                               None, None]
    assert trends["severity_colours"]["P0"] == severity_style.colour(severities["P0"].rank)
    assert trends["severity_colours"]["P0"] != trends["severity_colours"]["P1"]
    assert list(only_p0["by_severity"]) == ["P0"]
    assert only_p0["totals"] == [0, 0, 1, 0, 0, 0]


def test_the_breach_table_shows_the_due_and_achieved_times_each_breach_was_judged_on(
        make_incident):
    # A P1 whose response clock (due in 30 minutes) the sweep breached, met by triage at 09:00
    # though the pager acknowledged at 08:50; and a P1 without clocks, acknowledged an hour
    # after its 4 hours: its own times. Both resolved in time.
    clocked = make_incident("P1", declared="2026-11-10 08:00", acknowledged="2026-11-10 08:50",
                            resolved="2026-11-10 12:00")
    response = SlaClock.objects.create(
        incident=clocked, kind="response", target=timedelta(minutes=30),
        started_at=clocked.declared_at, due_at=at("2026-11-10 08:30"),
        at_risk_at=at("2026-11-10 08:20"), met_at=at("2026-11-10 09:00"),
        breached_at=at("2026-11-10 08:30"))
    resolution = SlaClock.objects.create(
        incident=clocked, kind="resolution", target=timedelta(days=1),
        started_at=clocked.declared_at, due_at=at("2026-11-11 08:00"),
        at_risk_at=at("2026-11-11 02:00"), met_at=at("2026-11-10 12:00"))
    sla_outcomes_record([response, resolution])
    make_incident("P1", declared="2026-11-12 10:00", acknowledged="2026-11-12 15:00",
                  resolved="2026-11-12 16:00")
    with time_machine.travel(NOW, tick=False):
        rows = list(tables.breach_table(NOVEMBER, metrics.ReportFilters()).rows)
    assert [row[3:8] for row in rows] == [
        ["Response", Decimal("4.00"), at("2026-11-10 08:30"), at("2026-11-10 09:00"),
         Decimal("0.50")],
        ["Response", Decimal("4.00"), at("2026-11-12 14:00"), at("2026-11-12 15:00"),
         Decimal("1.00")],
    ]


def test_a_report_built_for_a_moment_judges_and_costs_its_rows_at_that_moment(make_incident):
    """The dashboard lists its rows as of its (possibly cached) figures' moment, so the rows
    agree with the figures beside them: an open P1 declared at 10:00 is pending at 13:00 with
    3 hours of revenue lost, whatever the clock says when the rows are read."""
    make_incident("P1", declared="2026-11-10 10:00", revenue_impact_per_hour=100)
    moment = at("2026-11-10 13:00")
    with time_machine.travel(NOW, tick=False):
        breaches = list(tables.breach_table(NOVEMBER, metrics.ReportFilters(), moment).rows)
        costliest = metrics.costliest_incidents(NOVEMBER, now=moment)
        made = metrics.report_summary(NOVEMBER, now=moment)
        table = tables.incident_table(NOVEMBER, metrics.ReportFilters(), moment)
        listed = [dict(zip([header for header, _ in table.columns], row, strict=True))
                  for row in table.rows]
    assert breaches == []
    assert made.revenue_lost == [("EUR", Decimal("300.00"))]
    assert (made.declared["response_pending"], made.declared["response_breached"]) == (1, 0)
    assert [(row["Duration (h)"], row["Revenue lost"], row["Response SLA"]) for row in listed] == [
        (Decimal("3.00"), Decimal("300.00"), "Pending")]
    assert [(row.revenue_lost, row.response_sla, row.resolution_sla) for row in costliest] == [
        (300.0, "pending", "pending")]


def test_the_costliest_incidents_are_those_with_most_revenue_lost_then_most_customers(
        make_incident):
    make_incident("P1", declared="2026-11-02 10:00", resolved="2026-11-02 12:00",
                  acknowledged="2026-11-02 10:10", revenue_impact_per_hour=50, title="cheap")
    make_incident("P1", declared="2026-11-03 10:00", resolved="2026-11-03 12:00",
                  acknowledged="2026-11-03 10:10", revenue_impact_per_hour=500, title="dear")
    make_incident("P1", declared="2026-11-04 10:00", resolved="2026-11-04 12:00",
                  acknowledged="2026-11-04 10:10", customers_affected=900, title="many")
    make_incident("P1", declared="2026-11-05 10:00", resolved="2026-11-05 12:00",
                  acknowledged="2026-11-05 10:10", customers_affected=9, title="few")
    make_incident("P1", declared="2026-11-06 10:00", customers_affected=0, title="no impact")
    with time_machine.travel(NOW, tick=False):
        costliest = metrics.costliest_incidents(NOVEMBER)
        top_two = metrics.costliest_incidents(NOVEMBER, limit=2)
    assert [row.title for row in costliest] == ["dear", "cheap", "many", "few"]
    assert [(row.response_sla, row.resolution_sla) for row in costliest] == [("met", "met")] * 4
    assert [row.title for row in top_two] == ["dear", "cheap"]


def test_the_heading_names_the_period_the_filters_and_the_moment_the_figures_were_made(
        severities):
    filters = metrics.ReportFilters(severity=severities["P1"])
    with time_machine.travel(NOW, tick=False):
        made = metrics.report_summary(NOVEMBER, filters)
    assert made.period.label == "Sun 01 Nov 2026 – Mon 30 Nov 2026"
    assert made.filters.describe() == "severity P1"
    assert made.generated_at == NOW


def test_the_previous_period_counts_its_own_recurring_incidents_and_cancellations_apart(
        make_incident, checkout, incident_types):
    # October 2-31 is November's previous period: Checkout had three technical incidents, two
    # of them recurrences. A cancellation in October and a duplicate in December are not
    # November's.
    for day in ("05", "12", "19"):
        make_incident("P2", declared=f"2026-10-{day} 10:00", services=[checkout],
                      incident_type=incident_types["technical"])
    make_incident("P2", declared="2026-10-20 10:00", state=Incident.State.CANCELLED)
    make_incident("P2", declared="2026-12-01 00:00", state=Incident.State.DUPLICATE)
    made = summary(NOVEMBER)
    assert made.previous["recurring_incidents"] == 2
    assert made.recurring_incidents == 0
    assert made.not_counted == 0


def test_recurring_issues_list_the_most_repeated_first_then_by_service_and_type(
        make_incident, checkout, search_service, incident_types):
    def incidents(times, service, kind, day):
        for hour in range(times):
            make_incident("P2", declared=f"2026-11-{day} 1{hour}:00", services=[service],
                          incident_type=incident_types[kind])

    kinds = ("technical", "security", "process", "business", "infrastructure")
    for day, kind in enumerate(kinds, start=2):
        incidents(2, checkout, kind, f"{day:02d}")
    incidents(2, search_service, "security", "09")
    incidents(3, search_service, "technical", "10")
    assert [(row["service"], row["incident_type"], row["count"])
            for row in summary(NOVEMBER).recurring] == [
        ("Search", "Technical", 3), ("Checkout", "Business", 2), ("Checkout", "Infrastructure", 2),
        ("Checkout", "Process", 2), ("Checkout", "Security", 2), ("Checkout", "Technical", 2),
        ("Search", "Security", 2)]


def test_a_portal_without_escalations_or_post_mortems_says_those_figures_are_not_recorded(
        make_incident, monkeypatch):
    make_incident("P1", declared="2026-11-03 10:00")
    full = summary(NOVEMBER)
    for lookup in ("escalation_event_model", "postmortem_model", "action_item_model"):
        monkeypatch.setattr(sources, lookup, lambda: None)
    bare = summary(NOVEMBER)
    assert full.unavailable == []
    assert bare.unavailable == ["escalations", "post-mortems", "action items"]
    assert [(figure.label, figure.value) for figure in tables.summary_figures(bare)][-3:] == [
        ("Escalations", "not recorded yet"), ("Post-mortems", "not recorded yet"),
        ("Action items", "not recorded yet")]


def test_action_items_are_overdue_as_of_the_moment_the_report_is_made_for(
        make_incident, manager):
    incident = make_incident("P1", declared="2026-10-20 10:00")
    review = PostMortem.objects.create(incident=incident, title=incident.title,
                                       due_at=at("2026-10-22 10:00"))
    ActionItem.objects.create(postmortem=review, title="Add an alert", owner=manager,
                              due_date=date(2026, 11, 25), state="open")
    with time_machine.travel(NOW, tick=False):
        before_due = metrics.report_summary(NOVEMBER, now=at("2026-11-24 12:00"))
        after_due = metrics.report_summary(NOVEMBER)
    assert before_due.action_items["overdue"] == 0
    assert after_due.action_items["overdue"] == 1


def test_reviews_and_action_items_count_only_when_due_within_the_period_and_by_its_moment(
        make_incident, manager):
    def review(due, published=None):
        incident = make_incident("P1", declared="2026-10-20 10:00")
        return PostMortem.objects.create(
            incident=incident, title=incident.title, due_at=at(due),
            state=PostMortem.State.PUBLISHED if published else PostMortem.State.DRAFTING,
            published_at=at(published) if published else None)

    review("2026-10-31 23:59", published="2026-10-31 12:00")  # October's
    on_time = review("2026-11-10 10:00", published="2026-11-10 09:00")
    review("2026-11-25 10:00")  # due after the moment the report is made for
    review("2026-12-01 00:00")  # December's, though due before the report is read
    for due in (date(2026, 10, 31), date(2026, 11, 10), date(2026, 12, 1)):
        ActionItem.objects.create(postmortem=on_time, title=f"Fix {due}", owner=manager,
                                  due_date=due, state="open")
    with time_machine.travel(at("2026-12-05 12:00"), tick=False):
        made_on_20_november = metrics.report_summary(NOVEMBER, now=at("2026-11-20 12:00"))
        made_now = metrics.report_summary(NOVEMBER)
    assert made_on_20_november.postmortems["due"] == 1
    assert (made_now.postmortems["due"], made_now.postmortems["overdue"]) == (2, 1)
    assert made_now.action_items["total"] == 1


def test_a_period_without_escalations_names_no_highest_level(make_incident):
    make_incident("P1", declared="2026-11-03 10:00")
    figures = {figure.label: figure.value for figure in tables.summary_figures(summary(NOVEMBER))}
    assert (figures["Escalations"], figures["Highest escalation level"]) == (0, "")


def test_an_action_item_closed_after_local_midnight_is_closed_the_next_day(
        make_incident, manager):
    # 00:30 on 11 November in Amsterdam is still 10 November in UTC: late for a 10 November item.
    incident = make_incident("P1", declared="2026-10-20 10:00")
    review = PostMortem.objects.create(incident=incident, title=incident.title,
                                       due_at=at("2026-10-22 10:00"))
    ActionItem.objects.create(postmortem=review, title="Add an alert", owner=manager,
                              due_date=date(2026, 11, 10), state="done",
                              completed_at=at("2026-11-11 00:30"))
    items = summary(NOVEMBER).action_items
    assert (items["closed"], items["closed_on_time"], items["on_time_pct"]) == (1, 0, 0)


def test_an_incident_resolved_before_the_period_is_not_among_its_resolutions(make_incident):
    make_incident("P1", declared="2026-10-30 10:00", acknowledged="2026-10-30 10:10",
                  resolved="2026-10-31 23:59")
    make_incident("P1", declared="2026-10-31 10:00", acknowledged="2026-10-31 10:10",
                  resolved="2026-11-01 00:00")
    resolved = summary(NOVEMBER).resolved
    assert resolved["resolved"] == 1
    assert resolved["mttr_seconds"] == 14 * 3600


def test_compliance_rounds_half_a_tenth_up(make_incident):
    # One P1 of sixteen answered within its 4 hours: 6.25% met, shown as 6.3.
    make_incident("P1", declared="2026-11-02 10:00", acknowledged="2026-11-02 11:00")
    for day in range(3, 18):
        make_incident("P1", declared=f"2026-11-{day:02d} 10:00")
    declared = summary(NOVEMBER).declared
    assert (declared["response_met"], declared["response_breached"]) == (1, 15)
    assert declared["response_compliance_pct"] == Decimal("6.3")


def test_the_incident_table_shows_each_incidents_times_to_acknowledge_and_resolve(make_incident):
    # Acknowledged 30 minutes after declaration; resolved 4 hours after detection.
    make_incident("P1", detected="2026-11-10 09:30", declared="2026-11-10 10:00",
                  acknowledged="2026-11-10 10:30", resolved="2026-11-10 13:30")
    with time_machine.travel(NOW, tick=False):
        table = tables.incident_table(NOVEMBER, metrics.ReportFilters())
        listed = [dict(zip([header for header, _ in table.columns], row, strict=True))
                  for row in table.rows]
    assert [(row["Time to acknowledge (h)"], row["Time to resolve (h)"]) for row in listed] == [
        (Decimal("0.50"), Decimal("4.00"))]


def test_the_costliest_incidents_are_ten_by_default_and_one_customer_is_an_impact(
        make_incident):
    for n in range(11):
        make_incident("P2", declared=f"2026-11-{n + 2:02d} 10:00",
                      resolved=f"2026-11-{n + 2:02d} 11:00", revenue_impact_per_hour=100 + n,
                      title=f"paid {n}")
    make_incident("P3", declared="2026-11-20 10:00", resolved="2026-11-20 11:00",
                  customers_affected=1, title="one customer")
    with time_machine.travel(NOW, tick=False):
        costliest = metrics.costliest_incidents(NOVEMBER)
        everything = metrics.costliest_incidents(NOVEMBER, limit=20)
    assert [row.title for row in costliest] == [f"paid {n}" for n in range(10, 0, -1)]
    assert [row.title for row in everything][-2:] == ["paid 0", "one customer"]


def test_among_equal_losses_the_incident_with_customers_affected_comes_first(make_incident):
    make_incident("P1", declared="2026-11-02 10:00", resolved="2026-11-02 11:00",
                  revenue_impact_per_hour=100, title="customers not known")
    make_incident("P1", declared="2026-11-03 10:00", resolved="2026-11-03 11:00",
                  revenue_impact_per_hour=100, customers_affected=5, title="five customers")
    with time_machine.travel(NOW, tick=False):
        costliest = metrics.costliest_incidents(NOVEMBER)
    assert [row.title for row in costliest] == ["five customers", "customers not known"]


def test_the_top_of_the_costliest_is_chosen_by_the_loss_at_the_reports_moment(make_incident):
    """At 13:00 the long outage has lost 1,500 and the steep one 1,000; by now the steep one
    has lost more, but a report made for 13:00 names the long one."""
    make_incident("P1", declared="2026-11-10 08:00", revenue_impact_per_hour=300, title="long")
    make_incident("P1", declared="2026-11-10 12:00", revenue_impact_per_hour=1000, title="steep")
    with time_machine.travel(NOW, tick=False):
        top = metrics.costliest_incidents(NOVEMBER, now=at("2026-11-10 13:00"), limit=1)
    assert [(row.title, row.revenue_lost) for row in top] == [("long", 1500.0)]


def test_the_costliest_incidents_say_which_ones_the_reader_may_name(make_incident, make_user):
    secret = make_incident("P1", declared="2026-11-10 10:00", resolved="2026-11-10 12:00",
                           revenue_impact_per_hour=500, is_restricted=True, title="Secret merger")
    insider, outsider = make_user("Product manager"), make_user("Product manager")
    IncidentParticipant.objects.create(incident=secret, user=insider,
                                       reason=IncidentParticipant.Reason.RESPONDER)
    with time_machine.travel(NOW, tick=False):
        may_name = {reader: [row.viewer_may_see for row in metrics.costliest_incidents(
            NOVEMBER, metrics.ReportFilters(viewer=reader))] for reader in (insider, outsider)}
    assert may_name == {insider: [True], outsider: [False]}


def test_the_costliest_incidents_and_their_severities_take_as_many_queries_for_three_as_for_one(
        make_incident):
    def queries_to_list_them() -> int:
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as made:
            [row.severity.code for row in metrics.costliest_incidents(NOVEMBER)]
        return len(made)

    make_incident("P1", declared="2026-11-02 10:00", revenue_impact_per_hour=100)
    one = queries_to_list_them()
    make_incident("P2", declared="2026-11-03 10:00", revenue_impact_per_hour=200)
    make_incident("P3", declared="2026-11-04 10:00", customers_affected=3)
    assert queries_to_list_them() == one
