"""Deadline handlers of the escalation app. Each runs inside the sweep's transaction with its
Deadline rows locked (see escalation.deadlines), so it acts exactly once; it only writes rows and
queues outbox notifications. Each acts as at the timer's due time (`deadline.acts_at`), however
late the sweep runs, and checks the state of its subject at that time.

The frequent kinds are set-based: all due timers of the kind in a sweep batch are handled with
a few bulk reads and writes (see the `*_many` services), and one `LevelDirectory` answers who a
level calls at each moment."""

from __future__ import annotations

from incidents.models import Incident

from .deadlines import register, register_batch
from .models import (
    Deadline,
    EscalationEvent,
    EscalationLevel,
    EscalationStep,
    ImpactRule,
    SlaClock,
)
from . import selectors, services


def _directory(deadlines: list[Deadline]) -> selectors.LevelDirectory:
    return selectors.LevelDirectory(since=min(d.acts_at for d in deadlines))


def _payload_ids(deadlines: list[Deadline], key: str) -> set:
    return {d.payload.get(key) for d in deadlines if d.payload.get(key) is not None}


def _clocks(deadlines: list[Deadline]) -> dict[int, SlaClock]:
    """The timers' clocks, locked (never their incidents: see escalation.deadlines)."""
    return {clock.pk: clock for clock in
            SlaClock.objects.select_for_update(of=("self",))
            .select_related("incident", "incident__severity", "incident__incident_manager",
                            "incident__reporter")
            .filter(pk__in=_payload_ids(deadlines, "clock")).order_by("pk")}


@register_batch("sla.response")
@register_batch("sla.resolution")
def sla_breaches(deadlines: list[Deadline]) -> None:
    clocks = _clocks(deadlines)
    services.sla_clocks_breach(
        [(clocks[d.payload["clock"]], d.acts_at) for d in deadlines
         if d.payload.get("clock") in clocks], _directory(deadlines))


@register_batch("sla.at_risk")
def sla_at_risk(deadlines: list[Deadline]) -> None:
    clocks = _clocks(deadlines)
    services.sla_clocks_warn_at_risk(
        [clocks[d.payload["clock"]] for d in deadlines if d.payload.get("clock") in clocks])


@register_batch("escalation.step")
def escalation_steps(deadlines: list[Deadline]) -> None:
    steps = EscalationStep.objects.select_related("level").in_bulk(
        _payload_ids(deadlines, "step"))
    removed = [d for d in deadlines if d.payload.get("step") not in steps]
    levels = EscalationLevel.objects.in_bulk(_payload_ids(removed, "level"))
    incidents = Incident.objects.select_related("severity", "incident_manager").in_bulk(
        {d.incident_id for d in deadlines})
    due = []
    for d in deadlines:
        step = steps.get(d.payload.get("step")) or _step_as_scheduled(d, levels)
        if step is not None and d.incident_id in incidents:
            due.append((step, incidents[d.incident_id], d.acts_at))
    services.escalation_steps_fire(due, _directory(deadlines))


def _step_as_scheduled(deadline: Deadline, levels: dict) -> EscalationStep | None:
    """A step removed from the procedure (an import dropped it) after its timer was set: the
    timer still escalates as it was told then (an unsaved stand-in, so the event names no
    step). Timers set before they carried their level have nothing to go on."""
    level = levels.get(deadline.payload.get("level"))
    if level is None:
        return None
    return EscalationStep(level=level, action=deadline.payload.get("action", ""),
                          anchor=deadline.payload.get("anchor", EscalationStep.Anchor.START))


@register("escalation.rule")
def escalation_rule(deadline: Deadline) -> None:
    rule = ImpactRule.objects.select_related("level").filter(
        pk=deadline.payload.get("rule")).first()
    if rule is not None and deadline.incident is not None:
        services.escalation_rule_fire(rule, deadline.incident, at=deadline.acts_at)


@register_batch("escalation.reminder")
def escalation_reminders(deadlines: list[Deadline]) -> None:
    events = {event.pk: event for event in
              EscalationEvent.objects.select_for_update(of=("self",))
              .select_related("incident", "incident__severity", "incident__incident_manager",
                              "level")
              .filter(pk__in=_payload_ids(deadlines, "event")).order_by("pk")}
    services.escalations_remind(
        [(events[d.payload["event"]], d.acts_at) for d in deadlines
         if d.payload.get("event") in events], _directory(deadlines))
