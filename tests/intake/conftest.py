"""Intake fixtures: integrations created through the service (so they have an account and a
secret), and a poster that sends a payload the way a monitoring tool does."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from incidents import guards
from incidents.intake import services
from incidents.intake.models import Integration


@pytest.fixture(autouse=True)
def _only_incident_guards():
    # Checklist and review guards are tested by their areas; here they would only decide
    # whether an alert-driven mitigation is allowed.
    with guards.only_own_guards():
        yield


@pytest.fixture
def make_integration(db, severities):
    def make(kind="alertmanager", name=None, **fields):
        fields.setdefault("default_severity", severities["P2"])
        integration, secret = services.integration_create(
            by=None, name=name or f"{kind} {Integration.objects.count() + 1}", kind=kind, **fields)
        integration.secret = secret
        return integration

    return make


@pytest.fixture
def alertmanager_integration(make_integration):
    return make_integration("alertmanager", name="Prometheus prod")


@pytest.fixture
def post():
    """post(integration, body) -> response, authenticated with the Bearer secret."""
    client = Client()

    def send(integration, body, *, secret=None, raw=None, headers=None):
        data = raw if raw is not None else json.dumps(body)
        if integration.kind == Integration.Kind.PAGERDUTY:
            url = reverse("intake:pagerduty_enqueue")
            extra = {}
        else:
            url = reverse("intake:receive", kwargs={"public_id": integration.public_id})
            extra = {"HTTP_AUTHORIZATION": f"Bearer {secret or integration.secret}"}
        extra.update(headers or {})
        return client.post(url, data=data, content_type="application/json", **extra)

    return send
