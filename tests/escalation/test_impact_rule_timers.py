"""A delayed impact rule is a timer: when it falls due, the incident escalates as of that moment,
unless by then the rule no longer applies (switched off, another type, conditions changed),
the incident was no longer open at that moment, or the rule has already escalated it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation import services as escalation_services
from escalation.deadlines import deadlines_sweep
from escalation.models import Deadline, EscalationEvent, EscalationLadder, ImpactRule
from incidents import services
from incidents.models import IncidentType

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)
DELAY = timedelta(minutes=10)


@pytest.fixture
def rule():
    """The only active rule: customer-facing incidents of the technical type go to L3 after
    ten minutes."""
    ImpactRule.objects.update(is_active=False)
    rule = ImpactRule.objects.create(
        name="Customers hit for ten minutes", delay=DELAY,
        incident_type=IncidentType.objects.get(code="technical"),
        level=EscalationLadder.objects.get(is_default=True).levels.get(number=3))
    rule.conditions.create(attribute="is_customer_facing")
    return rule


@pytest.fixture
def incident(declare, rule):
    with time_machine.travel(START, tick=False):
        return declare(severity="P2", is_customer_facing=True,
                       incident_type=IncidentType.objects.get(code="technical"))


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        deadlines_sweep()


def resolve_at(moment, incident, manager):
    with time_machine.travel(moment, tick=False):
        services.incident_assign_role(incident, by=manager, role="incident_manager", user=manager)
        services.incident_triage(incident, by=manager)
        services.incident_resolve(incident, by=manager, summary="Rolled back")
    incident.refresh_from_db()


def rule_escalations(incident):
    return list(EscalationEvent.objects.filter(incident=incident, rule__isnull=False))


def test_a_delayed_rule_escalates_as_of_its_due_time_under_its_name(incident, rule):
    sweep_at(START + DELAY - timedelta(seconds=1))
    assert rule_escalations(incident) == []
    sweep_at(START + 3 * DELAY)  # the sweep ran late: the escalation is dated when it was due
    (event,) = rule_escalations(incident)
    assert (event.rule, event.level.number, event.at) == (rule, 3, START + DELAY)
    assert (event.reason_category, event.note, event.by) == (
        EscalationEvent.ReasonCategory.IMPACT, "Customers hit for ten minutes", None)


def test_a_rule_due_while_the_incident_was_open_escalates_though_it_was_resolved_before_the_sweep(
    incident, incident_manager, core_guards_only
):
    resolve_at(START + 2 * DELAY, incident, incident_manager)
    sweep_at(START + 3 * DELAY)
    assert [event.at for event in rule_escalations(incident)] == [START + DELAY]


def test_a_rule_never_escalates_an_incident_that_had_ended_by_its_due_time(
    incident, rule, incident_manager, core_guards_only
):
    resolve_at(START + DELAY / 2, incident, incident_manager)
    assert escalation_services.escalation_rule_fire(rule, incident, at=START + DELAY) is False
    assert rule_escalations(incident) == []


def test_a_rule_switched_off_before_its_time_does_not_escalate(incident, rule):
    with time_machine.travel(START + DELAY / 2, tick=False):
        ImpactRule.objects.filter(pk=rule.pk).update(is_active=False)
    sweep_at(START + 2 * DELAY)
    assert rule_escalations(incident) == []


def test_a_rule_of_another_type_does_not_escalate_when_its_timer_falls_due(incident, rule):
    rule.incident_type = IncidentType.objects.get(code="process")
    rule.save()
    sweep_at(START + 2 * DELAY)
    assert rule_escalations(incident) == []


def test_a_rule_whose_conditions_the_incident_no_longer_meets_does_not_escalate(incident, rule):
    rule.conditions.update(attribute="is_security")
    sweep_at(START + 2 * DELAY)
    assert rule_escalations(incident) == []


def test_a_rule_escalates_an_incident_once(incident, rule):
    with time_machine.travel(START + DELAY, tick=False):
        assert escalation_services.escalation_rule_fire(rule, incident, at=START + DELAY) is True
    assert escalation_services.escalation_rule_fire(rule, incident, at=START + 3 * DELAY) is False
    assert len(rule_escalations(incident)) == 1


def test_only_that_rules_escalation_counts_as_it_having_fired(incident, rule, incident_manager):
    """An escalation by a person, or by another rule, does not use up this rule."""
    with time_machine.travel(START + DELAY / 2, tick=False):
        escalation_services.escalation_record(
            incident, level=rule.level, source=EscalationEvent.Source.MANUAL,
            reason_category=EscalationEvent.ReasonCategory.IMPACT, note="Customers calling",
            by=incident_manager, now=START + DELAY / 2)
    sweep_at(START + 2 * DELAY)
    assert [event.rule for event in rule_escalations(incident)] == [rule]


def change_impact_at(moment, incident, person, **impact):
    with time_machine.travel(moment, tick=False):
        services.incident_update_impact(incident, by=person, reason="Impact reassessed", **impact)


def test_an_impact_change_while_the_rule_still_matches_keeps_its_due_time(
    incident, rule, responder
):
    change_impact_at(START + DELAY / 2, incident, responder, customers_affected=40)
    sweep_at(START + DELAY)
    assert [event.at for event in rule_escalations(incident)] == [START + DELAY]


def test_a_rule_that_stopped_matching_counts_its_delay_afresh_when_it_matches_again(
    incident, rule, responder
):
    """Customers hit, then not (the rule is called off), then hit again: the ten minutes start
    from the second time."""
    change_impact_at(START + DELAY / 5, incident, responder, is_customer_facing=False)
    change_impact_at(START + DELAY / 2, incident, responder, is_customer_facing=True)
    sweep_at(START + DELAY)
    assert rule_escalations(incident) == []
    sweep_at(START + DELAY / 2 + DELAY)
    assert [event.at for event in rule_escalations(incident)] == [START + DELAY / 2 + DELAY]


def test_a_rule_called_off_leaves_the_incidents_other_timers_running(
        incident, rule, incident_manager):
    def other_timers():
        return set(Deadline.objects.filter(incident=incident, fired_at=None, cancelled_at=None)
                   .exclude(kind="escalation.rule").exclude(key__startswith="comms.")
                   .values_list("pk", flat=True))

    before = other_timers()
    assert before, "the P2 has its SLA and escalation timers"
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        services.incident_update_impact(incident, by=incident_manager, is_customer_facing=False)
    assert not Deadline.objects.filter(incident=incident, kind="escalation.rule",
                                       cancelled_at=None).exists()
    assert other_timers() == before
