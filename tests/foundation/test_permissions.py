"""Who may do what: each transition and audited change needs its permission, and a refusal
says so in words and changes nothing."""

from __future__ import annotations

import pytest

from incidents import services
from incidents.errors import ActionRefused
from incidents.models import Incident

pytestmark = pytest.mark.django_db

State = Incident.State


def test_a_responder_may_declare_and_work_an_incident(declare, responder, incident_in):
    declared = declare(by=responder)
    assert declared.reporter == responder
    incident = incident_in(State.TRIAGED)
    incident = services.incident_investigate(incident, by=responder)
    incident = services.incident_mitigate(incident, by=responder)
    incident = services.incident_resolve(incident, by=responder, summary="Fixed")
    assert incident.state == State.RESOLVED


def test_a_product_manager_cannot_declare_an_incident(declare, product_manager):
    with pytest.raises(ActionRefused, match="You do not have permission to declare incidents"):
        declare(by=product_manager)
    assert not Incident.objects.exists()


def test_a_responder_cannot_triage(declare, responder, incident_manager):
    incident = declare()
    with pytest.raises(ActionRefused) as refused:
        services.incident_triage(incident, by=responder)
    assert "You do not have permission to triage incidents." in refused.value.reasons


def test_a_responder_cannot_assign_the_incident_manager_on_the_way_to_triage(
    declare, responder
):
    incident = declare()
    with pytest.raises(ActionRefused, match="permission to assign incident roles"):
        services.incident_triage(incident, by=responder, incident_manager=responder)
    incident.refresh_from_db()
    assert incident.incident_manager is None
    assert incident.state == State.REPORTED


def test_a_responder_cannot_close_a_resolved_incident(incident_in, responder):
    incident = incident_in(State.RESOLVED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_close(incident, by=responder)
    assert refused.value.reasons == ["You do not have permission to close incidents."]
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED


@pytest.mark.parametrize("name, state, kwargs", [
    ("reopen", State.RESOLVED, {"reason": "Back again"}),
    ("cancel", State.REPORTED, {"reason": "Test alert"}),
])
def test_a_responder_cannot_reopen_or_cancel(incident_in, responder, name, state, kwargs):
    incident = incident_in(state)
    with pytest.raises(ActionRefused, match="You do not have permission"):
        services.TRANSITION_SERVICES[name](incident, by=responder, **kwargs)
    incident.refresh_from_db()
    assert incident.state == state


def test_a_responder_cannot_mark_a_duplicate(incident_in, responder):
    original, copy = incident_in(State.REPORTED), incident_in(State.REPORTED)
    with pytest.raises(ActionRefused, match="You do not have permission to mark duplicate"):
        services.incident_mark_duplicate(copy, by=responder, duplicate_of=original)
    copy.refresh_from_db()
    assert copy.duplicate_of is None


@pytest.mark.parametrize("name, state, kwargs", [
    ("investigate", State.TRIAGED, {}),
    ("mitigate", State.TRIAGED, {}),
    ("resolve", State.INVESTIGATING, {"summary": "Fixed"}),
])
def test_a_product_manager_cannot_work_an_incident(
    incident_in, product_manager, name, state, kwargs
):
    incident = incident_in(state)
    with pytest.raises(ActionRefused, match="You do not have permission"):
        services.TRANSITION_SERVICES[name](incident, by=product_manager, **kwargs)
    incident.refresh_from_db()
    assert incident.state == state


def test_a_refusal_lists_the_missing_permission_before_the_guard(declare, responder):
    incident = declare()
    reasons = services.transition_refusals(incident, "triage", responder)
    assert reasons == [
        "You do not have permission to triage incidents.",
        "An incident manager must be assigned before the incident can be triaged.",
    ]


def test_a_responder_cannot_change_severity_or_assign_roles(
    incident_in, responder, severities
):
    incident = incident_in(State.TRIAGED)
    with pytest.raises(ActionRefused, match="permission to change an incident's severity"):
        services.incident_change_severity(incident, by=responder, severity=severities["P0"],
                                          reason="Looks worse")
    with pytest.raises(ActionRefused, match="permission to assign incident roles"):
        services.incident_assign_role(incident, by=responder, role="communications_lead",
                                      user=responder)
    incident.refresh_from_db()
    assert incident.severity.code == "P3"
    assert incident.communications_lead is None


def test_a_responder_may_join_but_not_add_someone_else(incident_in, responder, make_user):
    incident = incident_in(State.TRIAGED)
    services.incident_set_responder(incident, by=responder, user=responder, joined=True)
    colleague = make_user("Responder")
    with pytest.raises(ActionRefused, match="permission to add or remove responders"):
        services.incident_set_responder(incident, by=responder, user=colleague, joined=True)
    assert set(incident.responders.all()) >= {responder}
    assert colleague not in incident.responders.all()


def test_an_incident_manager_may_add_and_remove_someone_else_as_responder(
    incident_in, incident_manager, make_user
):
    incident = incident_in(State.TRIAGED)
    colleague = make_user("Responder", first_name="Cora", last_name="Colleague")
    services.incident_set_responder(incident, by=incident_manager, user=colleague, joined=True)
    assert colleague in incident.responders.all()
    assert incident.participants.filter(user=colleague).exists()
    services.incident_set_responder(incident, by=incident_manager, user=colleague, joined=False)
    assert colleague not in incident.responders.all()
    entries = incident.timeline.filter(data__role="responder")
    assert [(e.author, e.text) for e in entries] == [
        (incident_manager, "Ivan Manager added Cora Colleague as responder."),
        (incident_manager, "Ivan Manager removed Cora Colleague as responder."),
    ]


def test_a_product_manager_cannot_join_a_response(incident_in, product_manager):
    incident = incident_in(State.TRIAGED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_set_responder(incident, by=product_manager, user=product_manager,
                                        joined=True)
    assert refused.value.reasons == ["You do not have permission to join an incident response."]
    assert product_manager not in incident.responders.all()


def test_a_product_manager_cannot_update_impact(incident_in, product_manager):
    incident = incident_in(State.TRIAGED)
    with pytest.raises(ActionRefused, match="permission to update an incident's impact"):
        services.incident_update_impact(incident, by=product_manager, customers_affected=10)
    incident.refresh_from_db()
    assert incident.customers_affected is None


@pytest.mark.parametrize("user_fixture, allowed", [
    # Resolve and mark duplicate are offered: their forms supply what their guards ask for.
    ("responder", {"investigate", "mitigate", "resolve"}),
    ("incident_manager", {"investigate", "mitigate", "resolve", "cancel", "mark_duplicate"}),
    ("manager", {"investigate", "mitigate", "resolve", "cancel", "mark_duplicate"}),
    ("product_manager", set()),
])
def test_offered_transitions_honour_each_groups_permissions(
    incident_in, request, user_fixture, allowed
):
    user = request.getfixturevalue(user_fixture)
    incident = incident_in(State.TRIAGED)
    assert {t["name"] for t in services.available_transitions(incident, user)} == allowed
