"""Resolving a customer-facing incident asks for the public resolution update: the status page
used to keep saying "Investigating, next update by ..." after the resolution."""

from __future__ import annotations

import pytest

from incidents import services
from incidents.warroom.communications import public_resolution_prompt, status_update_send
from tests.postmortems.conftest import tick_required_checklists

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_facing(declare, incident_manager, payments):
    incident = declare(title="Checkout down", severity="P2", services=[payments],
                       is_customer_facing=True)
    incident = services.incident_triage(incident, by=incident_manager,
                                        incident_manager=incident_manager)
    status_update_send(incident, by=incident_manager, audience="customer", stage="update",
                       subject="Investigating checkout errors", body="Next update by 18:01.",
                       is_public=True)
    return incident


def resolve(incident, by):
    tick_required_checklists(incident)
    return services.incident_resolve(incident, by=by, summary="Rolled back.")


def test_no_prompt_while_the_incident_is_open(customer_facing):
    assert public_resolution_prompt(customer_facing) is None


def test_after_resolving_the_war_room_and_incident_page_ask_for_the_resolution_update(
        customer_facing, incident_manager, client_for):
    incident = resolve(customer_facing, incident_manager)
    client = client_for(incident_manager)
    for page in (f"/war-room/{incident.reference}/", f"/incidents/{incident.reference}/"):
        html = client.get(page).content.decode()
        assert 'id="resolution-prompt"' in html, page
        assert "Investigating checkout errors" in html
        assert "Post the public resolution update" in html


def test_the_prompt_goes_once_customers_are_told(customer_facing, incident_manager):
    incident = resolve(customer_facing, incident_manager)
    status_update_send(incident, by=incident_manager, audience="customer", stage="resolution",
                       subject="Resolved", body="Checkout works again.", is_public=True)
    assert public_resolution_prompt(incident) is None


def test_an_internal_incident_is_not_prompted(declare, incident_manager):
    incident = declare(severity="P3")
    incident = services.incident_triage(incident, by=incident_manager,
                                        incident_manager=incident_manager)
    incident = resolve(incident, incident_manager)
    assert public_resolution_prompt(incident) is None


def test_on_the_incident_page_the_communications_lead_gets_the_button_and_a_responder_not(
        customer_facing, incident_manager, responder, make_user, client_for):
    incident = services.incident_assign_role(customer_facing, by=incident_manager,
                                             role="communications_lead", user=responder)
    incident = resolve(incident, incident_manager)
    page = f"/incidents/{incident.reference}/"
    lead_sees = client_for(responder).get(page).content.decode()
    assert "Post the public resolution update" in lead_sees
    other_sees = client_for(make_user("Responder", username="otto")).get(page).content.decode()
    assert 'id="resolution-prompt"' in other_sees
    assert "Post the public resolution update" not in other_sees
