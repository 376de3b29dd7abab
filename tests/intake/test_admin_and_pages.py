"""The managers' admin (secret shown once, rotation, rule preview), the command for automation
and the staff alerts page."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from incidents.intake.models import Alert, Integration, TriageRule
from incidents.intake.services import secret_hash

from . import payloads

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(manager):
    client = Client()
    client.force_login(manager)
    return client


def shown_secret(response) -> str:
    text = " ".join(str(m) for m in response.context["messages"])
    return re.search(r"secret is <code>([^<]+)</code>", text).group(1)


def test_an_integration_added_in_the_admin_shows_its_secret_once(manager_client, severities):
    response = manager_client.post(reverse("admin:intake_integration_add"), {
        "name": "Grafana cloud", "kind": "grafana", "is_enabled": "on",
        "default_severity": severities["P2"].pk, "when_all_resolved": "mitigate",
        "group_by": "", "group_window": "00:30:00", "flap_window": "00:15:00",
        "rate_limit_per_minute": 600, "field_mapping": "{}",
    }, follow=True)
    assert response.status_code == 200
    secret = shown_secret(response)
    integration = Integration.objects.get(name="Grafana cloud")
    assert integration.secret_hash == secret_hash(secret)
    page = manager_client.get(reverse("admin:intake_integration_change", args=[integration.pk]))
    assert secret not in page.content.decode()
    assert str(integration.public_id) in page.content.decode()  # the endpoint URL


def test_rotating_the_secret_retires_the_old_one(manager_client, alertmanager_integration, post):
    old = alertmanager_integration.secret
    response = manager_client.post(reverse("admin:intake_integration_changelist"), {
        "action": "rotate_secret", "_selected_action": [alertmanager_integration.pk]},
        follow=True)
    new = shown_secret(response)
    assert post(alertmanager_integration, payloads.alertmanager(), secret=old).status_code == 401
    assert post(alertmanager_integration, payloads.alertmanager(), secret=new).status_code == 200


def test_the_command_prints_a_working_endpoint_and_secret(db, severities):
    out = io.StringIO()
    call_command("integration", "create", "alertmanager", "Prometheus eu", "--severity", "P1",
                 stdout=out)
    text = out.getvalue()
    url = re.search(r"Endpoint:\s+(\S+)", text).group(1)
    secret = re.search(r"Secret:\s+(\S+)", text).group(1)
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = Client().post("/" + path, json.dumps(payloads.alertmanager()),
                             content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert Alert.objects.get().incident.severity.code == "P1"


def test_the_rule_preview_shows_what_would_happen_without_saving(manager_client, severities):
    TriageRule.objects.all().delete()  # not the default rules: only this one
    rule = TriageRule.objects.create(name="Error rate over 5% is P0",
                                     set_severity=severities["P0"])
    rule.conditions.create(field="error_rate", operator="gt", value="5")
    body = payloads.pagerduty(routing_key="x")
    response = manager_client.post(reverse("admin:intake_triagerule_preview"), {
        "kind": "pagerduty", "payload": json.dumps(body),
        "conditions": "labels.severity = critical\nerror_rate > 10"})
    assert response.status_code == 200
    result = response.context["results"][0]
    assert result.decision.severity.code == "P0"
    assert result.draft.matched is False
    assert [c.holds for c in result.draft.conditions] == [True, False]
    assert TriageRule.objects.count() == 1


def test_the_rule_preview_reports_payload_and_condition_problems(manager_client):
    response = manager_client.post(reverse("admin:intake_triagerule_preview"), {
        "kind": "alertmanager", "payload": '{"status": "firing"}', "conditions": "error_rate >> 5"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "alerts: must be a non-empty list" in errors["payload"]
    assert not response.context["results"]


def test_the_alerts_page_filters_and_stays_bounded(responder, alertmanager_integration, post,
                                                  django_assert_max_num_queries):
    TriageRule.objects.create(name="Mute watchdog", suppress=True).conditions.create(
        field="labels.alertname", operator="eq", value="Watchdog")
    post(alertmanager_integration, payloads.alertmanager(
        payloads.am_alert("Watchdog", fingerprint="w1"), group_key="w"))
    for i in range(30):
        post(alertmanager_integration, payloads.alertmanager(
            payloads.am_alert(f"Alert{i}", fingerprint=f"{i:016x}"), group_key=f"g{i}"))
    client = Client()
    client.force_login(responder)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("intake:alerts"))
    assert page.status_code == 200 and page.context["has_next"]
    suppressed = client.get(reverse("intake:alerts"), {"show": "suppressed"})
    assert [a.title for a in suppressed.context["alerts"]] == ["Watchdog on checkout"]
    detail = client.get(reverse("intake:alert", args=[suppressed.context["alerts"][0].pk]))
    assert b"prometheus.internal" in detail.content


def test_people_without_the_permission_do_not_see_alerts(make_user):
    client = Client()
    client.force_login(make_user())
    assert client.get(reverse("intake:alerts")).status_code == 403


def test_the_war_room_and_incident_page_show_alerts_with_links_to_the_source(
        incident_manager, alertmanager_integration, post):
    post(alertmanager_integration, payloads.alertmanager())
    incident = Alert.objects.get().incident
    client = Client()
    client.force_login(incident_manager)
    for url in (reverse("warroom:room", args=[incident.reference]),
                incident.get_absolute_url()):
        page = client.get(url).content.decode()
        assert 'id="incident-alerts"' in page, url
        assert "HighErrorRate on checkout" in page
        assert 'href="http://prometheus.internal:9090/graph' in page


def test_alerts_of_restricted_incidents_are_hidden_from_others(responder, manager,
                                                               alertmanager_integration, post):
    from incidents.selectors import can_see

    TriageRule.objects.create(name="Restrict everything", restrict=True)
    post(alertmanager_integration, payloads.alertmanager())
    alert = Alert.objects.get()
    assert alert.incident.is_restricted and not can_see(responder, alert.incident)
    client = Client()
    client.force_login(responder)
    assert list(client.get(reverse("intake:alerts")).context["alerts"]) == []
    assert client.get(reverse("intake:alert", args=[alert.pk])).status_code == 404


def test_a_manager_adds_a_rule_with_its_slug_type_and_roles(manager_client, severities,
                                                            incident_types):
    from incidents.models import IncidentRole

    auditor = IncidentRole.objects.create(code="security-auditor", name="Security auditor")
    form = {"order": 5, "name": "Security alerts", "slug": "security-alerts", "is_active": "on",
            "set_severity": severities["P0"].pk, "set_type": incident_types["security"].pk,
            "page_roles": [auditor.pk], "conditions-TOTAL_FORMS": 1,
            "conditions-INITIAL_FORMS": 0, "conditions-0-field": "labels.alertname",
            "conditions-0-operator": "regex", "conditions-0-value": "^Security"}
    response = manager_client.post(reverse("admin:intake_triagerule_add"), form)
    assert response.status_code == 302
    rule = TriageRule.objects.get(slug="security-alerts")
    assert rule.set_type.code == "security" and list(rule.page_roles.all()) == [auditor]

    again = manager_client.post(reverse("admin:intake_triagerule_add"),
                                {**form, "name": "Security alerts again"})
    assert again.status_code == 200
    assert "slug" in again.context["adminform"].form.errors
    assert TriageRule.objects.filter(slug="security-alerts").count() == 1
