"""Impact rules are data: conditions on an incident's impact (flags, figures with thresholds,
category), any or all of them, to a ladder level at once or after a delay. The default rows
test what the five hard-coded conditions tested before."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from escalation.deadlines import deadlines_sweep
from escalation.models import EscalationEvent, EscalationLadder, ImpactCondition, ImpactRule
from incidents import services
from incidents.models import IncidentType

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)


def rules_fired(incident) -> set[str]:
    return set(EscalationEvent.objects.filter(incident=incident, rule__isnull=False)
               .values_list("rule__slug", flat=True))


def test_the_default_rules_are_the_five_impact_triggers_as_conditions():
    described = {rule.slug: sorted(str(c) for c in rule.conditions.all())
                 for rule in ImpactRule.objects.all()}
    assert described == {
        "customer-facing": ["Customer-facing (flag)", "Customers affected (count) > 0"],
        "security": ["Security (flag)", "Type is security"],
        "compliance": ["Compliance (flag)"],
        "data-integrity": ["Data integrity (flag)"],
        "revenue": ["Revenue impact per hour > 0"],
    }


@pytest.mark.parametrize(("impact", "rule"), [
    ({"customers_affected": 12}, "customer-facing"),
    ({"incident_type": "security"}, "security"),
])
def test_either_condition_of_a_default_rule_escalates_at_once(declare, impact, rule):
    if "incident_type" in impact:
        impact = {"incident_type": IncidentType.objects.get(code=impact["incident_type"])}
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2", **impact)
    assert rules_fired(incident) == {rule}
    event = EscalationEvent.objects.get(incident=incident, rule__isnull=False)
    assert (event.at, event.note, event.by) == (START, event.rule.name, None)


def test_a_rule_of_one_type_leaves_other_types_alone(declare):
    ImpactRule.objects.update(is_active=False)
    rule = ImpactRule.objects.create(
        name="Process issue affecting customers", incident_type=IncidentType.objects.get(
            code="process"), level=EscalationLadder.objects.get(is_default=True).levels.first())
    rule.conditions.create(attribute="is_customer_facing")
    with time_machine.travel(START, tick=False):
        technical = declare(severity="P2", is_customer_facing=True,
                            incident_type=IncidentType.objects.get(code="technical"))
        process = declare(severity="P2", is_customer_facing=True,
                          incident_type=IncidentType.objects.get(code="process"))
    assert (rules_fired(technical), rules_fired(process)) == (set(), {rule.slug})


def test_a_rule_needing_all_its_conditions_waits_for_the_threshold(declare, responder):
    ImpactRule.objects.update(is_active=False)
    top = EscalationLadder.objects.get(is_default=True).levels.get(number=4)
    rule = ImpactRule.objects.create(name="Big customer-facing revenue loss", match="all",
                                     delay=timedelta(minutes=5), level=top)
    rule.conditions.create(attribute="is_customer_facing")
    rule.conditions.create(attribute="revenue_impact_per_hour", at_least=Decimal("10000"))
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", is_customer_facing=True, revenue_impact_per_hour=9000)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        deadlines_sweep()
        assert rules_fired(incident) == set()
        services.incident_update_impact(incident, by=responder, revenue_impact_per_hour=10000)
    with time_machine.travel(START + timedelta(hours=1, minutes=4), tick=False):
        deadlines_sweep()
    assert rules_fired(incident) == set()
    with time_machine.travel(START + timedelta(hours=1, minutes=5), tick=False):
        deadlines_sweep()
    assert rules_fired(incident) == {"big-customer-facing-revenue-loss"}
    assert EscalationEvent.objects.get(incident=incident).level == top


@pytest.mark.parametrize(("fields", "field_in_error"), [
    ({"attribute": "is_security", "value": "yes"}, "value"),
    ({"attribute": "is_security", "at_least": Decimal("1")}, "at_least"),
    ({"attribute": "incident_type", "value": ""}, "value"),
    ({"attribute": "incident_type", "value": "no-such-type"}, "value"),
    ({"attribute": "revenue_impact_per_hour", "value": "lots"}, "value"),
    ({"attribute": "revenue_impact_per_hour", "at_least": Decimal("-5")}, "at_least"),
])
def test_a_condition_that_cannot_be_tested_is_refused_naming_the_field(fields, field_in_error):
    condition = ImpactCondition(rule=ImpactRule.objects.get(slug="revenue"), **fields)
    with pytest.raises(ValidationError) as refused:
        condition.full_clean()
    assert field_in_error in refused.value.message_dict


def test_rules_that_escalated_leave_the_others_free_to_escalate(declare, responder):
    """Whatever order the rules are read in, one that has fired is passed over, not the end."""
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2", customers_affected=12, is_compliance=True)
    assert rules_fired(incident) == {"customer-facing", "compliance"}
    with time_machine.travel(START + timedelta(minutes=20), tick=False):
        services.incident_update_impact(incident, by=responder, is_security=True)
    assert rules_fired(incident) == {"customer-facing", "compliance", "security"}


def test_a_delay_of_one_second_is_still_a_delay(declare):
    ImpactRule.objects.update(is_active=False)
    rule = ImpactRule.objects.create(
        name="Customers affected", delay=timedelta(seconds=1),
        level=EscalationLadder.objects.get(is_default=True).levels.get(number=2))
    rule.conditions.create(attribute="is_customer_facing")
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2", is_customer_facing=True)
        assert rules_fired(incident) == set()
    with time_machine.travel(START + timedelta(seconds=1), tick=False):
        deadlines_sweep()
    event = EscalationEvent.objects.get(incident=incident, rule=rule)
    assert (event.at, event.level.number) == (START + timedelta(seconds=1), 2)


def test_a_rule_that_escalated_does_not_escalate_again_when_the_impact_changes(declare, responder):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P2", customers_affected=12)
    with time_machine.travel(START + timedelta(minutes=20), tick=False):
        services.incident_update_impact(incident, by=responder, customers_affected=40)
    assert list(EscalationEvent.objects.filter(incident=incident)
                .values_list("rule__slug", flat=True)) == ["customer-facing"]
