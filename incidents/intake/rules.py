"""Auto-triage: run the ordered rules over a new alert and decide what its incident looks like.

Rules are read once per decision with their conditions and services prefetched (a handful of
queries, whatever the number of rules); a decision is pure data, so the admin's preview shows
exactly what intake would do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from . import matching
from .models import Integration, RuleCondition, TriageRule


@dataclass
class ConditionOutcome:
    condition: str
    holds: bool


@dataclass
class RuleOutcome:
    rule: TriageRule
    matched: bool
    conditions: list[ConditionOutcome]


@dataclass
class Decision:
    rule: TriageRule | None = None  # the last rule that matched
    matched: list[TriageRule] = field(default_factory=list)
    suppress: bool = False
    severity: Any = None
    incident_type: Any = None
    services: list = field(default_factory=list)
    title: str = ""
    page_rotas: list = field(default_factory=list)
    page_groups: list = field(default_factory=list)
    page_roles: list = field(default_factory=list)
    restrict: bool = False
    restrict_to_groups: list = field(default_factory=list)
    trace: list[RuleOutcome] = field(default_factory=list)


def rules_for(integration: Integration | None) -> list[TriageRule]:
    rules = TriageRule.objects.filter(is_active=True)
    if integration is not None:
        rules = rules.filter(Q(integration__isnull=True) | Q(integration=integration))
    return list(rules.select_related("set_severity", "set_type", "page_rota", "page_group")
                .prefetch_related("conditions", "set_services", "restrict_to_groups",
                                  "page_roles").order_by("order", "id"))


def evaluate(rule: TriageRule, view: dict[str, Any],
             conditions: Iterable[RuleCondition] | None = None) -> RuleOutcome:
    """Does `rule` match the alert `view`? Every condition must hold (a rule with none matches
    every alert: a catch-all)."""
    conditions = list(rule.conditions.all() if conditions is None else conditions)
    outcomes = [ConditionOutcome(str(c), matching.holds(view, c.field, c.operator, c.value))
                for c in conditions]
    return RuleOutcome(rule, all(o.holds for o in outcomes), outcomes)


def decide(integration: Integration | None, view: dict[str, Any],
           rules: list[TriageRule] | None = None) -> Decision:
    decision = Decision()
    for rule in rules_for(integration) if rules is None else rules:
        outcome = evaluate(rule, view)
        decision.trace.append(outcome)
        if not outcome.matched:
            continue
        _apply(decision, rule, view)
        if decision.suppress or not rule.continue_after_match:
            break
    return decision


def _apply(decision: Decision, rule: TriageRule, view: dict[str, Any]) -> None:
    decision.rule = rule
    decision.matched.append(rule)
    decision.suppress = decision.suppress or rule.suppress
    if rule.set_severity is not None:
        decision.severity = rule.set_severity
    if rule.set_type is not None:
        decision.incident_type = rule.set_type
    services = list(rule.set_services.all())
    if services:
        decision.services = services
    if rule.title_template:
        decision.title = matching.render_title(rule.title_template, view)[:200]
    if rule.page_rota is not None:
        decision.page_rotas.append(rule.page_rota)
    if rule.page_group is not None:
        decision.page_groups.append(rule.page_group)
    decision.page_roles.extend(role for role in rule.page_roles.all()
                               if role not in decision.page_roles)
    if rule.restrict:
        decision.restrict = True
        decision.restrict_to_groups.extend(rule.restrict_to_groups.all())
