"""Changing who may see an incident is an audited action: permission, reason, history,
timeline, and never a lock-out of the person who restricts it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

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
    assert entry.text == ("Sam Secure restricted the incident to its participants. "
                          "Reason: Security incident: need to know")
    assert entry.data == {"restricted": True, "groups": []}


def test_opening_to_all_staff_is_recorded_too_and_clears_named_groups(
        restricted, security_lead, security_group):
    services.incident_set_visibility(restricted, by=security_lead, restricted=True,
                                     groups=[security_group], reason="Add security team")
    # Groups sent along with "open to all staff" (a form that kept its ticks) are dropped.
    incident = services.incident_set_visibility(restricted, by=security_lead, restricted=False,
                                                groups=[security_group],
                                                reason="Contained; lessons for everyone")
    assert not incident.is_restricted and not incident.visible_to_groups.exists()
    texts = list(incident.timeline.filter(kind="visibility").values_list("text", flat=True))
    assert any("Security team" in text for text in texts)
    assert "opened the incident to all staff" in texts[-1]


def test_a_responder_may_not_change_visibility(declare, responder):
    incident = declare(by=responder)
    with pytest.raises(ActionRefused) as refused:
        services.incident_set_visibility(incident, by=responder, restricted=True, reason="x")
    assert refused.value.reasons == [
        "You do not have permission to change who can see an incident."]
    incident.refresh_from_db()
    assert not incident.is_restricted


def test_a_reason_is_required_and_nothing_changes_without_one(declare, security_lead):
    incident = declare()
    with pytest.raises(ActionRefused) as refused:
        services.incident_set_visibility(incident, by=security_lead, restricted=True, reason=" ")
    assert refused.value.reasons == ["Say why the visibility changes."]
    incident.refresh_from_db()
    assert not incident.is_restricted and incident.version == 1


def test_whoever_restricts_becomes_a_participant(declare, make_user):
    other_manager = make_user("Incident manager")
    incident = declare()
    services.incident_set_visibility(incident, by=other_manager, restricted=True, reason="Legal")
    assert IncidentParticipant.objects.filter(incident=incident, user=other_manager).exists()


def test_someone_who_cannot_see_it_cannot_open_it(restricted, make_user):
    other_manager = make_user("Incident manager")
    with pytest.raises(ActionRefused) as refused:
        services.incident_set_visibility(restricted, by=other_manager, restricted=False,
                                         reason="curious")
    assert refused.value.reasons == [
        "You cannot see this incident, so you cannot change who sees it."]
    restricted.refresh_from_db()
    assert restricted.is_restricted


def test_a_stale_form_is_refused(restricted, security_lead):
    with pytest.raises(Conflict):
        services.incident_set_visibility(restricted, by=security_lead, restricted=False,
                                         reason="Open it", expected_version=restricted.version - 1)


def test_asking_for_the_current_visibility_is_refused_with_a_message(restricted, security_lead,
                                                                      declare):
    with pytest.raises(ActionRefused) as refused:
        services.incident_set_visibility(restricted, by=security_lead, restricted=True,
                                         reason="again")
    assert refused.value.reasons == [f"{restricted.reference} is already restricted that way."]
    open_incident = declare()
    with pytest.raises(ActionRefused) as refused:
        services.incident_set_visibility(open_incident, by=security_lead, restricted=False,
                                         reason="again")
    assert refused.value.reasons == [f"{open_incident.reference} is already visible to all staff."]


def test_an_incident_can_be_declared_restricted(declare):
    incident = declare(restricted=True)
    assert incident.is_restricted
    assert IncidentParticipant.objects.get(incident=incident).reason == "reporter"


def test_the_timeline_names_the_groups_a_restricted_incident_is_opened_to(
        restricted, security_lead, security_group):
    legal = Group.objects.create(name="Legal")
    services.incident_set_visibility(restricted, by=security_lead, restricted=True,
                                     groups=[security_group, legal], reason="Legal hold")
    services.incident_set_visibility(restricted, by=security_lead, restricted=True,
                                     reason="Only the responders now")
    services.incident_set_visibility(restricted, by=security_lead, restricted=False,
                                     reason="Contained")
    entries = list(restricted.timeline.filter(kind=TimelineEntry.Kind.VISIBILITY))[1:]
    assert [(e.text, e.data) for e in entries] == [
        ("Sam Secure changed the groups that may see the incident to Legal, Security team. "
         "Reason: Legal hold",
         {"restricted": True, "groups": sorted([security_group.pk, legal.pk])}),
        ("Sam Secure changed the groups that may see the incident to none (participants only). "
         "Reason: Only the responders now", {"restricted": True, "groups": []}),
        ("Sam Secure opened the incident to all staff. Reason: Contained",
         {"restricted": False, "groups": []}),
    ]


def test_restricting_an_open_incident_to_groups_names_them(declare, security_lead,
                                                          security_group):
    incident = services.incident_set_visibility(declare(), by=security_lead, restricted=True,
                                                groups=[security_group], reason="Fraud case")
    assert incident.timeline.get(kind=TimelineEntry.Kind.VISIBILITY).text == (
        "Sam Secure restricted the incident to its participants and Security team. "
        "Reason: Fraud case")
