"""War-room rules that a one-line slip used to break without any test noticing (issue 16):
each test below was seen to fail with its rule broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation.deadlines import deadlines_sweep
from escalation.models import Notification
from incidents import services
from incidents.errors import ActionRefused
from incidents.models import IncidentChecklistItem
from incidents.warroom import services as warroom_services
from incidents.warroom.communications import cadence_status, next_update_due

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minutes):
    return time_machine.travel(START + timedelta(minutes=minutes), tick=False)


def test_a_cancelled_incidents_checklist_can_no_longer_be_ticked_or_handed_out(
    p0, incident_manager, responder
):
    item = p0.checklist_items.order_by("pk").first()
    services.incident_set_responder(p0, by=incident_manager, user=responder, joined=True)
    services.incident_cancel(p0, by=incident_manager, reason="Monitoring false alarm")
    with pytest.raises(ActionRefused, match="its checklist is a record now"):
        warroom_services.checklist_item_set_done(item, by=incident_manager, done=True)
    with pytest.raises(ActionRefused, match="its checklist is a record now"):
        warroom_services.checklist_item_assign(item, by=incident_manager, assignee=responder)
    item = IncidentChecklistItem.objects.get(pk=item.pk)
    assert item.done_at is None and item.assignee_id is None
    assert not p0.timeline.filter(kind="checklist", text__contains="ticked").exists()


def test_customers_wait_for_news_only_while_the_incident_is_customer_facing(
    declare, incident_manager
):
    # At P1 customers hear within 4 hours, if the incident is customer-facing (seed 004).
    with at(0):
        incident = declare(title="Ledger batch late", severity="P1", is_customer_facing=False)
        incident = services.incident_assign_role(incident, by=incident_manager,
                                                 role="incident_manager", user=incident_manager)
    assert next_update_due(incident, "customer") is None
    assert "customer" not in {c.audience for c in cadence_status(incident)}
    with at(250):
        deadlines_sweep()
    assert not Notification.objects.filter(reason__startswith="comms.update_overdue.customer.")\
        .exists()
    with at(260):
        services.incident_update_impact(incident, by=incident_manager, is_customer_facing=True,
                                        reason="Customers see late payouts")
    # From the change on: customers now wait for news, within 4 hours.
    assert next_update_due(incident, "customer") == START + timedelta(minutes=260 + 240)


@pytest.fixture
def declared_at_start(declare, incident_manager, payments):
    with at(0):
        incident = declare(title="Checkout down", severity="P0", services=[payments],
                           is_customer_facing=True)
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)


def test_a_resolved_incidents_war_room_shows_no_update_as_overdue(
    declared_at_start, incident_manager, client_for
):
    # The stakeholders' update fell due at 30 minutes; the sweep has not got to it yet.
    with at(40):
        incident = services.incident_triage(declared_at_start, by=incident_manager)
        incident.checklist_items.filter(blocks="resolve").update(done_at=START)
        services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
        assert cadence_status(incident) == []
        page = client_for(incident_manager).get(f"/war-room/{incident.reference}/")
    assert page.status_code == 200
    assert "Update overdue" not in page.content.decode()
    with at(41):
        deadlines_sweep()
        assert cadence_status(incident) == []
    assert not Notification.objects.filter(reason__startswith="comms.update_overdue").exists()
