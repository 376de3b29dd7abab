"""Checklist writes: instantiate an incident's checklist from the templates that apply to it,
extend or trim it when the severity changes, tick and assign items, remind people when a
phase window ends with items open. Plus the guards that refuse any transition while the
required items that gate it are open.

Communication writes live in `incidents.warroom.communications`."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from escalation.deadlines import deadline_cancel, deadline_schedule, register
from escalation.notifications import notify

from incidents.errors import ActionRefused
from incidents.models import (
    ChecklistPhase,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ChecklistTemplatePhase,
    Incident,
    IncidentChecklistItem,
    SeverityLevel,
    TimelineEntry,
)
from incidents.people import display_name
from incidents.services import timeline_record

from incidents.models.checklists import TRANSITION_CHOICES

from .rendering import format_duration

FINISHED_STATES = (Incident.State.CLOSED, Incident.State.CANCELLED, Incident.State.DUPLICATE)
PHASE_WINDOW_KIND = "checklist.window_ended"
PHASE_WINDOW_KEY_PREFIX = "checklist.window."


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def applicable_templates(incident: Incident, severity: SeverityLevel | None = None):
    """Active templates for the incident: of its severity (or every severity), of one of its
    services (or every service) and of its type (or every type)."""
    severity = severity or incident.severity
    service_ids = [service.pk for service in incident.services.all()] if incident.pk else []
    return (
        ChecklistTemplate.objects.filter(is_active=True)
        .filter(Q(severity=severity) | Q(severity__isnull=True))
        .filter(Q(service__isnull=True) | Q(service__in=service_ids))
        .filter(Q(incident_type__isnull=True) | Q(incident_type=incident.incident_type_id))
        .order_by("severity__rank", "order", "name")
    )


def _template_items(templates) -> list[tuple[ChecklistTemplate, ChecklistPhase,
                                             ChecklistTemplateItem]]:
    """(template, phase, item) in the templates' order, phases in their order in each."""
    links = (ChecklistTemplatePhase.objects.filter(template__in=templates)
             .select_related("template", "phase").prefetch_related("phase__items")
             .order_by("template__severity__rank", "template__order", "template__name", "order",
                       "id"))
    return [(link.template, link.phase, item) for link in links for item in link.phase.items.all()]


def checklist_instantiate(
    incident: Incident, *, severity: SeverityLevel | None = None,
    anchor: datetime | None = None, by=None,
) -> list[IncidentChecklistItem]:
    """Copy the items of the templates that apply to the incident at `severity` (default: its
    own), skipping items it already has (same text), so raising the severity only adds what
    is missing and never touches ticked items. Windows count from `anchor` (the declaration,
    or the moment the severity was raised: that is when the stricter procedure starts); each
    window that ends gets a timer that reminds people of items still open."""
    severity = severity or incident.severity
    anchor = anchor or incident.declared_at
    existing = {_normalise(text) for text in incident.checklist_items.values_list("text", flat=True)}
    position = (incident.checklist_items.aggregate(last=Max("position"))["last"] or 0) + 1
    created = []
    for template, phase, item in _template_items(applicable_templates(incident, severity)):
        if _normalise(item.text) in existing:
            continue
        existing.add(_normalise(item.text))
        row = IncidentChecklistItem(
            incident=incident,
            template_item=item,
            template_name=template.name,
            phase_name=phase.name,
            phase_slug=phase.slug,
            position=position,
            text=item.text,
            kind=item.kind,
            is_required=item.is_required,
            blocks=item.blocks if item.is_required else "",
            runbook=item.runbook,
            window_starts_at=(anchor + phase.starts_after
                              if phase.starts_after is not None else None),
            due_at=anchor + phase.ends_after if phase.ends_after is not None else None,
        )
        row._history_user = by
        row.save()
        row.reminds = phase.remind_when_window_ends
        created.append(row)
        position += 1
    if created:
        _schedule_window_reminders(incident, created)
        names = ", ".join(sorted({row.template_name for row in created}))
        timeline_record(
            incident, kind=TimelineEntry.Kind.CHECKLIST, by=by,
            text=f"Checklist items added from {names} ({len(created)} items).",
            data={"added": len(created), "severity": severity.code},
        )
    return created


def _schedule_window_reminders(incident: Incident, rows: list[IncidentChecklistItem]) -> None:
    windows = {(row.phase_slug, row.due_at) for row in rows
               if row.due_at is not None and row.phase_slug and row.reminds}
    for slug, due_at in windows:
        deadline_schedule(
            subject=incident, key=f"{PHASE_WINDOW_KEY_PREFIX}{slug}.{int(due_at.timestamp())}",
            kind=PHASE_WINDOW_KIND, due_at=due_at, incident=incident,
            payload={"phase": slug, "due_at": due_at.isoformat()},
        )


def checklist_windows_stop(incident: Incident) -> int:
    """No more phase reminders once the incident is resolved or ended."""
    return deadline_cancel(subject=incident, key_prefix=PHASE_WINDOW_KEY_PREFIX)


@register(PHASE_WINDOW_KIND)
def remind_phase_window_ended(deadline) -> None:
    """A phase window ended: if items of it are still open, remind the incident manager and
    the people those items are assigned to, and say so on the timeline."""
    incident = Incident.objects.select_related("incident_manager").get(pk=deadline.object_id)
    if not incident.is_open:
        return
    open_items = list(
        IncidentChecklistItem.objects.filter(
            incident=incident, phase_slug=deadline.payload.get("phase", ""),
            due_at__lte=deadline.due_at, done_at__isnull=True,
        ).select_related("assignee").order_by("position", "id")
    )
    if not open_items:
        return
    phase = open_items[0].phase_name
    recipients = [incident.incident_manager, *(item.assignee for item in open_items)]
    names = "; ".join(f"“{item.text}”" + (f" ({display_name(item.assignee)})"
                                          if item.assignee_id else "") for item in open_items)
    noun = "item is" if len(open_items) == 1 else "items are"
    notify(
        subject=incident, reason=f"checklist.window_ended.{deadline.pk}",
        recipients=recipients, incident=incident,
        url=reverse("warroom:room", kwargs={"reference": incident.reference}) + "#checklist",
        title=f"{incident.reference}: the “{phase}” window ended with {len(open_items)} open "
              f"checklist {'item' if len(open_items) == 1 else 'items'}",
        body=f"{len(open_items)} {noun} still open: {names}.",
    )
    who = "the incident manager" if incident.incident_manager_id else "nobody (no incident manager)"
    if any(item.assignee_id for item in open_items):
        who += " and the assignees"
    timeline_record(
        incident, kind=TimelineEntry.Kind.CHECKLIST,
        text=f"The “{phase}” window ended with {len(open_items)} open checklist "
             f"{'item' if len(open_items) == 1 else 'items'}; {who} were reminded.",
        data={"phase": deadline.payload.get("phase"), "open": [i.pk for i in open_items],
              "deadline": deadline.pk},
    )


def checklist_trim_after_lowering(incident: Incident, *, severity: SeverityLevel, by=None,
                                  why: str = "") -> int:
    """After the severity is lowered (or the type changed), drop the still-open items that only
    templates no longer applying asked for. Ticked items stay: they are a record of work
    done."""
    keep_ids, keep_texts = set(), set()
    for _, _, item in _template_items(applicable_templates(incident, severity)):
        keep_ids.add(item.pk)
        keep_texts.add(_normalise(item.text))
    stale = incident.checklist_items.filter(done_at__isnull=True, template_item__isnull=False)
    doomed = [item.pk for item in stale
              if item.template_item_id not in keep_ids and _normalise(item.text) not in keep_texts]
    if not doomed:
        return 0
    for item in IncidentChecklistItem.objects.filter(pk__in=doomed):
        item._history_user = by
        item.delete()
    timeline_record(
        incident, kind=TimelineEntry.Kind.CHECKLIST, by=by,
        text=why.format(count=len(doomed)) if why else (
            f"{len(doomed)} open checklist items of more severe levels were removed after the "
            f"severity was lowered to {severity.code}."),
        data={"removed": len(doomed), "severity": severity.code},
    )
    return len(doomed)


def checklist_follow_type_change(incident: Incident, *, old_type, by=None) -> None:
    """The incident's type changed: it gets the new type's checklist items (windows counted
    from now, when that procedure starts), and loses the open ones only the old type asked
    for."""
    checklist_instantiate(incident, anchor=timezone.now(), by=by)
    old = old_type.name if old_type is not None else "another type"
    checklist_trim_after_lowering(
        incident, severity=incident.severity, by=by,
        why=f"{{count}} open checklist items of the {old} checklist were removed after the "
            f"type changed to {incident.incident_type.name}.")


def can_tick(user, incident: Incident) -> bool:
    return user.has_perm("incidents.change_incidentchecklistitem")


@transaction.atomic
def checklist_item_set_done(item: IncidentChecklistItem, *, by, done: bool) -> IncidentChecklistItem:
    """Tick (done=True) or untick an item; the timeline records who and when."""
    item = (IncidentChecklistItem.objects.select_for_update(of=("self",))
            .select_related("incident").get(pk=item.pk))
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


def incident_team(incident: Incident) -> list:
    """The people working the incident: its role holders and responders."""
    people = {person.pk: person for person in (incident.incident_manager,
                                               incident.communications_lead, incident.scribe)
              if person is not None}
    for person in incident.responders.all():
        people.setdefault(person.pk, person)
    return sorted(people.values(), key=display_name)


@transaction.atomic
def checklist_item_assign(item: IncidentChecklistItem, *, by, assignee) -> IncidentChecklistItem:
    """Give an item to someone on the incident's team (or to nobody); the timeline says so."""
    item = (IncidentChecklistItem.objects.select_for_update(of=("self",))
            .select_related("incident").get(pk=item.pk))
    incident = item.incident
    if not can_tick(by, incident):
        raise ActionRefused("You do not have permission to assign checklist items.")
    if incident.state in FINISHED_STATES:
        raise ActionRefused(f"{incident.reference} is {incident.get_state_display().lower()}; "
                            "its checklist is a record now.")
    if assignee is not None and assignee.pk not in {p.pk for p in incident_team(incident)}:
        raise ActionRefused(f"{display_name(assignee)} is not on {incident.reference}'s team; "
                            "add them as a responder first.")
    if item.assignee_id == (assignee.pk if assignee else None):
        return item
    item.assignee = assignee
    item._history_user = by
    item._change_reason = "Assigned"
    item.save(update_fields=["assignee"])
    who = display_name(assignee) if assignee else "nobody"
    timeline_record(
        incident, kind=TimelineEntry.Kind.CHECKLIST, by=by,
        text=f"{display_name(by)} gave “{item.text}” to {who}.",
        data={"item": item.pk, "assignee": assignee.pk if assignee else None},
    )
    return item


def checklist_windows_plan(incident: Incident) -> None:
    """After a reopen: remind again for windows still ahead with open items."""
    rows = list(incident.checklist_items.filter(done_at__isnull=True, due_at__gt=timezone.now())
                .select_related("template_item__phase"))
    for row in rows:
        phase = row.template_item.phase if row.template_item_id else None
        row.reminds = phase.remind_when_window_ends if phase else True
    _schedule_window_reminders(incident, rows)


# --- Guards -------------------------------------------------------------------------------


def open_blocking_items(incident: Incident, transition: str) -> list[IncidentChecklistItem]:
    if incident.pk is None:
        return []
    return list(
        IncidentChecklistItem.objects.filter(
            incident=incident, is_required=True, blocks=transition, done_at__isnull=True,
        ).order_by("position", "id")
    )


def _transition_label(transition: str) -> str:
    return dict(TRANSITION_CHOICES).get(transition, transition).lower()


def checklist_refusals(incident: Incident, transition: str) -> list[str]:
    """Why the checklist refuses `transition` (any of the incident's transitions), in words."""
    items = open_blocking_items(incident, transition)
    if not items:
        return []
    names = ", ".join(f"“{item.text}”" for item in items)
    noun = "item is" if len(items) == 1 else "items are"
    return [f"{len(items)} required checklist {noun} still open before you can "
            f"{_transition_label(transition)}: {names}. Tick them on the war room's checklist."]


def checklist_guard(transition: str):
    """The guard registered for one transition (a named function, so it can be found and
    unregistered)."""
    def guard(incident: Incident) -> list[str]:
        return checklist_refusals(incident, transition)

    guard.__name__ = f"checklist_items_open_before_{transition}"
    return guard


CHECKLIST_GUARDS = {name: checklist_guard(name) for name, _ in TRANSITION_CHOICES}
