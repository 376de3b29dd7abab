"""Changing who may see an incident is an audited action: permission, reason, history,
timeline, and never a lock-out of the person who restricts it."""

from __future__ import annotations

import pytest

from incidents import services
from incidents.errors import ActionRefused, Conflict
from incidents.models import IncidentParticipant, TimelineEntry

pytestmark = pytest.mark.django_db


def test_restricting_records_history_with_reason_and_a_key_timeline_entry(restricted,
                                                                         security_lead):
    latest = restricted.history.first()
    assert latest.is_restricted and latest.history_user == security_lead
    assert latest.history_change_reason == "Security incident: need to know"
    entry = restricted.timeline.get(kind=TimelineEntry.Kind.VISIBILITY)
    assert entry.is_key_event and entry.author == security_lead
    assert "restricted the incident" in entry.text and "need to know" in entry.text


def test_opening_to_all_staff_is_recorded_too_and_clears_named_groups(
        restricted, security_lead, security_group):
    services.incident_set_visibility(restricted, by=security_lead, restricted=True,
                                     groups=[security_group], reason="Add security team")
    incident = services.incident_set_visibility(restricted, by=security_lead, restricted=False,
                                                reason="Contained; lessons for everyone")
    assert not incident.is_restricted and not incident.visible_to_groups.exists()
    texts = list(incident.timeline.filter(kind="visibility").values_list("text", flat=True))
    assert any("Security team" in text for text in texts)
    assert "opened the incident to all staff" in texts[-1]


def test_a_responder_may_not_change_visibility(declare, responder):
    incident = declare(by=responder)
    with pytest.raises(ActionRefused, match="permission"):
        services.incident_set_visibility(incident, by=responder, restricted=True, reason="x")
    incident.refresh_from_db()
    assert not incident.is_restricted


def test_a_reason_is_required_and_nothing_changes_without_one(declare, security_lead):
    incident = declare()
    with pytest.raises(ActionRefused, match="Say why"):
        services.incident_set_visibility(incident, by=security_lead, restricted=True, reason=" ")
    incident.refresh_from_db()
    assert not incident.is_restricted and incident.version == 1


def test_whoever_restricts_becomes_a_participant(declare, make_user):
    other_manager = make_user("Incident manager")
    incident = declare()
    services.incident_set_visibility(incident, by=other_manager, restricted=True, reason="Legal")
    assert IncidentParticipant.objects.filter(incident=incident, user=other_manager).exists()


def test_someone_who_cannot_see_it_cannot_open_it(restricted, make_user):
    other_manager = make_user("Incident manager")
    with pytest.raises(ActionRefused, match="cannot see"):
        services.incident_set_visibility(restricted, by=other_manager, restricted=False,
                                         reason="curious")


def test_a_stale_form_is_refused(restricted, security_lead):
    with pytest.raises(Conflict):
        services.incident_set_visibility(restricted, by=security_lead, restricted=False,
                                         reason="Open it", expected_version=restricted.version - 1)


def test_asking_for_the_current_visibility_is_refused_with_a_message(restricted, security_lead):
    with pytest.raises(ActionRefused, match="already"):
        services.incident_set_visibility(restricted, by=security_lead, restricted=True,
                                         reason="again")


def test_an_incident_can_be_declared_restricted(declare):
    incident = declare(restricted=True)
    assert incident.is_restricted
    assert IncidentParticipant.objects.get(incident=incident).reason == "reporter"
