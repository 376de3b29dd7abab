"""Review and ROI rules that a one-line slip used to break without any test noticing (issue 16):
each test below was seen to fail with its rule broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from incidents.errors import ActionRefused
from postmortems import roi, services
from postmortems.models import ActionItem
from postmortems.roi import RoiInputs, compute

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def declined_item(db, resolved, incident_manager, responder):
    review = resolved("P1").postmortem
    item = services.action_item_create(
        review, by=incident_manager, owner=responder, title="Add an index",
        due_date=timezone.localdate() + timedelta(days=7))
    return services.action_item_transition(item, "wont_do", by=responder,
                                           reason="The table is being dropped")


def test_only_an_incident_manager_reopens_an_action_item_its_owner_declined(
    declined_item, responder, incident_manager
):
    with pytest.raises(ActionRefused,
                       match="Only an incident manager can reopen an item that was declined"):
        services.action_item_transition(declined_item, "reopen", by=responder)
    assert ActionItem.objects.get(pk=declined_item.pk).state == ActionItem.State.WONT_DO
    item = services.action_item_transition(declined_item, "reopen", by=incident_manager)
    assert item.state == ActionItem.State.OPEN


def test_an_owner_may_reopen_an_item_they_marked_done(db, resolved, incident_manager, responder):
    review = resolved("P1").postmortem
    item = services.action_item_create(
        review, by=incident_manager, owner=responder, title="Add an index",
        due_date=timezone.localdate() + timedelta(days=7))
    item = services.action_item_transition(item, "complete", by=responder)
    item = services.action_item_transition(item, "reopen", by=responder)
    assert item.state == ActionItem.State.OPEN


def test_an_outage_that_ended_the_moment_it_started_lasted_no_time_and_lost_nothing():
    result = compute(RoiInputs(started_at=START, ended_at=START,
                               revenue_impact_per_hour=Decimal("400")))
    assert result.duration_hours == Decimal("0.00")
    assert result.revenue_lost == Decimal("0.00")
    assert roi.display(result.revenue_lost) == "0.00"


@pytest.mark.parametrize("remaining", ["10", "15"], ids=["nothing restored", "worse after"])
def test_a_fix_that_restores_no_revenue_or_less_than_none_never_breaks_even(remaining):
    result = compute(RoiInputs(revenue_impact_per_hour=Decimal("10"),
                               remaining_impact_per_hour=Decimal(remaining),
                               resolution_hours=Decimal("4"), hourly_rate=Decimal("100"),
                               period="week"))
    assert result.resolution_cost == Decimal("400.00")
    assert result.restored_per_period <= 0
    assert (result.break_even_hours, result.break_even_periods) == (None, None)
    assert roi.display(result.break_even_hours) == "—"
    assert roi.display(result.break_even_periods) == "—"
