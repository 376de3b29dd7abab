"""What happens when an SLA clock's timer falls due: the breach is recorded as of its due time,
put on the timeline and told to the people on the incident and the level engaged (for a response
nobody has triaged, also to people who may triage), and the policy's breach-anchored steps start;
before that, a warning while the clock is at risk. These are the sweep's set-based handlers, so a
batch of breaches costs a handful of queries."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F, prefetch_related_objects

from incidents.models import Incident, IncidentParticipant, TimelineEntry
from incidents.services import participants_add_many, timeline_record_many

from .. import selectors
from ..models import EscalationStep, SlaClock
from ..notifications import Message, notify_many
from ..subjects import open_at
from .outcomes import sla_outcomes_record
from .policies import _schedule_anchored_steps
from .shared import _people_to_tell, incident_url, when


def _running_at(clock: SlaClock, moment: datetime) -> bool:
    return ((clock.met_at is None or clock.met_at > moment)
            and (clock.stopped_at is None or clock.stopped_at > moment))


def _untriaged_audience(incident: Incident, told: list, at: datetime,
                               directory: selectors.LevelDirectory) -> list:
    """Nobody has triaged and the response is due now (breached, or an immediate response at
    declaration): if none of those told may triage, the notice also goes to people who may (on
    triage duty, else the lowest level of the ladder with any), so it never reaches only
    people who can do nothing about it."""
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
    sla_outcomes_record(clock for clock, _ in due)
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
            people = people + [p for p in _untriaged_audience(
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
