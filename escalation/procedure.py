"""Escalation's part of a procedure: calendars, rotas (without people), ladders with their
levels, policies per severity x type with their steps, and impact rules with their conditions.
Rows are keyed by their natural keys (slugs; a level by its ladder and number)."""

from incidents.procedure import Children, Section, register

from .models import (
    PENDING,
    BusinessCalendar,
    Deadline,
    EscalationLadder,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    Holiday,
    ImpactCondition,
    ImpactRule,
    LevelResponseTime,
    Rota,
)

register(Section(
    name="calendars", model=BusinessCalendar, key=("name",), order=10,
    children=(Children(name="holidays", model=Holiday, key=("date",), parent_field="calendar"),),
    help="Working days and hours that business-hours clocks count.",
))
register(Section(
    name="rotas", model=Rota, key=("slug",), order=40, exclude=("rotation_start",),
    help="On-call rotations and duties (asked to triage, permissions while on duty); their "
         "members are people, so they are set up in the admin.",
))
register(Section(
    name="escalation_ladders", model=EscalationLadder, key=("slug",), order=41,
    help="Named ladders of escalation levels (the default one, a type's own matrix).",
))


def level_awaited(level: EscalationLevel) -> bool:
    """A pending step timer will escalate to the level (its step may be gone: the timer
    carries its level), so a prune keeps the level until the timer has fired."""
    return Deadline.objects.filter(PENDING, kind="escalation.step",
                                   payload__level=level.pk).exists()


register(Section(
    name="escalation_levels", model=EscalationLevel, key=("ladder", "number"), order=42,
    in_use=level_awaited,
    children=(Children(name="response_times", model=LevelResponseTime, key=("severity",),
                       parent_field="level"),),
    help="Who is called at each level of each ladder, and how fast each level must respond "
         "per severity.",
))
register(Section(
    name="escalation_policies", model=EscalationPolicy, key=("slug",), order=50,
    retire_field="is_active",
    children=(Children(name="steps", model=EscalationStep, key=("order",),
                       parent_field="policy"),),
    help="Per severity x type: the ladder and the timed steps up it.",
))
register(Section(
    name="impact_rules", model=ImpactRule, key=("slug",), order=50, retire_field="is_active",
    children=(Children(name="conditions", model=ImpactCondition, key=("attribute", "value"),
                       parent_field="rule"),),
    help="Escalation triggered by an incident's impact.",
))
