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


def test_anyone_can_see_every_public_service_operational_when_nothing_is_wrong(payments):
    Service.objects.create(name="Registration", slug="registration")
    html = page()
    assert "All systems operational" in html
    assert "Payments" in html and "Registration" in html


def test_a_top_severity_incident_is_an_outage_and_milder_ones_degrade(
        declare, payments, make_user):
    registration = Service.objects.create(name="Registration", slug="registration")
    declare(severity="P0", services=[payments])
    declare(severity="P2", services=[registration])
    html = page()
    assert '<li class="list-group-item d-flex justify-content-between align-items-center service-outage">' in html
    assert "service-degraded" in html
    assert "Some systems have an outage" in html


def test_an_affected_service_without_a_published_update_says_details_follow(declare, payments):
    """"No incidents are being reported" under a red outage banner read as a contradiction."""
    declare(severity="P1", services=[payments])
    html = page()
    assert "service-degraded" in html
    assert "No incidents are being reported." not in html
    assert "Details appear here as soon as we publish an update." in html


def test_only_published_customer_updates_appear_and_nothing_internal_leaks(
        p0, incident_manager, internal_service, responder):
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
