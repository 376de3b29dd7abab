"""An incident's SLA clocks over its life: started at declaration (an immediate response pages
at once), recomputed when the severity changes, met by triage and resolve (a clock met past its
due time records its breach first), stopped by a cancel or a duplicate, and run again by a
reopen. They are kept apart from `breaches`, which handles the clocks' timers when they fall
due, because these are called by incident signals, not by the sweep."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from incidents.models import Incident, TimelineEntry
from incidents.services import timeline_record

from .. import selectors, sla
from ..deadlines import deadline_cancel, deadline_schedule
from ..models import SlaClock
from ..notifications import notify
from .breaches import _untriaged_audience, sla_clock_breach
from .outcomes import sla_outcomes_record
from .shared import _people_to_tell, _save, incident_url, when


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


def _schedule_clock(clock: SlaClock, now: datetime, *, not_before: datetime | None = None,
                    replace: bool = True) -> None:
    """The clock's breach timer (and its at-risk warning while that is still ahead). A clock
    that runs again past its due time (a reopen) breaches when it resumes, `not_before`."""
    if clock.is_immediate:
        return  # paged at once; nothing to wait for and no time to miss
    incident = clock.incident
    due_at = max(clock.due_at, not_before) if not_before else clock.due_at
    deadline_schedule(subject=incident, key=_clock_key(clock.kind), kind=_clock_key(clock.kind),
                      due_at=due_at, incident=incident, payload={"clock": clock.pk},
                      replace=replace)
    if now < clock.at_risk_at < clock.due_at:
        deadline_schedule(subject=incident, key=f"{_clock_key(clock.kind)}.at_risk",
                          kind="sla.at_risk", due_at=clock.at_risk_at, incident=incident,
                          payload={"clock": clock.pk}, replace=replace)


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
        # A new incident has no timers yet: nothing to replace.
        clocks.append(_clock_start(incident, kind, severity, calendar, now, replace=False))
    return clocks


def _clock_start(incident: Incident, kind: str, severity, calendar, now: datetime,
                 by=None, replace: bool = True) -> SlaClock:
    clock = SlaClock(incident=incident, kind=kind, started_at=incident.declared_at)
    _apply_target(clock, severity, calendar)
    _save(clock, by=by, reason="Clock started")
    sla_outcomes_record([clock])
    _schedule_clock(clock, now, replace=replace)
    if clock.is_immediate:
        _page_immediate_response(clock, now=now)
    return clock


def _page_immediate_response(clock: SlaClock, *, now: datetime) -> None:
    """An immediate response pages at once whoever a response breach would reach (the people
    on the incident and the current escalation level, the first level of its ladder at first;
    for an incident nobody has triaged, also people who may triage when none of those may)."""
    incident = clock.incident
    severity = incident.severity
    level = selectors.current_level(incident) or selectors.first_level(incident)
    recipients = _people_to_tell(incident) + (selectors.level_people(level, now) if level else [])
    body = (f"{incident.reference} {incident.title}\n{severity.code} needs an immediate "
            "response: acknowledge it on the incident page.")
    if incident.state == Incident.State.REPORTED:
        recipients += [person for person in _untriaged_audience(
            incident, recipients, now, selectors.LevelDirectory(since=now))
            if person not in recipients]
        body += "\nNobody has triaged it yet."
    timeline_record(
        incident, kind=TimelineEntry.Kind.SLA, occurred_at=now,
        text=f"{severity.code} needs an immediate response: "
             + (f"paged L{level.number} {level.name}." if level else "paged the people on it."),
        data={"clock": clock.kind, "immediate": True},
    )
    notify(
        subject=clock, reason="sla.response.immediate", recipients=recipients,
        title=f"[{severity.code}] {incident.reference}: respond now",
        body=body,
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
    sla_outcomes_record(dropped + changed)
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
    nothing left to do). A clock stopped because the incident moved to a level without that SLA
    stays stopped: there is no target left to meet."""
    deadline_cancel(subject=incident, key_prefix=_clock_key(kind))
    clock = (SlaClock.objects.select_for_update(of=("self",))
             .filter(incident=incident, kind=kind).first())
    if clock is None or clock.met_at is not None or clock.stopped_at is not None:
        return clock
    if clock.breached_at is None and at > clock.due_at:
        clock.incident = incident  # the caller's locked copy, with its new state
        sla_clock_breach(clock, at=clock.due_at)
    clock.met_at = at
    if not clock.is_immediate and (clock.breached_at is not None or at > clock.due_at):
        clock.breach_by = at - clock.due_at
    _save(clock, reason="Met")
    sla_outcomes_record([clock])
    return clock


def sla_clocks_stop(incident: Incident, *, at: datetime) -> None:
    """The incident was cancelled or is a duplicate: its clocks no longer run."""
    deadline_cancel(subject=incident, key_prefix="sla.")
    stopped = []
    for clock in SlaClock.objects.select_for_update(of=("self",)).filter(incident=incident):
        if clock.is_running:
            clock.stopped_at = at
            _save(clock, reason="Stopped")
            stopped.append(clock)
    sla_outcomes_record(stopped)


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
    sla_outcomes_record([clock])
    if clock.breached_at is None:
        _schedule_clock(clock, now, not_before=now)
    timeline_record(
        incident, kind=TimelineEntry.Kind.SLA, by=by,
        text=f"Resolution SLA clock runs again after the reopen; due {when(clock.due_at)}"
             + (" (already breached)." if clock.breached_at or clock.due_at <= now else "."),
        data={"clock": clock.kind, "due_at": clock.due_at.isoformat()},
    )
