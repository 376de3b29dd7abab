"""Reasons to refuse a transition, in words.

Each transition's condition asks every registered guard for reasons; an empty list means
"go ahead". The incident app registers its own guards below; other apps (checklists,
post-mortems) register theirs in their AppConfig.ready(), so the lifecycle stays in one place
while the rules that block it live next to the data they check."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Guard = Callable[["Incident"], list[str]]  # noqa: F821

_guards: dict[str, list[Guard]] = defaultdict(list)


def register(transition_name: str, guard: Guard) -> Guard:
    if guard not in _guards[transition_name]:
        _guards[transition_name].append(guard)
    return guard


@contextmanager
def registered(transition_name: str, *extra: Guard) -> Iterator[None]:
    """Guards that apply only inside the block (for tests and one-off checks)."""
    for guard in extra:
        register(transition_name, guard)
    try:
        yield
    finally:
        for guard in extra:
            if guard in _guards[transition_name]:
                _guards[transition_name].remove(guard)


@contextmanager
def only_own_guards() -> Iterator[None]:
    """Inside the block only the incident's own guards (below) apply. Tests of one area use
    it so that the rules other areas register (checklists, reviews) don't decide their set-up;
    those rules are tested by their own areas."""
    saved = {name: list(registered_) for name, registered_ in _guards.items()}
    for name, registered_ in saved.items():
        _guards[name] = [guard for guard in registered_ if guard.__module__ == __name__]
    try:
        yield
    finally:
        _guards.clear()
        _guards.update(saved)


def refusal_reasons(incident, transition_name: str) -> list[str]:
    reasons: list[str] = []
    for guard in _guards[transition_name]:
        reasons.extend(guard(incident))
    return reasons


def condition(transition_name: str) -> Callable:
    def passes(incident) -> bool:
        return not refusal_reasons(incident, transition_name)

    passes.__name__ = f"guards_pass_for_{transition_name}"
    return passes


def _needs_incident_manager(incident) -> list[str]:
    if incident.incident_manager_id is None:
        return ["An incident manager must be assigned before the incident can be triaged."]
    return []


def _needs_resolution_summary(incident) -> list[str]:
    if not incident.resolution_summary.strip():
        return ["A resolution summary is required to resolve the incident."]
    return []


def _needs_duplicate_target(incident) -> list[str]:
    if incident.duplicate_of_id is None:
        return ["Choose the incident this one duplicates."]
    if incident.duplicate_of_id == incident.pk:
        return ["An incident cannot be a duplicate of itself."]
    return []


register("triage", _needs_incident_manager)
register("resolve", _needs_resolution_summary)
register("mark_duplicate", _needs_duplicate_target)
