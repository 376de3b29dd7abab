"""Fixtures for the foundation's tests: an incident walked to any state through the services."""

from __future__ import annotations

import pytest

from incidents import services
from incidents.models import Incident

# The service calls that lead from "reported" to each state, in order.
PATH_TO = {
    Incident.State.REPORTED: [],
    Incident.State.TRIAGED: ["triage"],
    Incident.State.INVESTIGATING: ["triage", "investigate"],
    Incident.State.MITIGATED: ["triage", "investigate", "mitigate"],
    Incident.State.RESOLVED: ["triage", "investigate", "mitigate", "resolve"],
    Incident.State.CLOSED: ["triage", "investigate", "mitigate", "resolve", "close"],
}


def walk(incident: Incident, steps: list[str], *, by) -> Incident:
    for step in steps:
        if step == "triage":
            incident = services.incident_triage(incident, by=by, incident_manager=by)
        elif step == "resolve":
            incident = services.incident_resolve(incident, by=by, summary="Rolled back release 42.")
        else:
            incident = services.TRANSITION_SERVICES[step](incident, by=by)
    return incident


@pytest.fixture
def incident_in(declare, incident_manager):
    """incident_in("mitigated", severity="P3") -> an incident walked there by the incident
    manager. P3 by default so that review and checklist rules of higher severities stay out
    of the way of lifecycle tests."""

    def make(state: str, severity: str = "P3", **kwargs) -> Incident:
        incident = declare(severity=severity, **kwargs)
        return walk(incident, PATH_TO[state], by=incident_manager)

    return make
