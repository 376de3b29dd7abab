"""Webhooks cannot be aimed inside the network, and their credentials stay out of pages and
history."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from escalation import delivery
from escalation.models import Notification, WebhookEndpoint
from escalation.notifications import notify
from escalation.webhook_targets import UnsafeWebhookTarget, check_webhook_url, mask_url
from tests.integration.sinks import WebhookReceiver

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/very-secret-token"


@pytest.fixture
def no_internal_hosts(settings):
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = []


@pytest.fixture
def public_dns(monkeypatch):
    """Names under .example resolve to a public documentation-range address (no network)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host.endswith(".example") or host == "hooks.slack.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://169.254.169.254/latest/",
    "http://10.0.0.5/hook", "http://192.168.1.1/", "http://[::1]/hook", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/",
])
def test_internal_addresses_are_refused(no_internal_hosts, url):
    with pytest.raises(UnsafeWebhookTarget, match="internal address"):
        check_webhook_url(url)


def test_a_listed_internal_host_or_network_is_allowed(settings):
    settings.WEBHOOK_ALLOWED_INTERNAL_HOSTS = ["localhost", "10.1.0.0/16"]
    check_webhook_url("http://localhost:9000/hook")
    check_webhook_url("http://10.1.2.3/hook")
    with pytest.raises(UnsafeWebhookTarget):
        check_webhook_url("http://10.2.0.1/hook")


def test_the_admin_refuses_to_save_a_webhook_to_the_metadata_address(
        client_for, manager_with_webhooks, no_internal_hosts):
    response = client_for(manager_with_webhooks).post(
        reverse("admin:escalation_webhookendpoint_add"),
        {"name": "Probe", "format": "slack", "url": "http://169.254.169.254/latest/meta-data/",
         "is_active": "on", "min_severity_rank": 3})
    assert response.status_code == 200
    assert "internal address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_send_to_an_address_that_became_internal_fails_for_good_without_connecting(
        no_internal_hosts, make_user):
    with WebhookReceiver() as receiver:
        # Saved while allowed (or resolved elsewhere then); now the host is internal.
        WebhookEndpoint.objects.create(name="Rebound", format="slack", url=receiver.url)
        someone = make_user("Responder")
        notify(subject=someone, reason="test.ssrf", recipients=[], title="x", webhooks=True)
        delivery.deliver_due()
        assert receiver.requests == []
    row = Notification.objects.get(channel="webhook")
    assert row.status == "failed"
    assert "internal address" in row.attempts_log.get().error


def test_the_secret_and_the_url_are_never_rendered_back(client_for, manager_with_webhooks,
                                                       public_dns):
    endpoint = WebhookEndpoint.objects.create(name="Ops", format="json", url=SLACK_URL,
                                              secret="do-not-show-me")
    client = client_for(manager_with_webhooks)
    pages = [reverse("admin:escalation_webhookendpoint_changelist"),
             reverse("admin:escalation_webhookendpoint_change", args=[endpoint.pk]),
             reverse("admin:escalation_webhookendpoint_history", args=[endpoint.pk])]
    record = endpoint.history.get()
    pages.append(reverse("admin:escalation_webhookendpoint_simple_history",
                         args=[endpoint.pk, record.history_id]))
    for page in pages:
        html = client.get(page).content.decode()
        assert "do-not-show-me" not in html, page
        assert "very-secret-token" not in html, page
    assert "https://hooks.slack.com/…" in client.get(pages[0]).content.decode()


def test_saving_other_fields_keeps_the_url_and_secret(client_for, manager_with_webhooks,
                                                     public_dns):
    endpoint = WebhookEndpoint.objects.create(name="Ops", format="json", url=SLACK_URL,
                                              secret="keep-me")
    response = client_for(manager_with_webhooks).post(
        reverse("admin:escalation_webhookendpoint_change", args=[endpoint.pk]),
        {"name": "Ops renamed", "format": "json", "url": "", "secret": "", "is_active": "on",
         "min_severity_rank": 2})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.url, endpoint.secret) == ("Ops renamed", SLACK_URL, "keep-me")


def test_changing_the_url_records_only_its_host_in_history(client_for, manager_with_webhooks,
                                                          public_dns):
    endpoint = WebhookEndpoint.objects.create(name="Ops", format="slack", url=SLACK_URL)
    client_for(manager_with_webhooks).post(
        reverse("admin:escalation_webhookendpoint_change", args=[endpoint.pk]),
        {"name": "Ops", "format": "slack", "url": "https://chat.example/hooks/other-token",
         "secret": "", "is_active": "on", "min_severity_rank": 3})
    endpoint.refresh_from_db()
    assert endpoint.url == "https://chat.example/hooks/other-token"
    latest = endpoint.history.first()
    assert latest.history_change_reason == "Changed the URL (now https://chat.example/…)"


def test_mask_url_hides_paths_queries_and_user_info():
    assert mask_url(SLACK_URL) == "https://hooks.slack.com/…"
    assert mask_url("https://u:p@h.example:8443/x?token=1") == "https://h.example:8443/…"
    assert mask_url("https://h.example") == "https://h.example/"


@pytest.fixture
def manager_with_webhooks(manager):
    return manager
