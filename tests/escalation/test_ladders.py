"""Escalation ladders: the default ladder is the L1-L4 levels that existed before ladders, and
seed 004's security, business and performance matrices can each be configured with their own
people and timings as a policy per severity x type; escalation then follows them through the
deadline sweep, while other types at the same severity keep the standard ladder."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from escalation import selectors
from escalation.deadlines import deadlines_sweep
from escalation.forms import EscalateForm
from escalation.models import (
    EscalationEvent,
    EscalationLadder,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    ImpactRule,
    LevelResponseTime,
    Notification,
)
from incidents import services
from incidents.models import IncidentType

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # Monday 10:00 in Amsterdam
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def sweep_at(moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        deadlines_sweep()


def levels_reached(incident) -> list[int]:
    return list(EscalationEvent.objects.filter(incident=incident).order_by("at", "id")
                .values_list("level__number", flat=True))


def told(reason: str) -> set[str]:
    return set(Notification.objects.filter(reason=reason, channel="inapp")
               .values_list("recipient__username", flat=True))


def build_ladder(slug: str, name: str, rungs: list[tuple[str, object]]) -> EscalationLadder:
    """A ladder whose level n calls the n-th person."""
    ladder = EscalationLadder.objects.create(slug=slug, name=name)
    for number, (level_name, person) in enumerate(rungs, start=1):
        ladder.levels.create(number=number, name=level_name).users.add(person)
    return ladder


def climb(policy: EscalationPolicy, timings: list[tuple[timedelta, str]],
          clock: str = "severity") -> None:
    """Steps from the incident's start: (delay, action) to level 1, 2, ... in turn."""
    policy.steps.all().delete()
    for number, (delay, action) in enumerate(timings, start=1):
        policy.steps.create(order=number, delay=delay, clock=clock, action=action,
                            level=policy.ladder.levels.get(number=number))


def type_policy(severity, type_code: str, ladder: EscalationLadder) -> EscalationPolicy:
    """The type's own policy at this severity, next to the severity's policy for any type."""
    return EscalationPolicy.objects.create(
        name=f"{severity.code} {type_code}", severity=severity, ladder=ladder,
        incident_type=IncidentType.objects.get(code=type_code))


def of_type(code: str) -> IncidentType:
    return IncidentType.objects.get(code=code)


@pytest.fixture
def quiet_impact_rules(db):
    """The default impact rules escalate on the default ladder; these tests watch one matrix."""
    ImpactRule.objects.update(is_active=False)


def test_the_default_ladder_is_the_four_levels_every_default_policy_climbs():
    ladder = EscalationLadder.objects.get(is_default=True)
    assert list(ladder.levels.values_list("number", flat=True)) == [1, 2, 3, 4]
    assert set(EscalationPolicy.objects.values_list("ladder", flat=True)) == {ladder.pk}
    assert EscalationStep.objects.exclude(level__ladder=ladder).count() == 0


def test_seed_004_security_matrix_escalates_minute_by_minute_to_its_own_people(
    declare, make_user, severities, quiet_impact_rules
):
    people = {name: make_user("Responder", username=name)
              for name in ("secteam", "ciso", "legal", "board", "comms")}
    ladder = build_ladder("security", "Security incident escalation", [
        ("Security team and incident response team", people["secteam"]),
        ("CISO and engineering management", people["ciso"]),
        ("Executive leadership and legal counsel", people["legal"]),
        ("Board notification and regulatory reporting", people["board"]),
        ("Customer notification and public disclosure", people["comms"]),
    ])
    policy = type_policy(severities["P0"], "security", ladder)
    climb(policy, [(timedelta(0), "Contain and assess"), (15 * MINUTE, "CISO decides"),
                   (30 * MINUTE, "Executives and legal"), (HOUR, "Board and regulator"),
                   (4 * HOUR, "Tell customers; disclose publicly")])
    # Level 5's window ends at 24 h: unanswered by then, it is reminded.
    LevelResponseTime.objects.create(level=ladder.levels.get(number=5),
                                     severity=severities["P0"], response_time=20 * HOUR)
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0", title="Customer data exposed",
                           incident_type=of_type("security"))
        outage = declare(severity="P0", title="Checkout down", incident_type=of_type("technical"))

    timetable = [(0, [1]), (14, [1]), (15, [1, 2]), (29, [1, 2]), (30, [1, 2, 3]),
                 (59, [1, 2, 3]), (60, [1, 2, 3, 4]), (239, [1, 2, 3, 4]),
                 (240, [1, 2, 3, 4, 5])]
    for minutes, expected in timetable:
        sweep_at(START + minutes * MINUTE)
        assert levels_reached(incident) == expected, f"after {minutes} minutes"
    assert told("escalation") >= {"secteam", "ciso", "legal", "board", "comms"}
    assert set(EscalationEvent.objects.filter(incident=incident)
               .values_list("level__ladder__slug", flat=True)) == {"security"}

    sweep_at(START + 24 * HOUR - MINUTE)
    assert "comms" not in told("escalation.reminder")
    sweep_at(START + 24 * HOUR)
    assert "comms" in told("escalation.reminder")
    # A technical P0 declared at the same time climbed the standard ladder on its timetable.
    assert levels_reached(outage) == [2, 3, 3, 4, 4]
    assert set(EscalationEvent.objects.filter(incident=outage)
               .values_list("level__ladder__slug", flat=True)) == {"standard"}


def test_seed_004_business_matrix_climbs_its_five_levels_on_business_days(
    declare, make_user, severities, quiet_impact_rules
):
    """The business framework names its five levels but no times; this organisation gives
    each level one more working day (a P2 business issue, seed 004 "1 business day")."""
    people = {name: make_user("Responder", username=name)
              for name in ("teamlead", "dept", "exec", "ceo", "partners")}
    ladder = build_ladder("business", "Business escalation", [
        ("Team lead and project manager", people["teamlead"]),
        ("Department manager and product owner", people["dept"]),
        ("Executive leadership", people["exec"]),
        ("CEO and board", people["ceo"]),
        ("External stakeholders", people["partners"]),
    ])
    policy = type_policy(severities["P2"], "business", ladder)
    climb(policy, [(timedelta(0), "Coordinate"), (timedelta(days=1), "Decide scope"),
                   (timedelta(days=2), "Cross-department"), (timedelta(days=3), "Strategy"),
                   (timedelta(days=4), "Customers, partners, investors")],
          clock="business_hours")
    friday = datetime(2026, 6, 12, 14, 0, tzinfo=UTC)  # Friday 16:00 in Amsterdam
    with time_machine.travel(friday, tick=False):
        incident = declare(severity="P2", title="Scope dispute blocks the release",
                           incident_type=of_type("business"))
    sweep_at(friday)
    assert levels_reached(incident) == [1]
    sweep_at(datetime(2026, 6, 15, 13, 59, tzinfo=UTC))  # the weekend does not count
    assert levels_reached(incident) == [1]
    sweep_at(datetime(2026, 6, 15, 14, 0, tzinfo=UTC))  # Monday 16:00: one working day
    assert levels_reached(incident) == [1, 2]
    assert "dept" in told("escalation") and "exec" not in told("escalation")
    sweep_at(datetime(2026, 6, 18, 14, 0, tzinfo=UTC))  # Thursday 16:00: four working days
    assert levels_reached(incident) == [1, 2, 3, 4, 5]
    assert "partners" in told("escalation")


def test_seed_004_performance_matrix_and_manual_escalation_stay_on_its_ladder(
    declare, make_user, severities, responder, quiet_impact_rules
):
    people = {name: make_user("Responder", username=name)
              for name in ("monitor", "optimiser", "architect", "capacity")}
    ladder = build_ladder("performance", "Performance escalation", [
        ("Performance monitoring and analysis", people["monitor"]),
        ("Technical optimisation and temporary fixes", people["optimiser"]),
        ("Resource scaling and architectural changes", people["architect"]),
        ("Emergency capacity and vendor engagement", people["capacity"]),
    ])
    IncidentType.objects.create(code="performance", name="Performance", order=9)
    policy = type_policy(severities["P1"], "performance", ladder)
    climb(policy, [(timedelta(0), "Measure"), (30 * MINUTE, "Optimise"),
                   (2 * HOUR, "Scale"), (8 * HOUR, "Buy capacity")])
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", title="Checkout latency 3x the SLA",
                           incident_type=of_type("performance"))
    for minutes, expected in [(0, [1]), (29, [1]), (30, [1, 2]), (119, [1, 2]),
                              (120, [1, 2, 3]), (479, [1, 2, 3]), (480, [1, 2, 3, 4])]:
        sweep_at(START + minutes * MINUTE)
        assert levels_reached(incident) == expected, f"after {minutes} minutes"
    assert "capacity" in told("escalation")

    form = EscalateForm(incident=incident)
    assert set(form.fields["level"].queryset) == set(ladder.levels.all())


def test_an_sla_breach_before_any_escalation_tells_the_first_level_of_the_incidents_ladder(
    declare, make_user, severities, quiet_impact_rules
):
    first_line = make_user("Responder", username="monitor")
    ladder = build_ladder("performance", "Performance escalation",
                          [("Monitoring", first_line)])
    type_policy(severities["P1"], "infrastructure", ladder)
    with time_machine.travel(START, tick=False):
        declare(severity="P1", incident_type=of_type("infrastructure"))
    sweep_at(START + 4 * HOUR)  # P1 response target
    assert "monitor" in told("sla.response.breached")


def test_breach_anchored_steps_follow_the_policy_of_the_incidents_type(
    declare, make_user, severities, quiet_impact_rules
):
    """A response breach starts the breach-anchored steps of the type's own policy (scheduled
    set-based by the sweep), not those of the severity's policy for any type."""
    duty_manager = make_user("Responder", username="dutymanager")
    ladder = build_ladder("infra", "Infrastructure escalation", [("Duty manager", duty_manager)])
    policy = type_policy(severities["P1"], "infrastructure", ladder)
    policy.steps.create(order=1, anchor=EscalationStep.Anchor.RESPONSE_BREACH,
                        delay=30 * MINUTE, action="Take over", level=ladder.levels.get())
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", incident_type=of_type("infrastructure"))
    sweep_at(START + 4 * HOUR)  # P1 response target: the breach
    assert levels_reached(incident) == []
    sweep_at(START + 4 * HOUR + 30 * MINUTE)
    assert list(EscalationEvent.objects.filter(incident=incident)
                .values_list("level__ladder__slug", "step__action")) == [("infra", "Take over")]
    assert "dutymanager" in told("escalation")


def test_incidents_breaching_in_one_sweep_each_get_every_breach_step_of_their_own_policy(
    declare, make_user, severities, quiet_impact_rules, caplog
):
    """Set-based: two infrastructure incidents get both of their policy's breach steps; a
    technical incident breaching in the same sweep, whose policy has none, gets none, and the
    batch goes through as one (no failed batch in the log, fired again timer by timer)."""
    duty_manager = make_user("Responder", username="dutymanager")
    ladder = build_ladder("infra", "Infrastructure escalation", [("Duty manager", duty_manager)])
    policy = type_policy(severities["P1"], "infrastructure", ladder)
    for order, (delay, action) in enumerate([(30 * MINUTE, "Take over"),
                                             (HOUR, "Call the director")], start=1):
        policy.steps.create(order=order, anchor=EscalationStep.Anchor.RESPONSE_BREACH,
                            delay=delay, action=action, level=ladder.levels.get())
    with time_machine.travel(START, tick=False):
        infra = [declare(severity="P1", incident_type=of_type("infrastructure"),
                         title=f"Disk full {n}") for n in (1, 2)]
        technical = declare(severity="P1", incident_type=of_type("technical"))
    sweep_at(START + 4 * HOUR)  # all three breach their response target in this sweep
    assert not [record.getMessage() for record in caplog.records
                if record.levelno >= logging.WARNING]
    sweep_at(START + 5 * HOUR)
    for incident in infra:
        assert list(EscalationEvent.objects.filter(incident=incident).order_by("at")
                    .values_list("step__action", "at")) == [
            ("Take over", START + 4 * HOUR + 30 * MINUTE),
            ("Call the director", START + 5 * HOUR)]
    assert not EscalationEvent.objects.filter(
        incident=technical, step__anchor=EscalationStep.Anchor.RESPONSE_BREACH).exists()


def test_a_breach_step_on_business_hours_counts_office_hours_from_the_breach(
    declare, make_user, severities, quiet_impact_rules
):
    """P1 runs on a 24x7 clock, but a breach step set to business hours waits four office
    hours (Mon-Fri 09:00-17:00 Amsterdam): breached at 14:00 on Monday, three hours that day
    and one on Tuesday morning. A step on the severity's clock counts real time."""
    duty_manager = make_user("Responder", username="dutymanager")
    ladder = build_ladder("infra", "Infrastructure escalation", [("Duty manager", duty_manager)])
    policy = type_policy(severities["P1"], "infrastructure", ladder)
    for order, (clock, action) in enumerate([("business_hours", "Office hours"),
                                             ("severity", "Around the clock")], start=1):
        policy.steps.create(order=order, anchor=EscalationStep.Anchor.RESPONSE_BREACH,
                            delay=4 * HOUR, clock=clock, action=action,
                            level=ladder.levels.get())
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", incident_type=of_type("infrastructure"))
    sweep_at(START + 4 * HOUR)  # the response breach, 14:00 in Amsterdam
    sweep_at(START + 8 * HOUR)
    sweep_at(START + 24 * HOUR)  # Tuesday 10:00 in Amsterdam
    assert list(EscalationEvent.objects.filter(incident=incident).order_by("at")
                .values_list("step__action", "at")) == [
        ("Around the clock", START + 8 * HOUR), ("Office hours", START + 24 * HOUR)]


def security_ladder_of_three(make_user) -> EscalationLadder:
    """The security team, the CISO (`ciso`) and legal counsel (`legal`) at levels 1 to 3."""
    people = {name: make_user("Responder", username=name) for name in ("secteam", "ciso", "legal")}
    return build_ladder("security", "Security incident escalation", [
        ("Security team", people["secteam"]), ("CISO", people["ciso"]),
        ("Executive leadership and legal counsel", people["legal"])])


def make_it_a_security_incident_at(moment, incident, *, by) -> None:
    with time_machine.travel(moment, tick=False):
        services.incident_update_impact(incident, by=by, incident_type=of_type("security"),
                                        reason="A breach")


def test_a_type_change_moves_the_incident_to_the_new_types_ladder_firing_only_its_latest_missed_step(
    declare, make_user, severities, incident_manager, quiet_impact_rules
):
    ladder = security_ladder_of_three(make_user)
    climb(type_policy(severities["P0"], "security", ladder),
          [(timedelta(0), "Contain"), (15 * MINUTE, "CISO decides"), (30 * MINUTE, "Legal")])
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0", incident_type=of_type("technical"))
    make_it_a_security_incident_at(START + 40 * MINUTE, incident, by=incident_manager)
    sweep_at(START + 41 * MINUTE)
    sweep_at(START + 2 * HOUR)  # the standard ladder's steps were called off
    assert list(EscalationEvent.objects.filter(incident=incident)
                .values_list("level__ladder__slug", "level__number")) == [("security", 3)]
    assert told("escalation") >= {"legal"}


def test_a_type_change_exactly_at_a_steps_due_time_fires_the_latest_of_the_two_missed_steps(
    declare, make_user, severities, incident_manager, quiet_impact_rules
):
    """Catch-up counts a step due at the very moment of the change as missed, and picks the
    latest by due time, not by the steps' order numbers (here the later step comes first)."""
    ladder = security_ladder_of_three(make_user)
    policy = type_policy(severities["P0"], "security", ladder)
    policy.steps.create(order=1, delay=30 * MINUTE, action="Legal",
                        level=ladder.levels.get(number=3))
    policy.steps.create(order=2, delay=15 * MINUTE, action="CISO decides",
                        level=ladder.levels.get(number=2))
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0", incident_type=of_type("technical"))
    make_it_a_security_incident_at(START + 30 * MINUTE, incident, by=incident_manager)
    sweep_at(START + 30 * MINUTE)
    sweep_at(START + 2 * HOUR)
    assert list(EscalationEvent.objects.filter(incident=incident, level__ladder=ladder)
                .values_list("step__action", "at")) == [("Legal", START + 30 * MINUTE)]


def test_a_step_must_name_a_level_of_its_policys_ladder(make_user, severities):
    other = build_ladder("security", "Security", [("Security team", make_user())])
    policy = EscalationPolicy.objects.get(severity=severities["P0"])
    step = EscalationStep(policy=policy, order=99, delay=HOUR, action="Wrong ladder",
                          level=other.levels.get(number=1))
    with pytest.raises(ValidationError, match="level of the policy's ladder"):
        step.full_clean()


def test_level_numbers_repeat_across_ladders_but_not_within_one(make_user):
    ladder = build_ladder("security", "Security", [("Security team", make_user())])
    assert EscalationLevel.objects.filter(number=1).count() == 2
    with pytest.raises(ValidationError):
        EscalationLevel(ladder=ladder, number=1, name="Again").full_clean()


def test_every_configuration_row_is_found_again_by_its_natural_key(make_user):
    build_ladder("security", "Security", [("Security team", make_user())])
    from escalation import models

    for model in (models.EscalationLadder, models.EscalationLevel, models.LevelResponseTime,
                  models.EscalationPolicy, models.EscalationStep, models.ImpactRule,
                  models.ImpactCondition, models.Rota, models.BusinessCalendar):
        rows = list(model.objects.all())
        assert rows, model.__name__
        for row in rows:
            assert model.objects.get_by_natural_key(*row.natural_key()) == row


def test_a_manual_escalation_to_another_ladder_level_is_refused_by_the_form(
    declare, make_user, responder
):
    other = build_ladder("security", "Security", [("Security team", make_user())])
    incident = declare(severity="P2")
    form = EscalateForm({"level": other.levels.get(number=1).pk, "reason_category": "security",
                         "note": "Wrong ladder"}, incident=incident)
    assert not form.is_valid() and "level" in form.errors
    assert selectors.ladder_for(incident).is_default


def test_a_new_incident_gets_every_step_due_at_once_not_only_the_last(
    declare, make_user, severities, quiet_impact_rules
):
    """Catching up (only the latest missed step) is for a changed or reopened incident; a
    policy whose first two steps are immediate calls both levels of a new one."""
    people = {name: make_user("Responder", username=name) for name in ("secteam", "ciso")}
    ladder = build_ladder("security", "Security incident escalation", [
        ("Security team", people["secteam"]), ("CISO", people["ciso"])])
    climb(type_policy(severities["P0"], "security", ladder),
          [(timedelta(0), "Contain"), (timedelta(0), "CISO decides")])
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0", incident_type=of_type("security"))
    sweep_at(START)
    assert sorted(EscalationEvent.objects.filter(incident=incident)
                  .values_list("step__action", flat=True)) == ["CISO decides", "Contain"]
