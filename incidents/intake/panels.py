"""Context for the intake panels on the incident page (registered in IntakeConfig.ready)."""

from __future__ import annotations

from incidents.models import Incident

from .similar import similar_to_incident


def similar_context(request, incident) -> dict:
    return {
        "similar": similar_to_incident(incident, user=request.user),
        "can_mark_duplicate": (incident.state in Incident.EARLY_STATES
                               and request.user.has_perm("incidents.cancel_incident")),
    }
