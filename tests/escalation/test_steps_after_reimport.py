"""A step's pending timer carries what it must do: a procedure import that drops the step (or
its whole policy) while an incident is mid-escalation does not leave that incident stuck; it
keeps escalating as it was told when the timer was set."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
import yaml

from escalation.deadlines import deadlines_sweep
from escalation.models import EscalationEvent, EscalationPolicy, EscalationStep
from escalation.selectors import escalation_policy_for
from incidents import services
from incidents.procedure import procedure_export, procedure_import

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)


def sweep_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return deadlines_sweep()


def escalations(incident) -> list[tuple[int, str, int | None]]:
    return list(EscalationEvent.objects.filter(incident=incident).order_by("at", "id")
                .values_list("level__number", "note", "step_id"))


@pytest.fixture
def p0(declare, incident_manager, staffed_levels):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)


def import_without(policy: EscalationPolicy, *, steps_after: int = 0, prune=False) -> None:
    """Import the exported procedure with the policy's steps after the first `steps_after`
    left out (all of them, and the policy, with `steps_after=0` and prune)."""
    document = yaml.safe_load(procedure_export())
    entries = document["escalation_policies"]
    entry = next(e for e in entries if e["slug"] == policy.slug)
    if steps_after:
        entry["steps"] = entry["steps"][:steps_after]
    else:
        entries.remove(entry)
    with time_machine.travel(START + 90 * MINUTE, tick=False):
        procedure_import(yaml.safe_dump(document, allow_unicode=True), reason="New procedure",
                         prune=prune)


def test_a_step_dropped_by_an_import_still_fires_as_it_was_scheduled(p0):
    policy = escalation_policy_for(p0)
    first, second = list(policy.steps.filter(anchor="start").order_by("order"))[:2]
    sweep_at(START + first.delay)
    import_without(policy, steps_after=1)
    assert not EscalationStep.objects.filter(pk=second.pk).exists()

    sweep_at(START + second.delay)
    assert escalations(p0)[:2] == [(first.level.number, first.action, first.pk),
                                   (second.level.number, second.action, None)]
    sweep_at(START + second.delay + HOUR)
    assert len([e for e in escalations(p0) if e[1] == second.action]) == 1  # once only


def test_a_policy_pruned_mid_escalation_keeps_its_timers(p0):
    policy = escalation_policy_for(p0)
    steps = [(s.delay, s.level.number, s.action) for s in policy.steps.filter(anchor="start")]
    import_without(policy, prune=True)
    assert not EscalationPolicy.objects.filter(pk=policy.pk).exists()

    for delay, _, _ in steps:
        sweep_at(START + delay)
    assert [(number, note) for number, note, _ in escalations(p0)] == [
        (number, action) for _, number, action in sorted(steps)]


def test_timers_set_before_they_carried_their_step_get_it_from_the_migration(p0):
    from importlib import import_module

    from django.apps import apps

    from escalation.models import Deadline

    timers = Deadline.objects.filter(incident=p0, kind="escalation.step", fired_at__isnull=True)
    for timer in timers:  # as the timers were before
        timer.payload = {"step": timer.payload["step"]}
        timer.save(update_fields=["payload"])
    import_module("escalation.migrations.0015_step_timers_carry_their_step").fill_payloads(
        apps, None)

    policy = escalation_policy_for(p0)
    first = policy.steps.filter(anchor="start").order_by("order").first()
    assert timers.get(key=f"escalation.step.{first.pk}").payload == {
        "step": first.pk, "level": first.level_id, "action": first.action, "anchor": "start"}
    import_without(policy, prune=True)
    sweep_at(START + first.delay)
    assert escalations(p0) == [(first.level.number, first.action, None)]


def test_a_level_a_pending_timer_names_is_kept_by_a_prune(
        declare, severities, incident_types, make_user):
    from escalation.models import EscalationLadder, EscalationLevel

    ladder = EscalationLadder.objects.create(slug="security", name="Security escalation")
    team, ciso = (ladder.levels.create(number=n, name=name)
                  for n, name in [(1, "Security team"), (2, "CISO")])
    ciso.users.add(make_user("Responder", username="ciso"))
    policy = EscalationPolicy.objects.create(
        slug="p0-security", name="P0 security", severity=severities["P0"], ladder=ladder,
        incident_type=incident_types["security"])
    policy.steps.create(order=1, delay=timedelta(0), level=team, action="Security team")
    policy.steps.create(order=2, delay=15 * MINUTE, level=ciso, action="The CISO decides")
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0", incident_type=incident_types["security"])
    sweep_at(START)

    document = yaml.safe_load(procedure_export())
    document["escalation_levels"] = [level for level in document["escalation_levels"]
                                     if level["ladder"] != "security" or level["number"] == 1]
    entry = next(e for e in document["escalation_policies"] if e["slug"] == "p0-security")
    entry["steps"] = entry["steps"][:1]
    with time_machine.travel(START + 5 * MINUTE, tick=False):
        result = procedure_import(yaml.safe_dump(document, allow_unicode=True),
                                  reason="CISO level retired", prune=True)
    kept = [c for c in result.changes if c.where == f"escalation_levels[{ciso}]"]
    assert [(c.action, c.details) for c in kept] == [("keep", ["still used, so kept"])]
    assert EscalationLevel.objects.filter(pk=ciso.pk).exists()

    sweep_at(START + 15 * MINUTE)
    assert list(EscalationEvent.objects.filter(incident=incident, level__ladder=ladder)
                .order_by("at").values_list("level__number", "note")) == [
        (1, "Security team"), (2, "The CISO decides")]


def test_a_breach_step_dropped_after_its_timer_was_set_still_counts_as_an_sla_breach(p0):
    policy = escalation_policy_for(p0)
    step = EscalationStep.objects.create(
        policy=policy, order=99, anchor=EscalationStep.Anchor.RESPONSE_BREACH,
        delay=30 * MINUTE, level=policy.steps.order_by("order").first().level,
        action="Page the duty director")
    breached_at = p0.sla_clocks.get(kind="response").due_at
    sweep_at(breached_at)
    step.delete()
    sweep_at(breached_at + 30 * MINUTE)
    event = EscalationEvent.objects.get(incident=p0, note="Page the duty director")
    assert (event.step, event.reason_category) == (None, EscalationEvent.ReasonCategory.SLA_BREACH)
