"""Writes for SLA clocks and escalation.

Incident signal receivers and deadline handlers call these inside the transaction that made the
news, so clocks, timers, escalation events, timeline entries and outbox rows commit together or
not at all. Lock order is always the incident (people's services only, FOR NO KEY UPDATE), then
Deadline rows, then SlaClock / EscalationEvent rows (the sweep holds a deadline's lock while its
handler runs, and never locks the incident), so a sweep and a person acting at the same moment
never deadlock; see escalation.deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Q, prefetch_related_objects
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from incidents.errors import ActionRefused
from incidents.models import Incident, IncidentParticipant, TimelineEntry
from incidents.people import display_name
from incidents.services import participants_add_many, timeline_record, timeline_record_many
from incidents.transactions import retry_on_conflict

from . import selectors, sla
from .deadlines import (
    deadline_cancel,
    deadline_schedule,
    deadlines_cancel,
    deadlines_lock,
    deadlines_schedule_many,
    pending_deadlines,
)
from .models import (
    PENDING,
    Deadline,
    EscalationEvent,
    EscalationLevel,
    EscalationStep,
    ImpactRule,
    SlaClock,
    StepClock,
)
from .notifications import Message, notify, notify_many
from .subjects import open_at

REMINDER_KEY = "escalation.reminder"


def when(moment: datetime) -> str:
    """Full date and time in the organisation's zone, for timeline and notification text."""
    return timezone.localtime(moment).strftime("%a %d %b %Y %H:%M %Z")


def incident_url(incident: Incident) -> str:
    try:
        return incident.get_absolute_url()
    except NoReverseMatch:  # the incident pages are another area; fall back to ours
        return reverse("escalation:escalate", kwargs={"reference": incident.reference})


def _save(obj, *, by=None, reason: str = "") -> None:
    obj._history_user = by
    obj._change_reason = reason[:100]
    obj.save()


# --- SLA clocks ---------------------------------------------------------------------------


def _clock_key(kind: str) -> str:
    return f"sla.{kind}"


def _targets(severity) -> dict[str, object]:
    return {SlaClock.Kind.RESPONSE: severity.response_target,
            SlaClock.Kind.RESOLUTION: severity.resolution_target}


def _apply_target(clock: SlaClock, severity, calendar) -> None:
    clock.clock = severity.clock
    clock.target = _targets(severity)[clock.kind]
    clock.due_at = sla.add_time(clock.started_at, clock.target, clock=clock.clock,
                                calendar=calendar)
    clock.at_risk_at = sla.point_after_share(clock.started_at, clock.due_at,
                                             selectors.at_risk_share(severity), clock=clock.clock,
                                             calendar=calendar)


def _schedule_clock(clock: SlaClock, now: datetime, *, not_before: datetime | None = None
                    ) -> None:
    """The clock's breach timer (and its at-risk warning while that is still ahead). A clock
    that runs again past its due time (a reopen) breaches when it resumes, `not_before`."""
    if clock.is_immediate:
        return  # paged at once; nothing to wait for and no time to miss
    incident = clock.incident
    due_at = max(clock.due_at, not_before) if not_before else clock.due_at
    deadline_schedule(subject=incident, key=_clock_key(clock.kind), kind=_clock_key(clock.kind),
                      due_at=due_at, incident=incident, payload={"clock": clock.pk})
    if now < clock.at_risk_at < clock.due_at:
        deadline_schedule(subject=incident, key=f"{_clock_key(clock.kind)}.at_risk",
                          kind="sla.at_risk", due_at=clock.at_risk_at, incident=incident,
                          payload={"clock": clock.pk})


def sla_clocks_start(incident: Incident, *, now: datetime | None = None) -> list[SlaClock]:
    """Start the response and resolution clocks of a newly declared incident.

    Clocks run from the declaration: that is when the organisation was told, and a detection
    time backdated in the form must not make an incident breached on arrival."""
    now = now or timezone.now()
    severity = incident.severity
    calendar = selectors.working_calendar_for(severity.clock)
    clocks = []
    for kind, target in _targets(severity).items():
        if target is None:
            continue  # no SLA at this level: no clock
        clocks.append(_clock_start(incident, kind, severity, calendar, now))
    return clocks


def _clock_start(incident: Incident, kind: str, severity, calendar, now: datetime,
                 by=None) -> SlaClock:
    clock = SlaClock(incident=incident, kind=kind, started_at=incident.declared_at)
    _apply_target(clock, severity, calendar)
    _save(clock, by=by, reason="Clock started")
    _schedule_clock(clock, now)
    if clock.is_immediate:
        _page_immediate_response(clock, now=now)
    return clock


def _page_immediate_response(clock: SlaClock, *, now: datetime) -> None:
    """An immediate response pages at once whoever a response breach would reach (the people
    on the incident and the current escalation level, the first level of its ladder at first)."""
    incident = clock.incident
    severity = incident.severity
    level = selectors.current_level(incident) or selectors.first_level(incident)
    recipients = _people_to_tell(incident) + (selectors.level_people(level, now) if level else [])
    timeline_record(
        incident, kind=TimelineEntry.Kind.SLA, occurred_at=now,
        text=f"{severity.code} needs an immediate response: "
             + (f"paged L{level.number} {level.name}." if level else "paged the people on it."),
        data={"clock": clock.kind, "immediate": True},
    )
    notify(
        subject=clock, reason="sla.response.immediate", recipients=recipients,
        title=f"[{severity.code}] {incident.reference}: respond now",
        body=f"{incident.reference} {incident.title}\n{severity.code} needs an immediate "
             "response: acknowledge it on the incident page.",
        url=incident_url(incident), incident=incident, webhooks=True,
    )


def sla_clocks_recompute(incident: Incident, *, by, reason: str = "",
                         now: datetime | None = None) -> list[SlaClock]:
    """After a severity change: running clocks take the new level's targets and clock, counted
    from their start; pending timers move; the timeline says so. A clock already breached keeps
    its breach on record (it happened) and is not rescheduled."""
    now = now or timezone.now()
    severity = incident.severity
    deadline_cancel(subject=incident, key_prefix="sla.")
    calendar = selectors.working_calendar_for(severity.clock)
    targets = _targets(severity)
    changed, dropped = [], []
    existing = {clock.kind: clock for clock in
                SlaClock.objects.select_for_update(of=("self",)).filter(incident=incident)}
    for kind, clock in sorted(existing.items()):
        if not clock.is_running or clock.breached_at is not None:
            continue
        if targets[kind] is None:  # the new level has no SLA of this kind
            clock.stopped_at = now
            _save(clock, by=by, reason=f"No {kind} SLA at {severity.code}")
            dropped.append(clock)
            continue
        was_immediate = clock.is_immediate
        _apply_target(clock, severity, calendar)
        _save(clock, by=by, reason=f"Severity changed to {severity.code}")
        _schedule_clock(clock, now)
        if clock.is_immediate and not was_immediate:
            _page_immediate_response(clock, now=now)
        changed.append(clock)
    # A level with an SLA the old one lacked: its clock counts from the declaration too.
    if incident.is_open:
        for kind, target in targets.items():
            if target is not None and kind not in existing and not (
                    kind == SlaClock.Kind.RESPONSE and incident.acknowledged_at):
                changed.append(_clock_start(incident, kind, severity, calendar, now, by=by))
    if dropped:
        timeline_record(
            incident, kind=TimelineEntry.Kind.SLA, by=by,
            text=f"{severity.code} has no " + " or ".join(c.kind for c in dropped)
                 + " SLA: the clock stopped.",
            data={"severity": severity.code, "stopped": [c.kind for c in dropped]},
        )
    if changed:
        parts = [f"{c.get_kind_display().lower()} "
                 + ("immediate" if c.is_immediate else f"due {when(c.due_at)}")
                 for c in changed]
        clock_name = "24x7" if severity.clock == sla.ALWAYS else "business hours"
        timeline_record(
            incident, kind=TimelineEntry.Kind.SLA, by=by,
            text=f"SLA recomputed for {severity.code} ({clock_name}): " + "; ".join(parts) + ".",
            data={"severity": severity.code,
                  "clocks": {c.kind: c.due_at.isoformat() for c in changed}},
        )
    return changed


def sla_clock_met(incident: Incident, *, kind: str, at: datetime) -> SlaClock | None:
    """Triage meets the response clock, resolve the resolution clock. Met after its due time,
    the clock was breached at its due time, whether or not the sweep had got to it: the breach
    is recorded and notified now (the sweep, having waited for our lock on its timer, finds
    nothing left to do)."""
    deadline_cancel(subject=incident, key_prefix=_clock_key(kind))
    clock = (SlaClock.objects.select_for_update(of=("self",))
             .filter(incident=incident, kind=kind).first())
    if clock is None or clock.met_at is not None:
        return clock
    if clock.breached_at is None and clock.stopped_at is None and at > clock.due_at:
        clock.incident = incident  # the caller's locked copy, with its new state
        sla_clock_breach(clock, at=clock.due_at)
    clock.met_at = at
    if not clock.is_immediate and (clock.breached_at is not None or at > clock.due_at):
        clock.breach_by = at - clock.due_at
    _save(clock, reason="Met")
    return clock


def sla_clocks_stop(incident: Incident, *, at: datetime) -> None:
    """The incident was cancelled or is a duplicate: its clocks no longer run."""
    deadline_cancel(subject=incident, key_prefix="sla.")
    for clock in SlaClock.objects.select_for_update(of=("self",)).filter(incident=incident):
        if clock.is_running:
            clock.stopped_at = at
            _save(clock, reason="Stopped")


def sla_resolution_resume(incident: Incident, *, by, now: datetime | None = None) -> None:
    """A reopened incident was not really resolved, so its resolution clock runs again against
    the original due time (a reopen does not buy a fresh SLA). Past due, it breaches at the
    next sweep."""
    now = now or timezone.now()
    clock = SlaClock.objects.select_for_update(of=("self",)).filter(
        incident=incident, kind=SlaClock.Kind.RESOLUTION).first()
    if clock is None or clock.met_at is None:
        return
    clock.met_at = None
    _save(clock, by=by, reason="Incident reopened")
    if clock.breached_at is None:
        _schedule_clock(clock, now, not_before=now)
    timeline_record(
        incident, kind=TimelineEntry.Kind.SLA, by=by,
        text=f"Resolution SLA clock runs again after the reopen; due {when(clock.due_at)}"
             + (" (already breached)." if clock.breached_at or clock.due_at <= now else "."),
        data={"clock": clock.kind, "due_at": clock.due_at.isoformat()},
    )


def _people_to_tell(incident: Incident) -> list:
    people = [incident.incident_manager, incident.reporter]
    people.extend(incident.responders.all())
    return [p for p in people if p is not None]


def _running_at(clock: SlaClock, moment: datetime) -> bool:
    return ((clock.met_at is None or clock.met_at > moment)
            and (clock.stopped_at is None or clock.stopped_at > moment))


def _untriaged_breach_audience(incident: Incident, told: list, at: datetime,
                               directory: selectors.LevelDirectory) -> list:
    """Nobody has triaged and the response SLA breached: if none of those told may triage, the
    notice also goes to people who may (on triage duty, else the lowest level of the ladder
    with any), so it never reaches only people who can do nothing about it."""
    if any(directory.user_may(person, selectors.TRIAGE_PERMISSION, at) for person in told):
        return []
    return directory.people_who_may_triage(incident, at)


def sla_clock_breach(clock: SlaClock, *, at: datetime) -> bool:
    """Record a breach at `at` (its due time); see `sla_clocks_breach`. Returns False when
    there is nothing to do."""
    return sla_clocks_breach([(clock, at)]) == 1


def sla_clocks_breach(breaches: list[tuple[SlaClock, datetime]],
                      directory: selectors.LevelDirectory | None = None) -> int:
    """Record each clock's breach at its moment (its due time), put it on the timeline, tell the
    people on the incident and the level engaged (before any escalation, the first level of
    its ladder; for a response nobody has triaged, also people who may triage), and start the
    policy's breach-anchored steps counted from then. Clocks come locked, with their incident
    (and its severity, manager and reporter) loaded. Set-based: a sweep batch of breaches costs
    a handful of queries, not a handful per breach. Returns how many were recorded."""
    due = [(clock, at) for clock, at in breaches
           if clock.breached_at is None and clock.due_at <= at and _running_at(clock, at)
           and not clock.is_immediate  # paged at declaration; there is no time to miss
           and open_at(clock.incident, at)]
    if not due:
        return 0
    directory = directory or selectors.LevelDirectory(since=min(at for _, at in due))
    incidents = [clock.incident for clock, _ in due]
    prefetch_related_objects(incidents, "responders")
    levels = directory.levels_at([(clock.incident, at) for clock, at in due])
    for clock, at in due:
        clock.breached_at = at
        clock.breach_by = at - clock.due_at
        clock._change_reason = "Breached"
    # Most breach exactly at the clock's due time: one plain UPDATE for those (a bulk_update's
    # CASE per row costs more to build than the rest of the breach).
    on_time = [clock.pk for clock, at in due if at == clock.due_at]
    SlaClock.objects.filter(pk__in=on_time).update(breached_at=F("due_at"),
                                                   breach_by=timedelta(0))
    late = [clock for clock, at in due if at != clock.due_at]
    if late:
        SlaClock.objects.bulk_update(late, ["breached_at", "breach_by"])
    SlaClock.history.bulk_history_create([clock for clock, _ in due], update=True,
                                         default_change_reason="Breached")
    entries, paged, messages, anchored = [], [], [], []
    for clock, at in due:
        incident, severity, label = clock.incident, clock.incident.severity, clock.get_kind_display()
        entries.append(TimelineEntry(
            incident=incident, kind=TimelineEntry.Kind.SLA, occurred_at=at, is_key_event=True,
            text=f"{label} SLA breached: it was due {when(clock.due_at)} "
                 f"({severity.code} target {clock.target}).",
            data={"clock": clock.kind, "due_at": clock.due_at.isoformat(), "breached": True}))
        level = levels.get((incident.pk, at)) or directory.first_level(incident)
        people = directory.level_people(level, at) if level else []
        body = f"{incident.reference} {incident.title}\n{label} was due {when(clock.due_at)}."
        if clock.kind == SlaClock.Kind.RESPONSE and incident.state == Incident.State.REPORTED:
            people = people + [p for p in _untriaged_breach_audience(
                incident, _people_to_tell(incident) + people, at, directory) if p not in people]
            body += "\nNobody has triaged it yet."
        paged.append((incident, people, IncidentParticipant.Reason.PAGED))
        messages.append(Message(
            subject=clock, reason=f"sla.{clock.kind}.breached",
            recipients=_people_to_tell(incident) + people,
            title=f"[{severity.code}] {incident.reference}: {label.lower()} SLA breached",
            body=body, url=incident_url(incident), incident=incident, webhooks=True))
        anchored.append((incident, EscalationStep.Anchor.RESPONSE_BREACH
                         if clock.kind == SlaClock.Kind.RESPONSE
                         else EscalationStep.Anchor.RESOLUTION_BREACH, at))
    timeline_record_many(entries)
    participants_add_many(paged)
    notify_many(messages)
    _schedule_anchored_steps(anchored, directory)
    return len(due)


def sla_clocks_warn_at_risk(warnings: list[SlaClock]) -> int:
    """A prompt while there is still time: pointless once a clock is met or breached."""
    due = [clock for clock in warnings
           if clock.is_running and clock.breached_at is None and clock.incident.is_open]
    prefetch_related_objects([clock.incident for clock in due], "responders")
    notify_many([
        Message(subject=clock, reason=f"sla.{clock.kind}.at_risk",
                recipients=_people_to_tell(clock.incident),
                title=f"[{clock.incident.severity.code}] {clock.incident.reference}: "
                      f"{clock.get_kind_display().lower()} SLA at risk",
                body=f"{clock.incident.reference} {clock.incident.title}\n"
                     f"{clock.get_kind_display()} is due {when(clock.due_at)}.",
                url=incident_url(clock.incident), incident=clock.incident)
        for clock in due])
    return len(due)


def sla_clock_warn_at_risk(clock: SlaClock, *, now: datetime | None = None) -> bool:
    return sla_clocks_warn_at_risk([clock]) == 1


# --- Escalation policies and impact rules ---------------------------------------------------


def _step_key(step: EscalationStep) -> str:
    return f"escalation.step.{step.pk}"


def _rule_key(rule: ImpactRule) -> str:
    return f"escalation.rule.{rule.pk}"


def _step_clock(step: EscalationStep, severity) -> str:
    return severity.clock if step.clock == StepClock.SEVERITY else step.clock


def _schedule_steps(incident: Incident, *, anchor: str, origin: datetime, now: datetime,
                    catch_up: bool) -> int:
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
    for due_at, step in timed:
        deadline_schedule(subject=incident, key=_step_key(step), kind="escalation.step",
                          due_at=due_at, incident=incident, payload={"step": step.pk})
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
                content_type=content_type, object_id=incident.pk, payload={"step": step.pk},
                due_at=sla.add_time(origin, step.delay, clock=clock, calendar=calendars[clock])))
    deadlines_schedule_many(timers)


def escalation_policy_schedule(incident: Incident, *, now: datetime | None = None,
                               catch_up: bool = False) -> int:
    """(Re)schedule the start-anchored steps of the incident's current severity policy."""
    now = now or timezone.now()
    deadlines_cancel(Deadline.objects.filter(PENDING, incident=incident, kind="escalation.step"),
                     now=now)
    return _schedule_steps(incident, anchor=EscalationStep.Anchor.START,
                           origin=incident.declared_at, now=now, catch_up=catch_up)


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


def _content_type(model):
    return ContentType.objects.get_for_model(model)


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


@dataclass
class Escalation:
    """One escalation to record (see `escalations_record`)."""

    incident: Incident
    level: EscalationLevel
    source: str
    reason_category: str
    at: datetime
    note: str = ""
    by: Any = None
    step: EscalationStep | None = None
    rule: ImpactRule | None = None


def escalation_record(incident: Incident, *, level: EscalationLevel, source: str,
                      reason_category: str, note: str = "", by=None,
                      step: EscalationStep | None = None, rule: ImpactRule | None = None,
                      now: datetime | None = None) -> EscalationEvent:
    """One escalation; see `escalations_record`. `now` is when it happened: a timer's due time
    when a step or rule fires, so the reminder comes one response time after that, however late
    the sweep ran."""
    return escalations_record([Escalation(
        incident=incident, level=level, source=source, reason_category=reason_category,
        note=note, by=by, step=step, rule=rule, at=now or timezone.now())])[0]


def escalations_record(escalations: list[Escalation],
                       directory: selectors.LevelDirectory | None = None
                       ) -> list[EscalationEvent]:
    """For each escalation: the event (with history), a key timeline entry, the level's people
    and the incident manager told (webhooks too), the people made participants, and a reminder
    if nobody acknowledges within the level's response time. Set-based, for sweep batches."""
    if not escalations:
        return []
    directory = directory or selectors.LevelDirectory(since=min(e.at for e in escalations))
    events = []
    for e in escalations:
        event = EscalationEvent(incident=e.incident, level=e.level, source=e.source, step=e.step,
                                rule=e.rule, reason_category=e.reason_category, note=e.note,
                                by=e.by, at=e.at)
        event._history_user = e.by
        event._change_reason = f"Escalated to L{e.level.number}"
        events.append(event)
    events = bulk_create_with_history(events, EscalationEvent)
    entries, paged, messages, reminders = [], [], [], []
    event_type = _content_type(EscalationEvent)
    for e, event in zip(escalations, events, strict=True):
        incident, level, severity = e.incident, e.level, e.incident.severity
        category = event.get_reason_category_display()
        if e.by:
            who = f"{display_name(e.by)} escalated"
        elif e.source == EscalationEvent.Source.RULE:
            who = "Escalated automatically (impact rule)"
        else:
            who = "Escalated automatically"
        text = f"{who} to L{level.number} {level.name} ({category.lower()})"
        text += f": {e.note}" if e.note else "."
        entries.append(TimelineEntry(
            incident=incident, kind=TimelineEntry.Kind.ESCALATION, author=e.by,
            occurred_at=e.at, text=text, is_key_event=True,
            data={"event": event.pk, "level": level.number, "source": e.source,
                  "reason": e.reason_category}))
        people = directory.level_people(level, e.at)
        # Escalated to: they may see the incident even when it is restricted.
        paged.append((incident, people, IncidentParticipant.Reason.ESCALATED))
        messages.append(Message(
            subject=event, reason="escalation", recipients=people + [incident.incident_manager],
            title=f"[{severity.code}] {incident.reference} escalated to L{level.number} "
                  f"{level.name}",
            body=f"{incident.reference} {incident.title}\n{category}: {e.note or '—'}\n"
                 f"Please acknowledge the escalation on the incident page.",
            url=incident_url(incident), incident=incident, webhooks=True))
        response_time = directory.level_response_time(level, severity)
        if response_time is None:  # no response time at this level and severity: no reminder
            continue
        reminders.append(Deadline(
            kind="escalation.reminder", key=REMINDER_KEY, incident=incident,
            content_type=event_type, object_id=event.pk, payload={"event": event.pk},
            due_at=e.at + response_time))
    timeline_record_many(entries)
    participants_add_many(paged)
    notify_many(messages)
    deadlines_schedule_many(reminders, replace=False)  # new events have no timer yet
    return events


def escalation_step_fire(step: EscalationStep, incident: Incident, *, at: datetime) -> bool:
    """The step falls due at `at`: escalate as of then if the incident was open then."""
    return escalation_steps_fire([(step, incident, at)]) == 1


def escalation_steps_fire(due: list[tuple[EscalationStep, Incident, datetime]],
                          directory: selectors.LevelDirectory | None = None) -> int:
    """Each step falls due at its moment: escalate as of then where the incident was open
    then and the step has not fired for it yet."""
    fired = set(EscalationEvent.objects.filter(
        incident__in={incident.pk for _, incident, _ in due},
        step__in={step.pk for step, _, _ in due}).values_list("incident_id", "step_id"))
    escalations = []
    for step, incident, at in due:
        if not open_at(incident, at) or (incident.pk, step.pk) in fired:
            continue
        fired.add((incident.pk, step.pk))
        reason = (EscalationEvent.ReasonCategory.TIME
                  if step.anchor == EscalationStep.Anchor.START
                  else EscalationEvent.ReasonCategory.SLA_BREACH)
        escalations.append(Escalation(
            incident=incident, level=step.level, source=EscalationEvent.Source.STEP, step=step,
            reason_category=reason, note=step.action, at=at))
    return len(escalations_record(escalations, directory))


def escalation_rule_fire(rule: ImpactRule, incident: Incident, *, at: datetime) -> bool:
    if (not open_at(incident, at) or not rule.is_active or not rule.applies_to(incident)
            or not rule.matches(incident)
            or incident.escalations.filter(rule=rule).exists()):
        return False
    escalation_record(incident, level=rule.level, source=EscalationEvent.Source.RULE, rule=rule,
                      reason_category=EscalationEvent.ReasonCategory.IMPACT, note=rule.name,
                      now=at)
    return True


def escalation_remind(event: EscalationEvent, *, at: datetime) -> bool:
    """See `escalations_remind`."""
    return escalations_remind([(event, at)]) == 1


def escalations_remind(due: list[tuple[EscalationEvent, datetime]],
                       directory: selectors.LevelDirectory | None = None) -> int:
    """Nobody acknowledged within the level's response time (each due at its moment): tell the
    level and the incident manager once more. An acknowledgement, even a late one, makes it
    moot. Events come locked, with incident (severity, manager) and level loaded."""
    due = [(event, at) for event, at in due
           if event.acknowledged_at is None and event.reminded_at is None
           and open_at(event.incident, at)]
    if not due:
        return 0
    directory = directory or selectors.LevelDirectory(since=min(at for _, at in due))
    for event, at in due:
        event.reminded_at = at
        event._change_reason = "Reminder sent"
    bulk_update_with_history([event for event, _ in due], EscalationEvent, ["reminded_at"],
                             default_change_reason="Reminder sent")
    entries, paged, messages = [], [], []
    for event, at in due:
        incident, level = event.incident, event.level
        people = directory.level_people(level, at)  # the rota may have handed over since
        paged.append((incident, people, IncidentParticipant.Reason.ESCALATED))
        messages.append(Message(
            subject=event, reason="escalation.reminder",
            recipients=people + [incident.incident_manager],
            title=f"[{incident.severity.code}] {incident.reference}: escalation to "
                  f"L{level.number} not yet acknowledged",
            body=f"{incident.reference} {incident.title}\nEscalated {when(event.at)}.",
            url=incident_url(incident), incident=incident, webhooks=True))
        entries.append(TimelineEntry(
            incident=incident, kind=TimelineEntry.Kind.ESCALATION, occurred_at=at,
            text=f"Escalation to L{level.number} {level.name} not acknowledged in time; "
                 "reminder sent.", data={"event": event.pk, "reminder": True}))
    participants_add_many(paged)
    notify_many(messages)
    timeline_record_many(entries)
    return len(due)


# --- Actions by people ----------------------------------------------------------------------


@retry_on_conflict
@transaction.atomic
def incident_escalate(incident: Incident, *, by, level: EscalationLevel, reason_category: str,
                      note: str) -> EscalationEvent:
    """Manual escalation from the incident page (seed 004 "Manual Escalation Criteria")."""
    if not by.has_perm("escalation.escalate_incident"):
        raise ActionRefused("You do not have permission to escalate incidents.")
    reasons = []
    if reason_category not in EscalationEvent.MANUAL_REASONS:
        reasons.append("Choose why you escalate: complexity, resources, business impact or "
                       "security.")
    if not note.strip():
        reasons.append("Say what the level is needed for.")
    if reasons:
        raise ActionRefused(reasons)
    incident = (Incident.objects.select_for_update(no_key=True, of=("self",))
                .select_related("severity").get(pk=incident.pk))
    if not incident.is_open:
        raise ActionRefused(f"{incident.reference} is {incident.get_state_display().lower()}; "
                            "it can no longer be escalated.")
    return escalation_record(incident, level=level, source=EscalationEvent.Source.MANUAL,
                             reason_category=reason_category, note=note.strip(), by=by)


@retry_on_conflict
@transaction.atomic
def escalation_acknowledge(event: EscalationEvent, *, by) -> EscalationEvent:
    """Someone at the level (or the incident manager) takes the escalation: no reminder follows."""
    # Deadline before event row: the same lock order as the sweep's reminder handler.
    deadline_cancel(subject=event, key=REMINDER_KEY)
    event = (EscalationEvent.objects.select_for_update(of=("self",))
             .select_related("incident", "level").get(pk=event.pk))
    if event.acknowledged_at is not None:
        raise ActionRefused(f"This escalation was already acknowledged by "
                            f"{display_name(event.acknowledged_by)} at {when(event.acknowledged_at)}.")
    if not selectors.can_acknowledge(event, by):
        raise ActionRefused(f"Only people at L{event.level.number} {event.level.name} or the "
                            "incident manager can acknowledge this escalation.")
    now = timezone.now()
    event.acknowledged_at = now
    event.acknowledged_by = by
    _save(event, by=by, reason="Acknowledged")
    timeline_record(event.incident, kind=TimelineEntry.Kind.ESCALATION, by=by,
                    text=f"{display_name(by)} acknowledged the escalation to L{event.level.number} "
                         f"{event.level.name}.", data={"event": event.pk, "acknowledged": True})
    return event
