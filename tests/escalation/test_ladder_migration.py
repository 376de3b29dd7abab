"""Existing escalation configuration moves onto ladders, policy slugs, numbered steps, impact
conditions and duties (migrations 0010-0012), and behaves as before."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from escalation.models import EscalationLevel, EscalationPolicy, ImpactRule, Rota
from tests.conftest import COMMITTED_DB

BEFORE = [("escalation", "0009_notification_to_address")]


@COMMITTED_DB
def test_existing_levels_policies_rules_and_the_checker_rota_migrate(postgres):
    """Migrate back to before ladders, configure escalation the old way (a manager's own L5, a
    policy whose steps share an order, a second revenue rule), and migrate forward."""
    executor = MigrationExecutor(connection)
    leaf = executor.loader.graph.leaf_nodes()
    # Going back drops the condition rows and leaves the old column empty: put back what the
    # default rules tested before ladders, as a database that never had them holds it.
    conditions = {rule.pk: rule.slug.replace("-", "_") for rule in ImpactRule.objects.all()}
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        for pk, condition in conditions.items():
            old.get_model("escalation", "ImpactRule").objects.filter(pk=pk).update(
                condition=condition)
        Level = old.get_model("escalation", "EscalationLevel")
        Policy = old.get_model("escalation", "EscalationPolicy")
        Rule = old.get_model("escalation", "ImpactRule")
        Severity = old.get_model("incidents", "SeverityLevel")
        board = Level.objects.create(number=5, name="Board")
        old.get_model("escalation", "LevelResponseTime").objects.create(
            level=board, severity=Severity.objects.get(code="P0"),
            response_time=timedelta(hours=2))
        p2 = Policy.objects.get(severity__code="P2")
        first = p2.steps.order_by("order").first()
        p2.steps.create(order=first.order, delay=timedelta(days=2), level=board,
                        action="Two business days: the board hears of it")
        Rule.objects.create(name="Big revenue loss", condition="revenue",
                            delay=timedelta(minutes=5), level=board)

        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(leaf)
    finally:
        MigrationExecutor(connection).migrate(leaf)

    levels = EscalationLevel.objects.filter(ladder__slug="standard", ladder__is_default=True)
    assert list(levels.values_list("number", flat=True)) == [1, 2, 3, 4, 5]
    assert levels.get(number=5).response_times.get().response_time == timedelta(hours=2)
    policies = EscalationPolicy.objects.all()
    assert {policy.ladder.slug for policy in policies} == {"standard"}
    assert len({policy.slug for policy in policies}) == policies.count()
    p2 = EscalationPolicy.objects.get(severity__code="P2")
    assert list(p2.steps.values_list("order", "level__number")) == [(1, 2), (2, 5)]

    rule = ImpactRule.objects.get(name="Big revenue loss")
    assert rule.level.number == 5
    assert rule.slug == "revenue-2"  # the default revenue rule came first
    assert [(c.attribute, c.value) for c in rule.conditions.all()] == [
        ("revenue_impact_per_hour", "")]
    assert rule.matches(SimpleNamespace(revenue_impact_per_hour=10))
    assert not rule.matches(SimpleNamespace(revenue_impact_per_hour=0))
    security = ImpactRule.objects.get(slug="security")
    assert security.matches(SimpleNamespace(is_security=False,
                                            incident_type=SimpleNamespace(code="security")))
    assert not security.matches(SimpleNamespace(is_security=False,
                                                incident_type=SimpleNamespace(code="business")))
    assert ImpactRule.objects.filter(conditions__isnull=True).count() == 0

    checker = Rota.objects.get(name="Daily log checker")
    assert checker.asks_to_triage
    assert {p.codename for p in checker.duty_permissions.all()} == {
        "triage_incident", "change_incident_severity", "assign_incident_roles"}
