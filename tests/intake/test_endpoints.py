"""The endpoints take each format's real payloads, answer as their senders expect, and refuse
bad input with a 4xx JSON body naming every problem, writing nothing."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from incidents.intake.models import Alert, Integration
from incidents.models import Incident, TimelineEntry

from . import payloads

pytestmark = pytest.mark.django_db


def nothing_written():
    return not Alert.objects.exists() and not Incident.objects.exists()


def test_an_alertmanager_alert_opens_an_incident_with_its_defaults(alertmanager_integration, post,
                                                                    payments):
    alertmanager_integration.default_services.set([payments])
    response = post(alertmanager_integration, payloads.alertmanager())
    assert response.status_code == 200, response.content
    assert response.json()["alerts"][0]["action"] == "declared"
    alert = Alert.objects.get()
    incident = alert.incident
    assert incident.title == "HighErrorRate on checkout"
    assert incident.severity.code == "P2"
    assert list(incident.services.all()) == [payments]
    assert incident.reporter == alertmanager_integration.account
    assert alert.labels["service"] == "checkout" and alert.count == 1
    assert alert.state == Alert.State.FIRING
    assert alert.source_url.startswith("http://prometheus.internal:9090/graph")
    assert TimelineEntry.objects.filter(incident=incident, kind="alert").count() == 1


def test_the_secret_may_be_in_the_url_or_basic_auth(alertmanager_integration):
    integration = alertmanager_integration
    client = Client()
    url = reverse("intake:receive_with_secret",
                  kwargs={"public_id": integration.public_id, "secret": integration.secret})
    assert client.post(url, json.dumps(payloads.alertmanager()),
                       content_type="application/json").status_code == 200
    basic = base64.b64encode(f"grafana:{integration.secret}".encode()).decode()
    response = client.post(reverse("intake:receive", kwargs={"public_id": integration.public_id}),
                           json.dumps(payloads.alertmanager()), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200
    assert Alert.objects.get().count == 2


@pytest.mark.parametrize("secret", ["", "not-the-secret"])
def test_a_missing_or_wrong_secret_is_401_and_writes_nothing(alertmanager_integration, post,
                                                             secret):
    client = Client()
    url = reverse("intake:receive", kwargs={"public_id": alertmanager_integration.public_id})
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    response = client.post(url, json.dumps(payloads.alertmanager()),
                           content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json()["error"]
    assert nothing_written()


def test_another_integrations_secret_is_401(make_integration, post):
    first, second = make_integration(), make_integration()
    assert post(first, payloads.alertmanager(), secret=second.secret).status_code == 401
    assert nothing_written()


def test_malformed_json_is_400(alertmanager_integration, post):
    response = post(alertmanager_integration, None, raw='{"status": "firing", "alerts": [')
    assert response.status_code == 400
    assert response.json()["problems"][0].startswith("body:")
    assert nothing_written()


def test_a_number_beyond_a_float_is_400_not_a_busy_database(make_integration, post):
    grafana = make_integration("grafana")
    body = json.dumps(payloads.grafana()).replace('"values": {', '"values": {"huge": 1e400, ', 1)
    assert "1e400" in body
    response = post(grafana, None, raw=body)
    assert response.status_code == 400
    assert "1e400" in response.json()["problems"][0]
    assert nothing_written()


def test_wrong_field_types_are_400_naming_each_problem(alertmanager_integration, post):
    body = payloads.alertmanager()
    body["alerts"][0]["labels"]["severity"] = 3
    body["alerts"][0]["startsAt"] = "yesterday"
    body["alerts"].append("an alert")
    response = post(alertmanager_integration, body)
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert any(p.startswith("alerts[0].labels.severity: must be a string") for p in problems)
    assert any(p.startswith("alerts[0].startsAt:") for p in problems)
    assert any(p.startswith("alerts[1]: must be an object") for p in problems)
    assert nothing_written()


@pytest.mark.parametrize("starts", [timedelta(days=-400), timedelta(days=2)])
def test_timestamps_outside_a_sane_range_are_400(alertmanager_integration, post, starts):
    alert = payloads.am_alert(starts=payloads.now() + starts)
    response = post(alertmanager_integration, payloads.alertmanager(alert))
    assert response.status_code == 400
    assert response.json()["problems"][0].startswith("alerts[0].startsAt:")
    assert nothing_written()


def test_a_body_over_the_limit_is_413(alertmanager_integration, post, settings):
    settings.INTAKE_MAX_BODY_BYTES = 2000
    body = payloads.alertmanager(*[payloads.am_alert(f"A{i}") for i in range(10)])
    response = post(alertmanager_integration, body)
    assert response.status_code == 413
    assert nothing_written()


def test_a_disabled_integration_is_403(alertmanager_integration, post):
    Integration.objects.filter(pk=alertmanager_integration.pk).update(is_enabled=False)
    response = post(alertmanager_integration, payloads.alertmanager())
    assert response.status_code == 403
    assert "switched off" in response.json()["error"]
    assert nothing_written()


def test_the_rate_limit_answers_429_with_retry_after(make_integration, post):
    integration = make_integration(rate_limit_per_minute=2)
    assert post(integration, payloads.alertmanager()).status_code == 200
    assert post(integration, payloads.alertmanager()).status_code == 200
    response = post(integration, payloads.alertmanager())
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Alert.objects.get().count == 2
    # Another integration has its own budget.
    assert post(make_integration(), payloads.alertmanager()).status_code == 200


def test_a_get_is_refused_in_json(alertmanager_integration):
    url = reverse("intake:receive", kwargs={"public_id": alertmanager_integration.public_id})
    response = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {alertmanager_integration.secret}")
    assert response.status_code == 405
    assert response.json()["error"]


def test_grafana_payload_keeps_values_and_links(make_integration, post):
    integration = make_integration("grafana")
    response = post(integration, payloads.grafana())
    assert response.status_code == 200, response.content
    alert = Alert.objects.get()
    assert alert.details["B"] == 812.5
    assert [link["text"] for link in alert.links] == ["Source", "Dashboard", "Panel", "Silence",
                                                      "Image"]
    bad = payloads.grafana(values={"B": "high"})
    response = post(integration, bad)
    assert response.status_code == 400
    assert "alerts[0].values.B: must be a number or null" in response.json()["problems"]


# --- PagerDuty Events API v2 -----------------------------------------------------------------


@pytest.fixture
def pagerduty_integration(make_integration):
    return make_integration("pagerduty", name="PagerDuty senders")


def test_pagerduty_trigger_answers_like_pagerduty(pagerduty_integration, post):
    key = pagerduty_integration.secret
    response = post(pagerduty_integration, payloads.pagerduty(routing_key=key))
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed",
                               "dedup_key": "checkout-5xx"}
    alert = Alert.objects.get()
    assert alert.labels == {"source": "checkout-7d9f.prod", "severity": "critical",
                            "component": "checkout-api", "group": "prod-eu",
                            "class": "http-errors"}
    assert alert.details["error_rate"] == 7.2
    assert alert.incident.title == "Checkout 5xx rate at 7.2%"
    assert {link["text"] for link in alert.links} == {"Prometheus", "Dashboard", "Error rate"}


def test_pagerduty_trigger_without_dedup_key_gets_one(pagerduty_integration, post):
    body = payloads.pagerduty(routing_key=pagerduty_integration.secret)
    del body["dedup_key"]
    response = post(pagerduty_integration, body)
    assert response.status_code == 202
    assert response.json()["dedup_key"] == Alert.objects.get().identity


def test_pagerduty_acknowledge_and_resolve(pagerduty_integration, post):
    key = pagerduty_integration.secret
    post(pagerduty_integration, payloads.pagerduty(routing_key=key))
    assert post(pagerduty_integration,
                payloads.pagerduty("acknowledge", routing_key=key)).status_code == 202
    alert = Alert.objects.get()
    assert alert.state == Alert.State.ACKNOWLEDGED
    assert alert.incident.acknowledged_at is not None
    assert post(pagerduty_integration,
                payloads.pagerduty("resolve", routing_key=key)).status_code == 202
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED and alert.count == 3


def test_pagerduty_unknown_action_and_missing_fields_are_400(pagerduty_integration, post):
    body = payloads.pagerduty(routing_key=pagerduty_integration.secret)
    body["event_action"] = "escalate"
    response = post(pagerduty_integration, body)
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"
    assert any("event_action" in e for e in response.json()["errors"])
    body = payloads.pagerduty(routing_key=pagerduty_integration.secret, severity="urgent")
    del body["payload"]["summary"]
    errors = post(pagerduty_integration, body).json()["errors"]
    assert "payload.summary: is required" in errors
    assert any(e.startswith("payload.severity:") for e in errors)
    assert nothing_written()


def test_pagerduty_wrong_routing_key_is_401(pagerduty_integration, post, make_integration):
    response = post(pagerduty_integration, payloads.pagerduty(routing_key="nope"))
    assert response.status_code == 401
    # An Alertmanager integration's secret is not a routing key.
    other = make_integration()
    assert post(pagerduty_integration,
                payloads.pagerduty(routing_key=other.secret)).status_code == 401
    assert nothing_written()


# --- Generic JSON --------------------------------------------------------------------------


def test_generic_json_with_a_field_mapping(make_integration, post):
    integration = make_integration("generic", field_mapping={
        "alerts": "events", "identity": "check.id", "title": "check.name", "status": "state",
        "resolved_values": ["ok"], "labels": "tags", "source_url": "link"})
    body = {"events": [{"check": {"id": "disk-db1", "name": "Disk almost full on db1"},
                        "state": "critical", "tags": {"host": "db1", "usage": 97},
                        "link": "https://monitor.internal/checks/disk-db1"}]}
    response = post(integration, body)
    assert response.status_code == 200, response.content
    alert = Alert.objects.get()
    assert (alert.identity, alert.title, alert.labels) == (
        "disk-db1", "Disk almost full on db1", {"host": "db1", "usage": "97"})
    body["events"][0]["state"] = "ok"
    post(integration, body)
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED
    body["events"][0]["state"] = "exploded"
    response = post(integration, body)
    assert response.status_code == 400
    assert response.json()["problems"][0].startswith("events[0].state:")


@pytest.mark.parametrize("field, value", [
    ("startsAt", "9999-12-31T23:30:00-01:00"),  # past year 9999 once in UTC
    ("endsAt", "9999-12-31T23:59:59.999999999-23:59"),
])
def test_a_timestamp_beyond_the_calendar_is_400_not_a_crash(alertmanager_integration, post,
                                                            field, value):
    body = payloads.alertmanager()
    body["alerts"][0][field] = value
    response = post(alertmanager_integration, body)
    assert response.status_code == 400
    assert response.json()["problems"][0].startswith(f"alerts[0].{field}:")
    assert nothing_written()
