"""What people do about escalation from the incident page: escalate by hand, and acknowledge an
escalation so no reminder follows. Unlike the rest of the package, which runs inside a caller's
transaction, each of these is a transaction of its own, checks the person's permission and says
in words why it refuses, and is retried when it loses a database race."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from incidents.errors import ActionRefused
from incidents.models import Incident, TimelineEntry
from incidents.people import display_name
from incidents.services import timeline_record
from incidents.transactions import retry_on_conflict

from .. import selectors
from ..deadlines import deadline_cancel
from ..models import EscalationEvent, EscalationLevel
from .escalations import REMINDER_KEY, escalation_record
from .shared import _save, when


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
