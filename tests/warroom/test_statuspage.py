"""The public status page: no login, each public service's status, published customer
updates for open and recently resolved incidents, and nothing internal."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.models import Service
from incidents.warroom.communications import status_update_send

pytestmark = pytest.mark.django_db


def page() -> str:
    response = Client().get("/status/")
    assert response.status_code == 200
    return response.content.decode()


def publish(incident, by, subject, body, *, audience="customer", is_public=True):
    return status_update_send(incident, by=by, audience=audience, stage="update",
                              subject=subject, body=body, is_public=is_public)


def announce(incident, by, subject="We are investigating"):
    """Confirm the incident (triage) and publish a public update: only then does it show."""
    incident = services.incident_triage(incident, by=by, incident_manager=by)
    publish(incident, by, subject, "More soon.")
    return incident


def test_anyone_can_see_every_public_service_operational_when_nothing_is_wrong(payments):
    Service.objects.create(name="Registration", slug="registration")
    html = page()
    assert "All systems operational" in html
    assert "Payments" in html and "Registration" in html


def test_a_top_severity_incident_is_an_outage_and_milder_ones_degrade(
        declare, payments, incident_manager):
    registration = Service.objects.create(name="Registration", slug="registration")
    announce(declare(severity="P0", services=[payments]), incident_manager)
    announce(declare(severity="P2", services=[registration]), incident_manager)
    html = page()
    assert '<li class="list-group-item d-flex justify-content-between align-items-center service-outage">' in html
    assert "service-degraded" in html
    assert "Some systems have an outage" in html


def test_only_a_confirmed_incident_with_a_published_update_changes_a_service(
        declare, payments, responder, incident_manager):
    """One responder's untriaged report, or a confirmed incident nobody has announced yet,
    leaves the public page as it was."""
    incident = declare(severity="P3", services=[payments], by=responder)
    publish(incident, incident_manager, "Payments may be slow", "Looking into it.")
    assert "All systems operational" in page()  # published, but not confirmed
    other = declare(severity="P1", services=[payments], by=responder)
    services.incident_triage(other, by=incident_manager, incident_manager=incident_manager)
    assert "All systems operational" in page()  # confirmed, but never announced
    publish(other, incident_manager, "Card payments are failing", "We are on it.")
    html = page()
    assert "service-degraded" in html and "Card payments are failing" in html
    assert "Payments may be slow" not in html


def test_only_published_customer_updates_appear_and_nothing_internal_leaks(
        p0, incident_manager, internal_service, responder):
    p0 = services.incident_triage(p0, by=incident_manager)  # confirmed: it may show publicly
    services.incident_update_impact(p0, by=incident_manager, title="Checkout down for everyone")
    p0.services.add(internal_service)
    services.timeline_add_note(p0, by=responder, text="SECRET-NOTE db primary fenced")
    publish(p0, incident_manager, "Payments are failing", "We are rolling back a release.")
    publish(p0, incident_manager, "INTERNAL-ONLY stakeholder line", "Budget talk",
            audience="stakeholders", is_public=False)
    publish(p0, incident_manager, "UNPUBLISHED customer draft", "Not for the page",
            is_public=False)

    html = page()

    assert "Payments are failing" in html and "We are rolling back a release." in html
    for secret in ("INTERNAL-ONLY", "Budget talk", "UNPUBLISHED", "SECRET-NOTE",
                   "Checkout down for everyone", p0.reference, "Ledger batch jobs",
                   "Ivan", "Manager", "Rita", "ivan@example.com"):
        assert secret not in html, secret


def test_recently_resolved_incidents_stay_for_seven_days(p0, incident_manager):
    publish(p0, incident_manager, "Payments restored soon", "Fix is rolling out.")
    incident = services.incident_triage(p0, by=incident_manager)
    incident.checklist_items.filter(blocks="resolve").update(done_at=timezone.now())
    services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    html = page()
    assert "Resolved in the last 7 days" in html
    assert "Payments restored soon" in html
    assert "No incidents are being reported." in html
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        assert "Payments restored soon" not in page()
