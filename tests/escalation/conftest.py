"""Fixtures for SLA, escalation and on-call tests: time helpers and the seeded configuration."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from escalation.models import EscalationLevel, Rota

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")


def local(zone: ZoneInfo, *args) -> datetime:
    """An aware datetime on `zone`'s wall clock, e.g. local(AMSTERDAM, 2026, 3, 27, 16, 0)."""
    return datetime(*args, tzinfo=zone)


@pytest.fixture
def levels(db) -> dict[int, EscalationLevel]:
    return {level.number: level for level in EscalationLevel.objects.filter(ladder__is_default=True)}


@pytest.fixture
def on_call_developer(db) -> Rota:
    return Rota.objects.get(name="On-call developer")


@pytest.fixture
def staffed_levels(levels, make_user):
    """Gives each default level a named person, so escalations have someone to call."""
    people = {}
    for number, level in levels.items():
        person = make_user("Responder", username=f"level{number}")
        level.users.add(person)
        people[number] = person
    return people


@pytest.fixture
def only_core_guards():
    """Keeps the incident app's own transition guards only, so these tests can resolve an
    incident without ticking other areas' checklists (those have their own tests)."""
    from incidents import guards

    with guards.only_own_guards():
        yield
