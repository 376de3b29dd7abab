"""Fixtures for restricted incidents: one restricted incident with its people, and an outsider
who is staff (a responder) but takes no part in it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from incidents import guards, services

SECRET_TITLE = "Exfiltration via the billing export token"


@pytest.fixture(autouse=True)
def core_guards_only():
    with guards.only_own_guards():
        yield


@pytest.fixture
def client_for():
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def security_lead(make_user):
    """The incident manager who restricts the incident (has the visibility permission)."""
    return make_user("Incident manager", username="sam", first_name="Sam", last_name="Secure")


@pytest.fixture
def outsider(make_user):
    return make_user("Responder", username="otto", first_name="Otto", last_name="Outside")


@pytest.fixture
def restricted(declare, security_lead):
    """A restricted P1 reported by a responder, with `security_lead` as its incident manager."""
    incident = declare(title=SECRET_TITLE, severity="P1", description="Token found on a paste site.")
    incident = services.incident_assign_role(incident, by=security_lead, role="incident_manager",
                                             user=security_lead)
    return services.incident_set_visibility(incident, by=security_lead, restricted=True,
                                            reason="Security incident: need to know")


@pytest.fixture
def security_group(db):
    return Group.objects.create(name="Security team")
