"""The declare-incident form."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from incidents.models import Incident, TimelineEntry

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 3, 10, 14, 30, tzinfo=AMSTERDAM)


@pytest.fixture
def valid_data(severities, payments):
    return {
        "title": "Checkout returns 500 for card payments",
        "description": "Every card payment fails since the 14:00 deploy.",
        "severity": severities["P1"].pk,
        "services": [payments.pk],
        "detected_at": "2026-03-10T14:05",
        "incident_type": "technical",
        "customers_affected": "1200",
        "customers_affected_pct": "12.5",
        "revenue_impact_per_hour": "3400.00",
        "currency": "EUR",
        "is_customer_facing": "on",
    }


def test_declare_form_shows_each_severity_with_its_description_and_examples(
    client_for, responder, severities
):
    html = client_for(responder).get(reverse("incidents:declare")).content.decode()
    for level in severities.values():
        assert level.name in html
        assert level.example_list[0] in html
    assert 'type="datetime-local"' in html


def test_declaring_creates_the_incident_and_redirects_to_its_page(
    client_for, responder, valid_data, payments
):
    with time_machine.travel(NOW, tick=False):
        response = client_for(responder).post(reverse("incidents:declare"), valid_data)
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response.url == incident.get_absolute_url()
    assert incident.title == valid_data["title"]
    assert incident.reporter == responder
    assert incident.severity.code == "P1"
    assert list(incident.services.all()) == [payments]
    assert incident.detected_at == datetime(2026, 3, 10, 14, 5, tzinfo=AMSTERDAM)
    assert incident.customers_affected == 1200
    assert str(incident.customers_affected_pct) == "12.50"
    assert incident.is_customer_facing and not incident.is_security
    assert incident.timeline.filter(kind=TimelineEntry.Kind.DECLARED).exists()


def test_declaring_without_a_title_shows_the_error_and_creates_nothing(
    client_for, responder, valid_data
):
    valid_data["title"] = ""
    with time_machine.travel(NOW, tick=False):
        response = client_for(responder).post(reverse("incidents:declare"), valid_data)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert response.context["form"].errors["title"]
    assert not Incident.objects.exists()


def test_declaring_with_a_detection_time_in_the_future_is_refused_with_the_input_kept(
    client_for, responder, valid_data
):
    valid_data["detected_at"] = (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    with time_machine.travel(NOW, tick=False):
        response = client_for(responder).post(reverse("incidents:declare"), valid_data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "The detection time cannot be in the future." in html
    assert valid_data["title"] in html
    assert not Incident.objects.exists()


def test_declaring_without_a_severity_is_refused(client_for, responder, valid_data):
    del valid_data["severity"]
    response = client_for(responder).post(reverse("incidents:declare"), valid_data)
    assert response.status_code == 400
    assert response.context["form"].errors["severity"]
    assert not Incident.objects.exists()


def test_a_percentage_above_100_is_refused(client_for, responder, valid_data):
    valid_data["customers_affected_pct"] = "140"
    with time_machine.travel(NOW, tick=False):
        response = client_for(responder).post(reverse("incidents:declare"), valid_data)
    assert response.status_code == 400
    assert "A percentage is between 0 and 100." in response.content.decode()
    assert not Incident.objects.exists()


def test_detection_time_may_be_left_empty_and_then_is_the_declaration_time(
    client_for, responder, valid_data
):
    valid_data["detected_at"] = ""
    with time_machine.travel(NOW, tick=False):
        client_for(responder).post(reverse("incidents:declare"), valid_data)
    incident = Incident.objects.get()
    assert incident.detected_at == incident.declared_at == NOW
