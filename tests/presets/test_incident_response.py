"""Seed 003, incident response, run end to end as its document says."""

from __future__ import annotations

import pytest

from incidents.models import IncidentType, SeverityLevel

from .conftest import HOUR, MINUTE, MONDAY_MORNING, checklist, recipients

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident_response(load_preset):
    return load_preset("incident-response")


@pytest.fixture
def specialists(make_user):
    return {"responder": make_user("Responder", username="responder"),
            "lead": make_user("Incident manager", username="lead")}


def test_response_times_immediate_1h_4h_24h(incident_response):
    targets = {s.code: s.response_target_text for s in SeverityLevel.objects.active()}
    assert targets == {"P0": "immediate", "P1": "1h", "P2": "4h", "P3": "1d"}


def test_p0_pages_at_declaration_and_calls_its_three_specialists(
        incident_response, level, declare_at, specialists):
    incident, walk = declare_at(MONDAY_MORNING, level("P0"))

    reasons = {n.reason for n in walk.fired}
    assert "sla.response.immediate" in reasons
    assert {"role.devops-troubleshooter.required", "role.security-auditor.required",
            "role.performance-engineer.required"} <= reasons
    assert "role.api-documenter.required" not in reasons  # P3's documenter is not called


def test_a_security_incident_calls_the_security_auditor_whatever_its_level(
        incident_response, level, declare_at, specialists):
    security = IncidentType.objects.get(code="security")
    incident, walk = declare_at(MONDAY_MORNING, level("P3"), incident_type=security)

    assert "lead" in recipients(walk.fired, "role.security-auditor.required")
    assert recipients(walk.fired, "role.golang-pro.required")  # P3: Go developer


def test_p1_response_breaches_after_one_hour(incident_response, level, declare_at):
    incident, walk = declare_at(MONDAY_MORNING, level("P1"))

    assert "sla.response.breached" not in walk.reasons(HOUR - MINUTE)
    assert "sla.response.breached" in walk.reasons(HOUR)


def test_the_steps_carry_the_documents_commands_as_runbook_text(incident_response, level,
                                                                declare_at):
    incident, walk = declare_at(MONDAY_MORNING, level("P0"))

    items = checklist(incident)
    assert "helm rollback freightliner" in items[
        "Rollback considered if there was a recent deployment"].runbook
    assert "make test-ci" in items["Code fix (Go developer): hotfix branch, tests and quality "
                                   "checks, pushed"].runbook


def test_root_cause_analysis_follows_the_incidents_category(incident_response, level,
                                                            declare_at):
    infrastructure = IncidentType.objects.get(code="infrastructure")
    incident, walk = declare_at(MONDAY_MORNING, level("P1"), incident_type=infrastructure)

    items = checklist(incident)
    assert "kubectl get nodes" in items["Node health checked"].runbook
    assert "Application logs checked for panics, errors and fatal messages" not in items
    assert "Root cause identified" in items


def test_a_p1_without_response_after_an_hour_goes_to_the_incident_lead(
        incident_response, level, declare_at, make_user):
    make_user("Incident manager", username="lead-on-duty")
    incident, walk = declare_at(MONDAY_MORNING, level("P1"))

    assert not recipients(walk.to(HOUR - MINUTE), "escalation")
    assert "lead-on-duty" in recipients(walk.to(HOUR), "escalation")
