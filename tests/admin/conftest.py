"""Fixtures for the managers' admin: logged-in clients and incidents moved along their
lifecycle through the services, as people would."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from incidents import guards, services

@pytest.fixture
def core_guards_only():
    with guards.only_own_guards():
        yield


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


@pytest.fixture
def staff_responder(make_user):
    return make_user("Responder", username="stan", first_name="Stan", is_staff=True)


@pytest.fixture
def move_to(manager):
    """move_to(incident, "resolved") walks the incident there through the services (with
    only the incident app's own guards, so other apps' rules do not block the set-up)."""
    steps = {
        "triaged": lambda i: services.incident_triage(i, by=manager, incident_manager=manager),
        "investigating": lambda i: services.incident_investigate(i, by=manager),
        "mitigated": lambda i: services.incident_mitigate(i, by=manager),
        "resolved": lambda i: services.incident_resolve(i, by=manager, summary="Rolled back."),
    }

    def move(incident, state: str):
        with guards.only_own_guards():
            for step, apply in steps.items():
                incident = apply(incident)
                if step == state:
                    return incident
        raise ValueError(state)

    return move


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:incidents_incident_{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def inline_management(incident) -> dict:
    """The management form of the read-only timeline inline, as the browser posts it."""
    count = incident.timeline.count()
    return {"timeline-TOTAL_FORMS": count, "timeline-INITIAL_FORMS": count}
