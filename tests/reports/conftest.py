"""Report fixtures: incidents written straight to the table with the exact times a test needs,
so every expected figure can be worked out by hand from the test itself."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from incidents.models import Incident, Service

AMS = ZoneInfo("Europe/Amsterdam")
_numbers = itertools.count(1)


def at(text: str) -> datetime:
    """A moment in the organisation's time zone: at("2026-11-03 10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


@pytest.fixture
def checkout(db) -> Service:
    return Service.objects.create(name="Checkout", slug="checkout", is_critical_path=True)


@pytest.fixture
def search_service(db) -> Service:
    return Service.objects.create(name="Search", slug="search")


@pytest.fixture
def make_incident(db, severities, make_user):
    """make_incident(severity="P1", declared="2026-11-03 10:00", acknowledged=..., resolved=...,
    detected=... (defaults to declared), services=[...], **fields) -> Incident."""
    reporter = None

    def make(severity: str = "P1", *, declared: str, detected: str | None = None,
             acknowledged: str | None = None, resolved: str | None = None,
             closed: str | None = None, state: str | None = None, services=(), **fields):
        nonlocal reporter
        reporter = reporter or make_user("Responder")
        if state is None:
            state = (Incident.State.CLOSED if closed else Incident.State.RESOLVED if resolved
                     else Incident.State.TRIAGED if acknowledged else Incident.State.REPORTED)
        if "revenue_impact_per_hour" in fields and fields["revenue_impact_per_hour"] is not None:
            fields["revenue_impact_per_hour"] = Decimal(str(fields["revenue_impact_per_hour"]))
        number = next(_numbers)
        incident = Incident.objects.create(
            reference=f"INC-2026-{number:04d}",
            title=fields.pop("title", f"Incident number {number}"),
            severity=severities[severity],
            reporter=reporter,
            state=state,
            declared_at=at(declared),
            detected_at=at(detected or declared),
            acknowledged_at=at(acknowledged) if acknowledged else None,
            resolved_at=at(resolved) if resolved else None,
            mitigated_at=at(resolved) if resolved else None,
            closed_at=at(closed) if closed else None,
            **fields,
        )
        if services:
            incident.services.set(services)
        return incident

    return make
