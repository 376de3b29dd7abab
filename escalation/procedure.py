"""Escalation's part of a procedure: calendars, rotas (without people), levels, policies and
impact rules."""

from incidents.procedure import Children, Section, register

from .models import (
    BusinessCalendar,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    Holiday,
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
    name="rotas", model=Rota, key=("name",), order=40, exclude=("rotation_start",),
    help="On-call rotations; their members are people, so they are set up in the admin.",
))
register(Section(
    name="escalation_levels", model=EscalationLevel, key=("number",), order=40,
    children=(Children(name="response_times", model=LevelResponseTime, key=("severity",),
                       parent_field="level"),),
    help="Who is called at each level, and how fast each level must respond per severity.",
))
register(Section(
    name="escalation_policies", model=EscalationPolicy, key=("severity",), order=50,
    retire_field="is_active",
    children=(Children(name="steps", model=EscalationStep, key=("order", "anchor", "level"),
                       parent_field="policy"),),
    help="Timed escalation steps per severity.",
))
register(Section(
    name="impact_rules", model=ImpactRule, key=("name",), order=50, retire_field="is_active",
    help="Escalation triggered by an incident's impact.",
))
