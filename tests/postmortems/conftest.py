"""Fixtures for reviews: incidents walked to "resolved" through the services, as people would."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.utils import timezone

from incidents import services
from incidents.errors import ActionRefused
from incidents.models import Incident


def tick_required_checklists(incident: Incident) -> None:
    """The war room's required checklist items block resolve/close; these tests are about
    reviews, so the items are done as a team would have done them."""
    try:
        model = apps.get_model("incidents", "IncidentChecklistItem")
    except LookupError:
        return
    model.objects.filter(incident=incident, done_at__isnull=True).update(done_at=timezone.now())


def refusal(call) -> list[str]:
    """The reasons, in words, of the ActionRefused that `call()` raises."""
    with pytest.raises(ActionRefused) as refused:
        call()
    return refused.value.reasons


@pytest.fixture
def resolve(incident_manager):
    """resolve(incident) -> the incident triaged by the incident manager and resolved."""

    def _resolve(incident: Incident, *, by=None) -> Incident:
        by = by or incident_manager
        if incident.state == Incident.State.REPORTED:
            incident = services.incident_triage(incident, by=by, incident_manager=by)
        tick_required_checklists(incident)
        return services.incident_resolve(incident, by=by, summary="Rolled back release 42.")

    return _resolve


@pytest.fixture
def resolved(declare, resolve, payments):
    """resolved(severity="P1", **impact) -> a resolved incident on the Payments service."""

    def _resolved(severity: str = "P1", **kwargs) -> Incident:
        kwargs.setdefault("services", [payments])
        return resolve(declare(severity=severity, **kwargs))

    return _resolved


@pytest.fixture
def close():
    def _close(incident: Incident, *, by) -> Incident:
        tick_required_checklists(incident)
        return services.incident_close(incident, by=by)

    return _close
