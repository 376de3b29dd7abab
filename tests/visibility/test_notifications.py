"""Notifications about a restricted incident: people who may see it get the news in full;
anyone else (and every webhook channel) learns only that there is news, at which severity."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from escalation import channels
from escalation.models import Notification, WebhookEndpoint
from escalation.notifications import notify
from incidents import services

from .conftest import SECRET_TITLE

pytestmark = pytest.mark.django_db


def tell(incident, people, *, webhooks=False):
    return notify(subject=incident, reason="test.news", recipients=people,
                  title=f"{incident.reference} {incident.title}", body="Token rotated at 10:02.",
                  url=incident.get_absolute_url(), incident=incident, webhooks=webhooks)


def shown(row: Notification) -> str:
    return f"{row.title} {row.body} {row.url}"


def test_a_participant_gets_the_title_and_details(restricted, security_lead):
    rows = tell(restricted, [security_lead])
    assert rows and all(SECRET_TITLE in row.title and row.body for row in rows)


def test_someone_not_allowed_gets_no_reference_title_details_or_link(restricted, outsider):
    rows = tell(restricted, [outsider])
    assert {row.channel for row in rows} == {"inapp", "email"}
    for row in rows:
        assert SECRET_TITLE not in shown(row) and restricted.reference not in shown(row)
        assert row.title.startswith("[P1] News about a restricted incident")
        assert (row.body, row.url) == ("", "")


def test_webhook_channels_get_a_redacted_message_in_every_format(restricted):
    for name in ("slack", "teams", "json"):
        WebhookEndpoint.objects.create(name=name, format=name, url=f"https://{name}.invalid/x")
    rows = [row for row in tell(restricted, [], webhooks=True) if row.webhook_id]
    assert len(rows) == 3
    # What the admin's outbox shows of them, too.
    assert {(row.title, row.body, row.url) for row in rows} == {(
        "[P1] News about a restricted incident; only its participants see the details", "", "")}
    for row in rows:
        request = channels.build_webhook_request(row)
        body = request.data.decode()
        assert SECRET_TITLE not in body and restricted.reference not in body, row.webhook.format
        assert "restricted" in body.lower()


def test_a_webhook_queued_before_the_incident_was_restricted_is_sent_redacted(
        declare, security_lead):
    incident = declare(title=SECRET_TITLE)
    WebhookEndpoint.objects.create(name="json", format="json", url="https://json.invalid/x")
    [row] = [r for r in tell(incident, [], webhooks=True) if r.webhook_id]
    services.incident_set_visibility(incident, by=security_lead, restricted=True, reason="Legal")
    row = Notification.objects.select_related("incident__severity", "webhook").get(pk=row.pk)
    payload = json.loads(channels.build_webhook_request(row).data)
    assert SECRET_TITLE not in json.dumps(payload) and incident.reference not in json.dumps(payload)
    assert payload["incident"]["restricted"] is True


def test_the_inbox_hides_news_about_an_incident_restricted_since_and_its_link(
        declare, security_lead, outsider, client_for):
    incident = declare(title=SECRET_TITLE)
    [row] = [r for r in tell(incident, [outsider]) if r.channel == "inapp"]
    services.incident_set_visibility(incident, by=security_lead, restricted=True, reason="Legal")
    client = client_for(outsider)
    body = client.get(reverse("notifications:inbox")).content.decode()
    assert "News about a restricted incident" in body
    assert SECRET_TITLE not in body and incident.reference not in body
    response = client.get(reverse("notifications:open", args=[row.pk]))
    assert response.status_code == 302 and incident.reference not in response.url


def test_the_daily_log_checker_paged_for_a_restricted_report_may_see_it(make_user, declare):
    from escalation.models import Rota, RotaMember

    checker = make_user("Incident manager")
    rota = Rota.objects.get(name="Daily log checker")
    rota.members.all().delete()
    RotaMember.objects.create(rota=rota, user=checker, order=0)
    incident = declare(title=SECRET_TITLE, restricted=True)
    [row] = Notification.objects.filter(recipient=checker, channel="inapp",
                                        reason="triage.on_duty")
    assert SECRET_TITLE in row.title


def test_the_inbox_shows_news_about_a_restricted_incident_to_someone_who_may_see_it(
        restricted, security_lead, client_for):
    [row] = [r for r in tell(restricted, [security_lead]) if r.channel == "inapp"]
    body = client_for(security_lead).get(reverse("notifications:inbox")).content.decode()
    assert SECRET_TITLE in body and restricted.reference in body
    assert reverse("notifications:open", args=[row.pk]) in body
