"""Ladders, policies per severity x type, impact rules with their conditions and duty rotas are
procedure-file sections, so a preset can carry seed 004's security matrix and seed 002's
checker duty: exporting and importing changes nothing, and a database without them gets them
back exactly from the file."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import yaml
from django.contrib.auth.models import Group, Permission

from escalation.models import (
    BusinessCalendar,
    EscalationEvent,
    EscalationLadder,
    EscalationPolicy,
    ImpactRule,
    LevelResponseTime,
    Rota,
)
from escalation.selectors import escalation_policy_for
from incidents.procedure import procedure_export, procedure_import

pytestmark = pytest.mark.django_db

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


@pytest.fixture
def security_matrix(severities, incident_types):
    """Seed 004's security escalation as data: its own ladder, a policy for security incidents
    at P0 (minute timings, one step anchored on the response breach), level 5's response time,
    an impact rule for security incidents needing all of two conditions, and a duty rota."""
    security_team = Group.objects.create(name="Security team")
    duty = Rota.objects.create(name="Security duty", asks_to_triage=True,
                               handoff_time=time(8), shift_length=12 * HOUR)
    duty.duty_permissions.set(Permission.objects.filter(
        content_type__app_label="incidents",
        codename__in=["triage_incident", "change_incident_severity"]))
    ladder = EscalationLadder.objects.create(slug="security", name="Security escalation",
                                             description="Seed 004 security matrix")
    names = ["Security and incident response team", "CISO and engineering management",
             "Executive leadership and legal counsel", "Board and regulators",
             "Customer notification and public disclosure"]
    for number, name in enumerate(names, start=1):
        level = ladder.levels.create(number=number, name=name,
                                     rota=duty if number == 1 else None)
        if number == 1:
            level.groups.add(security_team)
    LevelResponseTime.objects.create(level=ladder.levels.get(number=5),
                                     severity=severities["P0"], response_time=20 * HOUR)
    policy = EscalationPolicy.objects.create(
        slug="p0-security", name="P0 security", severity=severities["P0"], ladder=ladder,
        incident_type=incident_types["security"])
    for order, (delay, number, anchor) in enumerate(
            [(timedelta(0), 1, "start"), (15 * MINUTE, 2, "start"), (30 * MINUTE, 3, "start"),
             (HOUR, 4, "start"), (4 * HOUR, 5, "response_breach")], start=1):
        policy.steps.create(order=order, delay=delay, anchor=anchor, action=f"Level {number}",
                            level=ladder.levels.get(number=number))
    rule = ImpactRule.objects.create(slug="mass-exposure", name="Mass data exposure",
                                     match="all", delay=15 * MINUTE,
                                     level=ladder.levels.get(number=3),
                                     incident_type=incident_types["security"])
    rule.conditions.create(attribute="is_data_integrity")
    rule.conditions.create(attribute="customers_affected", at_least=1000)
    return ladder


def section(document, name, **match):
    return next(entry for entry in document[name]
                if all(entry.get(k) == v for k, v in match.items()))


def test_the_security_matrix_and_a_duty_round_trip_without_changes(security_matrix):
    text = procedure_export(name="Seed 004")
    plan = procedure_import(text, reason="Round trip", dry_run=True)
    assert {change.action for change in plan.changes} == {"keep"}
    result = procedure_import(text, reason="Round trip")
    assert result.changed == []
    assert procedure_export(name="Seed 004") == text


def test_the_sections_read_as_the_lead_writes_them(security_matrix):
    document = yaml.safe_load(procedure_export(name="Seed 004"))
    assert section(document, "escalation_ladders", slug="security")["name"] == \
        "Security escalation"
    first = section(document, "escalation_levels", ladder="security", number=1)
    assert (first["rota"], first["groups"]) == ("security-duty", ["Security team"])
    fifth = section(document, "escalation_levels", ladder="security", number=5)
    assert fifth["response_times"] == [{"severity": "P0", "response_time": "20h"}]
    policy = section(document, "escalation_policies", slug="p0-security")
    assert (policy["severity"], policy["incident_type"], policy["ladder"]) == \
        ("P0", "security", "security")
    assert policy["steps"][1] == {"order": 2, "delay": "15m", "level": ["security", 2],
                                  "action": "Level 2"}
    assert policy["steps"][4]["anchor"] == "response_breach"
    rule = section(document, "impact_rules", slug="mass-exposure")
    assert (rule["match"], rule["delay"], rule["level"], rule["incident_type"]) == \
        ("all", "15m", ["security", 3], "security")
    # A condition is keyed by attribute and value ("" but for "type is"), so both are written.
    assert rule["conditions"] == [
        {"attribute": "is_data_integrity", "value": ""},
        {"attribute": "customers_affected", "value": "", "at_least": "1000.00"}]
    duty = section(document, "rotas", slug="security-duty")
    assert duty["asks_to_triage"] is True and duty["shift_length"] == "12h"
    assert sorted(duty["duty_permissions"]) == ["incidents.change_incident_severity",
                                                "incidents.triage_incident"]
    assert "members" not in duty and "rotation_start" not in duty


def test_a_database_without_the_matrix_gets_it_back_from_the_file(security_matrix):
    text = procedure_export(name="Seed 004")
    ImpactRule.objects.filter(slug="mass-exposure").delete()
    EscalationPolicy.objects.filter(slug="p0-security").delete()
    security_matrix.delete()
    Rota.objects.filter(slug="security-duty").delete()

    procedure_import(text, reason="Seed 004 preset")

    assert procedure_export(name="Seed 004") == text
    policy = EscalationPolicy.objects.get(slug="p0-security")
    assert list(policy.steps.values_list("level__number", flat=True)) == [1, 2, 3, 4, 5]
    assert Rota.objects.get(slug="security-duty").duty_permissions.count() == 2


def _renamed(document: dict, ladder: str, policy_prefix: str) -> dict:
    """The same escalation under other names, as another team's procedure file would have it:
    its own default ladder and its own policies at the same severities."""
    old = "standard"
    for entry in document["escalation_ladders"]:
        if entry["slug"] == old:
            entry["slug"], entry["name"] = ladder, f"{ladder} ladder"
    for entry in document["escalation_levels"]:
        if entry["ladder"] == old:
            entry["ladder"] = ladder
    for entry in document["escalation_policies"]:
        entry["slug"] = f"{policy_prefix}-{entry['slug']}"
        entry["name"] = f"{policy_prefix} {entry['name']}"
        if entry["ladder"] == old:
            entry["ladder"] = ladder
        for step in entry["steps"]:
            if step.get("level") and step["level"][0] == old:
                step["level"][0] = ladder
    for entry in document["calendars"]:
        entry["name"] = f"{entry['name']} ({policy_prefix})"
    return document


def test_a_procedure_with_its_own_default_ladder_policies_and_calendar_replaces_the_old_ones(
        severities, declare):
    """Switching to another team's procedure: its default ladder, policies and calendar take
    over from the ones it does not list, whatever they are called; the old policy, still named
    by an incident's escalation plan, is retired rather than blocking its successor."""
    # An incident that climbed the old P1 path: the record names its step and level, so the
    # prune must retire the old policy and keep the old ladder instead of deleting them.
    step = EscalationPolicy.objects.get(slug="p1-escalation-path").steps.first()
    EscalationEvent.objects.create(incident=declare(severity="P1"), level=step.level, step=step,
                                   source="step", reason_category="time")
    document = _renamed(yaml.safe_load(procedure_export(name="Ours")), "first-line", "team-b")

    procedure_import(yaml.safe_dump(document), reason="Team B's procedure", prune=True)

    assert list(EscalationLadder.objects.filter(is_default=True)
                .values_list("slug", flat=True)) == ["first-line"]
    assert list(BusinessCalendar.objects.filter(is_default=True)
                .values_list("name", flat=True)) == ["Office hours (Amsterdam) (team-b)"]
    active = EscalationPolicy.objects.filter(severity=severities["P1"], is_active=True)
    assert [(p.slug, p.ladder.slug) for p in active] == [
        ("team-b-p1-escalation-path", "first-line")]
    assert EscalationPolicy.objects.get(slug="p1-escalation-path").is_active is False
    incident = declare(severity="P1", title="After the switch")
    assert escalation_policy_for(incident).slug == "team-b-p1-escalation-path"


def test_marking_a_ladder_default_moves_the_default_to_it(severities):
    other = EscalationLadder.objects.create(slug="other", name="Other ladder", is_default=True)

    assert list(EscalationLadder.objects.filter(is_default=True)) == [other]
    other.full_clean()  # "another ladder is already the default" is not an error
