"""Each incident's stored SLA outcome (`SlaOutcome`), written by the clock services in the
transaction that changes a clock, so reports read plain columns instead of joining clocks.
Set-based: a sweep batch of breaches writes its outcomes in one statement per kind. Rows are
written in incident order, so two writers of a batch never wait on each other in a circle."""

from __future__ import annotations

from collections.abc import Iterable

from ..models import SlaClock, SlaOutcome, clock_result


def sla_outcomes_record(clocks: Iterable[SlaClock]) -> None:
    """Store each clock's due time and decided outcome (None while it runs) on its
    incident's row, creating the row when it has none."""
    latest: dict[str, dict[int, SlaClock]] = {}
    for clock in clocks:
        latest.setdefault(clock.kind, {})[clock.incident_id] = clock
    for kind, by_incident in sorted(latest.items()):
        due_at = f"{kind}_due_at"
        SlaOutcome.objects.bulk_create(
            [SlaOutcome(incident_id=pk, **{due_at: clock.due_at, kind: clock_result(clock)})
             for pk, clock in sorted(by_incident.items())],
            update_conflicts=True, unique_fields=["incident"], update_fields=[due_at, kind],
        )
