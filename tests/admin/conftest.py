"""Fixtures for the managers' admin: logged-in clients and incidents moved along their
lifecycle through the services, as people would."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from incidents import guards, services

# The incident app's own guards; other apps' guards (checklists, post-mortems) are left out
# while a fixture walks an incident to the state a test starts from.
CORE_GUARDS = {
    "triage": [guards._needs_incident_manager],
    "resolve": [guards._needs_resolution_summary],
    "mark_duplicate": [guards._needs_duplicate_target],
}


@pytest.fixture
def core_guards_only(monkeypatch):
    monkeypatch.setattr(guards, "_guards", defaultdict(list, {
        name: list(fns) for name, fns in CORE_GUARDS.items()}))


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


@pytest.fixture
def staff_responder(make_user):
    return make_user("Responder", username="stan", first_name="Stan", is_staff=True)


@pytest.fixture
def move_to(manager, monkeypatch):
    """move_to(incident, "resolved") walks the incident there through the services (with
    only the incident app's own guards, so other apps' rules do not block the set-up)."""
    steps = {
        "triaged": lambda i: services.incident_triage(i, by=manager, incident_manager=manager),
        "investigating": lambda i: services.incident_investigate(i, by=manager),
        "mitigated": lambda i: services.incident_mitigate(i, by=manager),
        "resolved": lambda i: services.incident_resolve(i, by=manager, summary="Rolled back."),
    }

    def move(incident, state: str):
        with monkeypatch.context() as patch:
            patch.setattr(guards, "_guards", defaultdict(list, {
                name: list(fns) for name, fns in CORE_GUARDS.items()}))
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
