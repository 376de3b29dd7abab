"""Fixtures for the staff pages: many incidents made cheaply (logged-in clients: tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident


@pytest.fixture(autouse=True)
def _pages_use_core_guards_only(core_guards_only):
    """Page tests drive the lifecycle through the forms with the lifecycle's own guards only;
    tests that need another area's guard register it themselves."""


@pytest.fixture
def bulk_incidents(severities, make_user, payments):
    """bulk_incidents(n, **fields) -> n incidents written in a few queries (no history or
    timeline: for pages that only list them). States, severities and managers vary."""

    def make(count: int, **fields) -> list[Incident]:
        reporter = make_user("Responder")
        manager = make_user("Incident manager")
        levels = list(severities.values())
        states = [Incident.State.REPORTED, Incident.State.TRIAGED, Incident.State.INVESTIGATING,
                  Incident.State.MITIGATED, Incident.State.RESOLVED, Incident.State.CLOSED]
        now = timezone.now()
        start = Incident.objects.count()
        rows = []
        for i in range(count):
            state = states[i % len(states)]
            declared = now - timedelta(minutes=10 * i + 1)
            row = {
                "reference": f"INC-1999-{start + i + 1:05d}",
                "title": f"Bulk incident {i}",
                "severity": levels[1 + i % (len(levels) - 1)],  # never top: no firefighting
                "state": state,
                "reporter": reporter,
                "incident_manager": manager if state != Incident.State.REPORTED else None,
                "detected_at": declared,
                "declared_at": declared,
                "resolved_at": now if state in (Incident.State.RESOLVED,
                                                Incident.State.CLOSED) else None,
            }
            row.update(fields)
            rows.append(Incident(**row))
        created = Incident.objects.bulk_create(rows)
        Through = Incident.services.through
        Through.objects.bulk_create(
            [Through(incident_id=incident.pk, service_id=payments.pk) for incident in created]
        )
        return created

    return make
