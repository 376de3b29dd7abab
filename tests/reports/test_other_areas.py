"""Figures that come from the other areas' records: SLA clocks, escalation events, post-mortems
and action items. Each fixture is small enough to count by hand (November 2026, Amsterdam;
"now" is Tue 1 Dec 2026 12:00)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from escalation.models import EscalationEvent, EscalationLadder, EscalationLevel, SlaClock
from escalation.services import sla_outcomes_record
from incidents.reports import metrics, tables
from incidents.reports.periods import ReportPeriod
from postmortems.models import ActionItem, PostMortem

from .conftest import at

pytestmark = pytest.mark.django_db

NOVEMBER = ReportPeriod(date(2026, 11, 1), date(2026, 11, 30))
NOW = at("2026-12-01 12:00")


def clock(incident, kind, *, due, met=None, breached=None):
    """A clock as the clock services leave it: with its outcome stored for the reports."""
    started = incident.declared_at
    clock = SlaClock.objects.create(
        incident=incident, kind=kind, target=at(due) - started, started_at=started, due_at=at(due),
        at_risk_at=at(due) - timedelta(minutes=15), met_at=at(met) if met else None,
        breached_at=at(breached) if breached else None,
    )
    sla_outcomes_record([clock])
    return clock


def summary():
    with time_machine.travel(NOW, tick=False):
        return metrics.report_summary(NOVEMBER)


def test_sla_clocks_decide_compliance_when_the_incident_has_them(make_incident):
    # P2 targets are 1 day / 7 days on a business-hours clock: its clock knows the real due times.
    on_business_hours = make_incident("P2", declared="2026-11-06 16:00",
                                      acknowledged="2026-11-09 10:00")
    clock(on_business_hours, "response", due="2026-11-09 16:00", met="2026-11-09 10:00")
    clock(on_business_hours, "resolution", due="2026-11-17 16:00")
    # Met on the incident's own times, but the sweep recorded a breach: the breach stands.
    breached_then_met = make_incident("P1", declared="2026-11-10 08:00",
                                      acknowledged="2026-11-10 09:00")
    clock(breached_then_met, "response", due="2026-11-10 08:30", met="2026-11-10 09:00",
          breached="2026-11-10 08:31")
    # No clocks (declared before the SLA clocks existed): its own times decide.
    make_incident("P0", declared="2026-11-12 08:00", acknowledged="2026-11-12 08:20",
                  resolved="2026-11-12 09:00")

    declared = summary().declared
    # Response: met, breached, met.
    assert (declared["response_met"], declared["response_breached"]) == (2, 1)
    # Resolution: P2 clock not met and due 17 Nov: breached; P1 has no resolution clock, so
    # its own times: due 11 Nov 08:00, unresolved: breached; P0 met.
    assert (declared["resolution_met"], declared["resolution_breached"]) == (1, 2)


def test_a_running_clock_whose_due_time_is_ahead_is_pending(make_incident):
    incident = make_incident("P3", declared="2026-11-25 10:00")
    clock(incident, "response", due="2026-12-02 10:00")
    assert summary().declared["response_pending"] == 1


def _level(number):
    level, _ = EscalationLevel.objects.get_or_create(
        ladder=EscalationLadder.objects.get(is_default=True), number=number,
        defaults={"name": f"Level {number}"})
    return level


def test_escalation_frequency_and_the_highest_level_reached(make_incident):
    twice = make_incident("P0", declared="2026-11-03 10:00")
    once = make_incident("P1", declared="2026-11-04 10:00")
    make_incident("P2", declared="2026-11-05 10:00")
    before = make_incident("P0", declared="2026-10-20 10:00")
    for incident, number in ((twice, 1), (twice, 3), (once, 2), (before, 4)):
        EscalationEvent.objects.create(incident=incident, level=_level(number), source="manual",
                                       reason_category="complexity", at=incident.declared_at)

    figures = summary().escalations
    assert figures["events"] == 3
    assert figures["escalated"] == 2
    assert figures["escalated_pct"] == Decimal("66.7")
    assert figures["highest_level"] == str(_level(3))


def _postmortem(incident, *, due, published=None, waived=False):
    return PostMortem.objects.create(
        incident=incident, title=incident.title, due_at=at(due), waived=waived,
        state=PostMortem.State.PUBLISHED if published else PostMortem.State.DRAFTING,
        published_at=at(published) if published else None,
    )


def test_post_mortems_due_in_the_period_count_as_on_time_when_published_by_their_due_time(
        make_incident):
    incidents = [make_incident("P1", declared=f"2026-11-0{n} 10:00") for n in range(1, 6)]
    _postmortem(incidents[0], due="2026-11-05 10:00", published="2026-11-05 09:00")  # on time
    _postmortem(incidents[1], due="2026-11-06 10:00", published="2026-11-08 10:00")  # late
    _postmortem(incidents[2], due="2026-11-07 10:00")  # overdue, unpublished
    _postmortem(incidents[3], due="2026-11-08 10:00", waived=True)  # owes nothing
    _postmortem(incidents[4], due="2026-12-03 10:00")  # not due yet

    figures = summary().postmortems
    assert (figures["due"], figures["on_time"], figures["late"], figures["overdue"]) == (3, 1, 1, 1)
    assert figures["on_time_pct"] == Decimal("33.3")


def _item(postmortem, owner, *, due, state="open", completed=None):
    return ActionItem.objects.create(
        postmortem=postmortem, title=f"Fix {due}", owner=owner, due_date=date.fromisoformat(due),
        state=state, completed_at=at(completed) if completed else None,
        wont_do_reason="Superseded" if state == "wont_do" else "",
    )


def test_action_item_closure_rate_covers_items_due_in_the_period(make_incident, manager):
    review = _postmortem(make_incident("P1", declared="2026-10-20 10:00"), due="2026-10-22 10:00",
                         published="2026-10-22 09:00")
    _item(review, manager, due="2026-11-10", state="done", completed="2026-11-10 23:00")
    _item(review, manager, due="2026-11-10", state="done", completed="2026-11-11 09:00")
    _item(review, manager, due="2026-11-20", state="wont_do", completed="2026-11-15 09:00")
    _item(review, manager, due="2026-11-25", state="in_progress")
    _item(review, manager, due="2026-12-10", state="open")  # due after the period

    figures = summary().action_items
    assert (figures["total"], figures["closed"], figures["closed_on_time"],
            figures["overdue"]) == (4, 3, 2, 1)
    assert figures["closure_pct"] == Decimal("75.0")
    assert figures["on_time_pct"] == Decimal("50.0")


def test_the_incident_table_gains_the_columns_of_the_other_areas(make_incident, manager):
    incident = make_incident("P0", declared="2026-11-03 10:00", acknowledged="2026-11-03 10:10",
                             resolved="2026-11-03 12:00")
    EscalationEvent.objects.create(incident=incident, level=_level(2), source="manual",
                                   reason_category="complexity", at=incident.declared_at)
    review = _postmortem(incident, due="2026-11-04 12:00")
    _item(review, manager, due="2026-11-20")
    with time_machine.travel(NOW, tick=False):
        table = tables.incident_table(NOVEMBER, metrics.ReportFilters())
        row = dict(zip(table.headers, next(table.rows)))
    assert row["Escalations"] == 1
    assert row["Highest escalation level"] == str(_level(2))
    assert row["Post-mortem"] == "Drafting"
    assert row["Open action items"] == 1


def test_the_workbook_has_an_action_items_sheet_with_dates_and_yes_no(client, manager,
                                                                      make_incident):
    import io

    from django.urls import reverse
    from openpyxl import load_workbook

    review = _postmortem(make_incident("P1", declared="2026-10-20 10:00"), due="2026-10-22 10:00",
                         published="2026-10-22 09:00")
    _item(review, manager, due="2026-11-10", state="done", completed="2026-11-11 09:00")
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("reports:export_xlsx"),
                              {"date_from": "2026-11-01", "date_to": "2026-11-30"})
        content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content))["Action items"]
    header = [cell.value for cell in sheet[1]]
    row = {h: cell for h, cell in zip(header, sheet[2])}
    assert row["Due"].value.date() == date(2026, 11, 10)
    assert row["Due"].number_format == "yyyy-mm-dd"
    assert row["State"].value == "Done"
    assert row["Closed on time"].value is False  # done the day after it was due
