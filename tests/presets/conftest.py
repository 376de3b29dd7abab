"""End-to-end runs of the five shipped presets: load one, declare an incident under it, walk
the clock through the deadline sweep with time-machine, and read what fired.

`walk.to(offset)` travels to `start + offset`, sweeps (as beat would, until nothing is due)
and returns the notifications that
this sweep created; `walk.reasons(...)` shortens them to their reasons. Tests state each of
the document's times as the minute before (nothing) and the minute itself (it fires)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation.deadlines import deadlines_sweep
from escalation.models import Notification
from incidents import services
from incidents.models import Incident, IncidentChecklistItem, SeverityLevel
from incidents.procedure.presets import preset_load

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
# Monday 15 June 2026, 09:00 in Amsterdam: inside office hours, so business-hours clocks run.
MONDAY_MORNING = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)


@dataclass
class Walk:
    start: datetime
    seen: int = 0
    fired: list[Notification] = field(default_factory=list)

    def __post_init__(self):
        self.seen = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def to(self, offset: timedelta) -> list[Notification]:
        with time_machine.travel(self.start + offset, tick=False):
            # A timer that fires can schedule another due at once (a breach-anchored step):
            # beat's next sweep moments later takes it, so sweep until nothing is due.
            for _ in range(5):
                if not deadlines_sweep():
                    break
        return self.since_last()

    def since_last(self) -> list[Notification]:
        new = list(Notification.objects.filter(pk__gt=self.seen).order_by("pk")
                   .select_related("recipient"))
        if new:
            self.seen = new[-1].pk
        self.fired += new
        return new

    def reasons(self, offset: timedelta) -> set[str]:
        return {short(n.reason) for n in self.to(offset)}

    def at(self, offset: timedelta):
        """`with walk.at(HOUR): services.incident_resolve(...)`: act at that moment."""
        return time_machine.travel(self.start + offset, tick=False)


def short(reason: str) -> str:
    """Reasons carry ids ("checklist.window_ended.42"); tests compare their stable part."""
    parts = reason.split(".")
    while parts and (parts[-1].isdigit() or parts[-1][:4].isdigit()):
        parts.pop()
    return ".".join(parts)


def recipients(notifications, reason_prefix: str) -> set[str]:
    return {n.recipient.username for n in notifications
            if n.recipient_id and n.reason.startswith(reason_prefix)}


@pytest.fixture
def load_preset(db):
    def load(slug: str):
        result = preset_load(slug, reason=f"Test of the {slug} preset")
        assert result.applied
        return result
    return load


@pytest.fixture
def level(db):
    return lambda code: SeverityLevel.objects.get(code=code, is_active=True)


@pytest.fixture
def declare_at(make_user):
    """declare_at(start, severity, **impact) -> (incident, Walk starting at `start`)."""
    def declare(start: datetime, severity: SeverityLevel, *, by=None, **kwargs):
        by = by or make_user("Responder", username="reporter")
        walk = Walk(start)
        with time_machine.travel(start, tick=False):
            incident = services.incident_declare(by=by, title="Checkout fails for everyone",
                                                 severity=severity, **kwargs)
        walk.since_last()
        return incident, walk
    return declare


def levels_reached(incident: Incident) -> list[tuple[str, int]]:
    """(ladder, level number) of each escalation so far, in order."""
    from escalation.models import EscalationEvent

    return list(EscalationEvent.objects.filter(incident=incident).order_by("at", "id")
                .values_list("level__ladder__slug", "level__number"))


def checklist(incident: Incident) -> dict[str, IncidentChecklistItem]:
    """The incident's items by their text."""
    return {item.text: item for item in incident.checklist_items.all()}
