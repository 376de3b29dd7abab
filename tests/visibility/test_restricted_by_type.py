"""A type restricted by default (security) makes a new incident restricted from its first
moment: its declarer and the groups chosen at declaration see it, other staff never do."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import Incident, IncidentType, TimelineEntry
from incidents.selectors import can_see

pytestmark = pytest.mark.django_db


@pytest.fixture
def security_type(db):
    kind = IncidentType.objects.get(code="security")
    assert kind.restricted_by_default
    return kind


def test_a_security_incident_starts_restricted_to_its_declarer_and_chosen_groups(
        declare, responder, outsider, security_type, security_group, make_user):
    colleague = make_user("Responder", username="sue")
    colleague.groups.add(security_group)
    incident = declare(by=responder, incident_type=security_type, groups=[security_group])
    assert incident.is_restricted
    assert can_see(responder, incident) and can_see(colleague, incident)
    assert not can_see(outsider, incident)
    entry = incident.timeline.get(kind=TimelineEntry.Kind.VISIBILITY)
    assert "Security incidents start restricted" in entry.text and "Security team" in entry.text
    assert incident.history.first().is_restricted  # restricted in its very first version


def test_other_types_stay_visible_to_all_staff_unless_the_declarer_restricts_them(
        declare, responder, outsider, security_group):
    assert not declare(by=responder).is_restricted
    incident = declare(by=responder, restricted=True, groups=[security_group])
    assert incident.is_restricted and not can_see(outsider, incident)
    assert list(incident.visible_to_groups.all()) == [security_group]


def test_the_declare_page_restricts_a_security_incident_and_names_the_groups(
        client_for, responder, outsider, severities, security_type, security_group):
    response = client_for(responder).post(reverse("incidents:declare"), {
        "title": "Token found on a paste site", "severity": severities["P1"].pk,
        "incident_type": "security", "groups": [security_group.pk], "currency": "EUR",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    incident = Incident.objects.get()
    assert incident.is_restricted and list(incident.visible_to_groups.all()) == [security_group]
    assert client_for(outsider).get(incident.get_absolute_url()).status_code == 404
    assert client_for(responder).get(incident.get_absolute_url()).status_code == 200
