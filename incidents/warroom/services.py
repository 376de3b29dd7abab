"""Checklist writes: instantiate an incident's checklist from the templates of its severity,
extend or trim it when the severity changes, and tick items. Plus the guards that refuse
resolve/close while required items are open.

Communication writes live in `incidents.warroom.communications`."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from incidents.errors import ActionRefused
from incidents.models import (
    ChecklistTemplate,
    Incident,
    IncidentChecklistItem,
    SeverityLevel,
    TimelineEntry,
)
from incidents.people import display_name
from incidents.services import timeline_record

from .rendering import format_duration

FINISHED_STATES = (Incident.State.CLOSED, Incident.State.CANCELLED, Incident.State.DUPLICATE)
TRANSITION_WORDS = {"resolve": "resolving", "close": "closing"}


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def checklist_instantiate(
    incident: Incident, *, severity: SeverityLevel | None = None,
    anchor: datetime | None = None, by=None,
) -> list[IncidentChecklistItem]:
    """Copy the active templates of `severity` (default: the incident's) onto the incident,
    skipping items it already has (same text), so raising the severity only adds what is
    missing and never touches ticked items. Windows count from `anchor` (the declaration, or
    the moment the severity was raised: that is when the stricter procedure starts)."""
    severity = severity or incident.severity
    anchor = anchor or incident.declared_at
    templates = (
        ChecklistTemplate.objects.filter(severity=severity, is_active=True)
        .prefetch_related("items__phase")
    )
    existing = {_normalise(text) for text in incident.checklist_items.values_list("text", flat=True)}
    position = (incident.checklist_items.aggregate(last=Max("position"))["last"] or 0) + 1
    created = []
    for template in templates:
        for item in template.items.all():
            if _normalise(item.text) in existing:
                continue
            existing.add(_normalise(item.text))
            phase = item.phase
            row = IncidentChecklistItem(
                incident=incident,
                template_item=item,
                template_name=template.name,
                phase_name=phase.name if phase else "",
                position=position,
                text=item.text,
                kind=item.kind,
                is_required=item.is_required,
                blocks=item.blocks if item.is_required else "",
                window_starts_at=(anchor + phase.starts_after
                                  if phase and phase.starts_after is not None else None),
                due_at=anchor + phase.ends_after if phase and phase.ends_after is not None else None,
            )
            row._history_user = by
            row.save()
            created.append(row)
            position += 1
    if created:
        names = ", ".join(sorted({row.template_name for row in created}))
        timeline_record(
            incident, kind=TimelineEntry.Kind.CHECKLIST, by=by,
            text=f"Checklist items added from {names} ({len(created)} items).",
            data={"added": len(created), "severity": severity.code},
        )
    return created


def checklist_trim_after_lowering(incident: Incident, *, severity: SeverityLevel, by=None) -> int:
    """After the severity is lowered, drop the still-open items that only more severe
    templates asked for. Ticked items stay: they are a record of work done."""
    stale = incident.checklist_items.filter(
        done_at__isnull=True, template_item__template__severity__rank__lt=severity.rank,
    )
    keep = {
        _normalise(text) for text in ChecklistTemplate.objects.filter(
            severity=severity, is_active=True).values_list("items__text", flat=True) if text
    }
    doomed = [item.pk for item in stale if _normalise(item.text) not in keep]
    if not doomed:
        return 0
    for item in IncidentChecklistItem.objects.filter(pk__in=doomed):
        item._history_user = by
        item.delete()
    timeline_record(
        incident, kind=TimelineEntry.Kind.CHECKLIST, by=by,
        text=f"{len(doomed)} open checklist items of more severe levels were removed after the "
             f"severity was lowered to {severity.code}.",
        data={"removed": len(doomed), "severity": severity.code},
    )
    return len(doomed)


def can_tick(user, incident: Incident) -> bool:
    return user.has_perm("incidents.change_incidentchecklistitem")


@transaction.atomic
def checklist_item_set_done(item: IncidentChecklistItem, *, by, done: bool) -> IncidentChecklistItem:
    """Tick (done=True) or untick an item; the timeline records who and when."""
    item = IncidentChecklistItem.objects.select_for_update().select_related("incident").get(
        pk=item.pk)
    incident = item.incident
    if not can_tick(by, incident):
        raise ActionRefused("You do not have permission to tick checklist items.")
    if incident.state in FINISHED_STATES:
        raise ActionRefused(f"{incident.reference} is {incident.get_state_display().lower()}; "
                            "its checklist is a record now.")
    if item.is_done == done:
        return item
    now = timezone.now()
    late = ""
    if done:
        if item.due_at and now > item.due_at:
            late = f" ({format_duration(now - item.due_at)} after its window closed)"
        item.done_at, item.done_by = now, by
    else:
        item.done_at, item.done_by = None, None
    item._history_user = by
    item._change_reason = "Ticked" if done else "Unticked"
    item.save(update_fields=["done_at", "done_by"])
    where = f" ({item.phase_name})" if item.phase_name else ""
    verb = "ticked" if done else "unticked"
    timeline_record(
        incident, kind=TimelineEntry.Kind.CHECKLIST, by=by, occurred_at=now,
        text=f"{display_name(by)} {verb} “{item.text}”{where}{late}.",
        data={"item": item.pk, "done": done},
    )
    return item


# --- Guards -------------------------------------------------------------------------------


def open_blocking_items(incident: Incident, transition: str) -> list[IncidentChecklistItem]:
    if incident.pk is None:
        return []
    return list(
        IncidentChecklistItem.objects.filter(
            incident=incident, is_required=True, blocks=transition, done_at__isnull=True,
        ).order_by("position", "id")
    )


def _refusal(incident: Incident, transition: str) -> list[str]:
    items = open_blocking_items(incident, transition)
    if not items:
        return []
    names = ", ".join(f"“{item.text}”" for item in items)
    noun = "item is" if len(items) == 1 else "items are"
    return [f"{len(items)} required checklist {noun} still open before "
            f"{TRANSITION_WORDS[transition]}: {names}. Tick them on the war room's checklist."]


def guard_resolve(incident: Incident) -> list[str]:
    return _refusal(incident, "resolve")


def guard_close(incident: Incident) -> list[str]:
    return _refusal(incident, "close")
