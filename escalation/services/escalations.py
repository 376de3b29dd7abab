"""Recording escalations: an incident goes up a level (by a policy step, an impact rule or a
person), the event is kept with its history and a key timeline entry, the level's people and
the incident manager are told and made participants, and a reminder follows if nobody
acknowledges within the level's response time. Steps, rules and reminders that fall due fire
here too. Set-based, so a sweep batch costs a few queries; every other module that escalates
comes through `escalations_record`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from incidents.models import Incident, IncidentParticipant, TimelineEntry
from incidents.people import display_name
from incidents.services import participants_add_many, timeline_record_many

from .. import selectors
from ..deadlines import deadlines_schedule_many
from ..models import Deadline, EscalationEvent, EscalationLevel, EscalationStep, ImpactRule
from ..notifications import Message, notify_many
from ..subjects import open_at
from .shared import _content_type, incident_url, when

REMINDER_KEY = "escalation.reminder"


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
                      reason_category: str, note: str, by=None, rule: ImpactRule | None = None,
                      now: datetime | None = None) -> EscalationEvent:
    """One escalation, by a person or an impact rule (policy steps fire in batches through
    `escalation_steps_fire`); see `escalations_record`. `now` is when it happened: a rule
    timer's due time, so the reminder comes one response time after that, however late the
    sweep ran."""
    return escalations_record([Escalation(
        incident=incident, level=level, source=source, reason_category=reason_category,
        note=note, by=by, rule=rule, at=now or timezone.now())])[0]


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


def escalation_steps_fire(due: list[tuple[EscalationStep, Incident, datetime]],
                          directory: selectors.LevelDirectory | None = None) -> int:
    """Each step falls due at its moment: escalate as of then where the incident was open
    then and the step has not fired for it yet. A step an import removed comes as an unsaved
    stand-in (no pk): its timer fires once, so it needs no such check."""
    fired = set(EscalationEvent.objects.filter(
        incident__in={incident.pk for _, incident, _ in due},
        step__in={step.pk for step, _, _ in due if step.pk}).values_list("incident_id",
                                                                         "step_id"))
    escalations = []
    for step, incident, at in due:
        if not open_at(incident, at) or (incident.pk, step.pk) in fired:
            continue
        if step.pk:
            fired.add((incident.pk, step.pk))
        reason = (EscalationEvent.ReasonCategory.TIME
                  if step.anchor == EscalationStep.Anchor.START
                  else EscalationEvent.ReasonCategory.SLA_BREACH)
        escalations.append(Escalation(
            incident=incident, level=step.level, source=EscalationEvent.Source.STEP,
            step=step if step.pk else None,
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


def escalations_remind(due: list[tuple[EscalationEvent, datetime]],
                       directory: selectors.LevelDirectory | None = None) -> None:
    """Nobody acknowledged within the level's response time (each due at its moment): tell the
    level and the incident manager once more. An acknowledgement, even a late one, makes it
    moot. Events come locked, with incident (severity, manager) and level loaded."""
    due = [(event, at) for event, at in due
           if event.acknowledged_at is None and event.reminded_at is None
           and open_at(event.incident, at)]
    if not due:
        return
    directory = directory or selectors.LevelDirectory(since=min(at for _, at in due))
    for event, at in due:
        event.reminded_at = at
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
