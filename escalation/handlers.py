"""Deadline handlers of the escalation app. Each runs inside the sweep's transaction with its
Deadline row locked (see escalation.deadlines), so it acts exactly once; it only writes rows and
queues outbox notifications. Each acts as at the timer's due time (`deadline.due_at`), however
late the sweep runs, and checks the state of its subject at that time."""

from __future__ import annotations

from .deadlines import register
from .models import Deadline, EscalationEvent, EscalationStep, ImpactRule, SlaClock
from . import services


def _clock(deadline: Deadline) -> SlaClock | None:
    return (SlaClock.objects.select_for_update(of=("self",))
            .select_related("incident", "incident__severity", "incident__incident_manager",
                            "incident__reporter")
            .filter(pk=deadline.payload.get("clock")).first())


@register("sla.response")
@register("sla.resolution")
def sla_breach(deadline: Deadline) -> None:
    clock = _clock(deadline)
    if clock is not None:
        services.sla_clock_breach(clock, at=deadline.due_at)


@register("sla.at_risk")
def sla_at_risk(deadline: Deadline) -> None:
    clock = _clock(deadline)
    if clock is not None:
        services.sla_clock_warn_at_risk(clock, now=deadline.fired_at)


@register("escalation.step")
def escalation_step(deadline: Deadline) -> None:
    step = EscalationStep.objects.select_related("level").filter(
        pk=deadline.payload.get("step")).first()
    if step is not None and deadline.incident is not None:
        services.escalation_step_fire(step, deadline.incident, at=deadline.due_at)


@register("escalation.rule")
def escalation_rule(deadline: Deadline) -> None:
    rule = ImpactRule.objects.select_related("level").filter(
        pk=deadline.payload.get("rule")).first()
    if rule is not None and deadline.incident is not None:
        services.escalation_rule_fire(rule, deadline.incident, at=deadline.due_at)


@register("escalation.reminder")
def escalation_reminder(deadline: Deadline) -> None:
    event = (EscalationEvent.objects.select_for_update(of=("self",))
             .select_related("incident", "incident__severity", "level")
             .filter(pk=deadline.payload.get("event")).first())
    if event is not None:
        services.escalation_remind(event, at=deadline.due_at)
