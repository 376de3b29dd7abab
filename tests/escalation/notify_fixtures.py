"""Fixtures for the notification tests, imported by name in tests/escalation/test_notifications*."""

from __future__ import annotations

import pytest

from escalation.models import WebhookEndpoint
from tests.integration.sinks import WebhookReceiver

SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver():
    with WebhookReceiver(secret=SECRET) as running:
        yield running


@pytest.fixture
def failing_receiver():
    with WebhookReceiver(status=500) as running:
        yield running


@pytest.fixture
def json_hook(db, receiver):
    return WebhookEndpoint.objects.create(
        name="Ops JSON", format=WebhookEndpoint.Format.JSON, url=receiver.url, secret=SECRET
    )


@pytest.fixture
def alice(make_user):
    return make_user("Responder", username="alice", first_name="Alice")


@pytest.fixture
def bob(make_user):
    return make_user("Responder", username="bob", first_name="Bob")
