"""Escalation as timers: the steps of the incident's policy (for its severity and type) are
scheduled from the declaration or from a breach, impact rules the incident matches escalate at
once or after their delay (and are called off if it stops matching), and an incident that ends
has its later timers cancelled. Scheduling is kept apart from `escalations`, which records what
happens when these timers fire."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from incidents.models import Incident

from .. import selectors, sla
from ..deadlines import (
    deadline_cancel,
    deadline_new,
    deadline_schedule,
    deadlines_cancel,
    deadlines_lock,
    deadlines_schedule_many,
    pending_deadlines,
)
from ..models import (
    PENDING,
    Deadline,
    EscalationEvent,
    EscalationStep,
    ImpactRule,
    StepClock,
)
from .escalations import escalation_record
from .shared import _content_type


def _step_key(step: EscalationStep) -> str:
    return f"escalation.step.{step.pk}"


def step_payload(step: EscalationStep) -> dict:
    """What a step's timer must do, carried by the timer itself: a procedure import that drops
    the step (or its whole policy) must not leave an incident mid-escalation stuck, so the
    timer escalates as it was told when it was scheduled (see escalation.handlers)."""
    return {"step": step.pk, "level": step.level_id, "action": step.action,
            "anchor": step.anchor}


def _rule_key(rule: ImpactRule) -> str:
    return f"escalation.rule.{rule.pk}"


def _step_clock(step: EscalationStep, severity) -> str:
    return severity.clock if step.clock == StepClock.SEVERITY else step.clock


def _schedule_steps(incident: Incident, *, anchor: str, origin: datetime, now: datetime,
                    catch_up: bool, replace: bool = True) -> int:
    """Schedule the not-yet-fired steps of the incident's policy (for its severity and type) with
    this anchor, counted from `origin`. With `catch_up` (severity or type changed, or incident
    reopened mid-way), steps already past due are not all fired at once: only the latest of them
    fires, at the next sweep."""
    policy = selectors.escalation_policy_for(incident)
    if policy is None:
        return 0
    steps = (EscalationStep.objects.filter(policy=policy, anchor=anchor)
             .exclude(pk__in=EscalationEvent.objects.filter(incident=incident, step__isnull=False)
                      .values("step_id")))
    calendars: dict[str, sla.WorkingCalendar | None] = {}
    timed = []
    for step in steps:
        clock = _step_clock(step, incident.severity)
        if clock not in calendars:
            calendars[clock] = selectors.working_calendar_for(clock)
        timed.append((sla.add_time(origin, step.delay, clock=clock, calendar=calendars[clock]),
                      step))
    timed.sort(key=lambda pair: (pair[0], pair[1].order))
    past = [pair for pair in timed if pair[0] <= now]
    if catch_up and len(past) > 1:
        timed = past[-1:] + [pair for pair in timed if pair[0] > now]
    if not replace:  # a new incident: one INSERT for all its steps
        deadlines_schedule_many([
            deadline_new(subject=incident, key=_step_key(step), kind="escalation.step",
                         due_at=due_at, incident=incident, payload=step_payload(step))
            for due_at, step in timed], replace=False)
        return len(timed)
    for due_at, step in timed:
        deadline_schedule(subject=incident, key=_step_key(step), kind="escalation.step",
                          due_at=due_at, incident=incident, payload=step_payload(step))
    return len(timed)


def _schedule_anchored_steps(anchored: list[tuple[Incident, str, datetime]],
                             directory: selectors.LevelDirectory) -> None:
    """`_schedule_steps` (without catch-up) for many (incident, anchor, origin) at once: each
    incident's policy (for its severity and type) found once, the policies' steps read once,
    the fired ones in one query."""
    if not anchored:
        return
    policy_of = {incident.pk: directory.policy_id_for(incident) for incident, _, _ in anchored}
    steps: dict[tuple[int, str], list[EscalationStep]] = {}
    for step in EscalationStep.objects.filter(
            policy__in={pk for pk in policy_of.values() if pk is not None}):
        steps.setdefault((step.policy_id, step.anchor), []).append(step)
    if not any(steps.get((policy_of[incident.pk], anchor))
               for incident, anchor, _ in anchored):
        return
    fired = set(EscalationEvent.objects.filter(
        incident__in=[incident.pk for incident, _, _ in anchored], step__isnull=False)
        .values_list("incident_id", "step_id"))
    calendars: dict[str, sla.WorkingCalendar | None] = {}
    content_type = _content_type(Incident)
    timers = []
    for incident, anchor, origin in anchored:
        for step in steps.get((policy_of[incident.pk], anchor), []):
            if (incident.pk, step.pk) in fired:
                continue
            clock = _step_clock(step, incident.severity)
            if clock not in calendars:
                calendars[clock] = selectors.working_calendar_for(clock)
            timers.append(Deadline(
                kind="escalation.step", key=_step_key(step), incident=incident,
                content_type=content_type, object_id=incident.pk, payload=step_payload(step),
                due_at=sla.add_time(origin, step.delay, clock=clock, calendar=calendars[clock])))
    deadlines_schedule_many(timers)


def escalation_policy_schedule(incident: Incident, *, now: datetime | None = None,
                               catch_up: bool = False, new_incident: bool = False) -> int:
    """(Re)schedule the start-anchored steps of the incident's current severity policy.
    `new_incident`: it is being declared in this transaction, so it has no timers to cancel."""
    now = now or timezone.now()
    if not new_incident:
        deadlines_cancel(Deadline.objects.filter(PENDING, incident=incident,
                                                 kind="escalation.step"), now=now)
    return _schedule_steps(incident, anchor=EscalationStep.Anchor.START,
                           origin=incident.declared_at, now=now, catch_up=catch_up,
                           replace=not new_incident)


def incident_timers_end(incident: Incident, *, now: datetime | None = None) -> int:
    """Resolved, closed, cancelled or a duplicate: every timer about the incident (its own and
    its escalations' reminders, generic reminders included) that is due later is cancelled.
    Timers already due are left to the sweep, whose handlers act as at their due time, when
    the incident was still open (a step due before the resolve fires once). Timers of what
    outlives the incident (its post-mortem, action items) are not touched.

    All pending timers of the incident are locked first: if a sweep holds some, this waits for
    it and then also cancels what that sweep scheduled (e.g. an escalation's reminder)."""
    now = now or timezone.now()
    of_incident = Q(incident=incident) | Q(content_type=_content_type(Incident),
                                           object_id=incident.pk)
    deadlines_lock(Deadline.objects.filter(PENDING, of_incident))
    about_incident = (Q(content_type=_content_type(Incident), object_id=incident.pk)
                      | Q(incident=incident, content_type=_content_type(EscalationEvent)))
    return deadlines_cancel(Deadline.objects.filter(PENDING, about_incident, due_at__gt=now),
                            now=now)


def impact_rules_apply(incident: Incident, *, by=None, now: datetime | None = None) -> list:
    """Escalate for each active impact rule the incident now matches: at once when its delay is
    zero, else after the delay (counted from when the impact was first recorded). A rule that
    no longer matches before its time is called off. Each rule fires once per incident."""
    now = now or timezone.now()
    if not incident.is_open:
        return []
    fired = set(incident.escalations.filter(rule__isnull=False).values_list("rule_id", flat=True))
    pending = set(pending_deadlines(incident, key_prefix="escalation.rule.")
                  .values_list("key", flat=True))
    events = []
    for rule in selectors.impact_rules_for(incident):
        if rule.pk in fired:
            continue
        key = _rule_key(rule)
        if not rule.matches(incident):
            if key in pending:
                deadline_cancel(subject=incident, key=key)
            continue
        if rule.delay.total_seconds() <= 0:
            events.append(escalation_record(
                incident, level=rule.level, source=EscalationEvent.Source.RULE, rule=rule,
                reason_category=EscalationEvent.ReasonCategory.IMPACT, note=rule.name,
                # The rule escalated, not the person whose edit made it match.
                by=None, now=now))
        elif key not in pending:
            deadline_schedule(subject=incident, key=key, kind="escalation.rule",
                              due_at=now + rule.delay, incident=incident,
                              payload={"rule": rule.pk})
    return events
