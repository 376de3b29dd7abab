"""Checklist writes: instantiate an incident's checklist from the templates that apply to it,
extend or trim it when the severity changes, tick and assign items, remind people when a
phase window ends with items open. Plus the guards that refuse any transition while the
required items that gate it are open.

Communication writes live in `incidents.warroom.communications`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from simple_history.utils import bulk_create_with_history

from escalation.deadlines import (
    deadline_cancel,
    deadline_new,
    deadlines_schedule_many,
    register,
)
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
    service_ids = [service.pk for service in incident.services.all()]
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


def _window(phase: ChecklistPhase, anchor: datetime) -> tuple[datetime | None, datetime | None]:
    """A phase's window counted from `anchor`: (starts, ends), None where the phase has none."""
    starts = anchor + phase.starts_after if phase.starts_after is not None else None
    ends = anchor + phase.ends_after if phase.ends_after is not None else None
    return starts, ends


def _add_missing_items(incident: Incident, wanted, *, anchor: datetime, by,
                       new_incident: bool = False) -> list[IncidentChecklistItem]:
    """Copy the `wanted` (template, phase, item) triples the incident has no item for yet
    (same text: levels share items, which are never duplicated). An incident being declared
    (`new_incident`) has no items yet, so they are not read."""
    if new_incident:
        existing, position = set(), 1
    else:
        existing = {_normalise(text)
                    for text in incident.checklist_items.values_list("text", flat=True)}
        position = (incident.checklist_items.aggregate(last=Max("position"))["last"] or 0) + 1
    created = []
    for template, phase, item in wanted:
        if _normalise(item.text) in existing:
            continue
        existing.add(_normalise(item.text))
        window_starts_at, due_at = _window(phase, anchor)
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
            window_starts_at=window_starts_at,
            due_at=due_at,
        )
        row._history_user = by
        row.reminds = phase.remind_when_window_ends
        created.append(row)
        position += 1
    # One INSERT for the items and one for their history rows (nothing listens to their saves).
    return bulk_create_with_history(created, IncidentChecklistItem)


def checklist_instantiate(
    incident: Incident, *, severity: SeverityLevel | None = None,
    anchor: datetime | None = None, by=None, new_incident: bool = False,
) -> list[IncidentChecklistItem]:
    """Copy the items of the templates that apply to the incident at `severity` (default: its
    own). Windows count from `anchor` (the declaration); each window that ends gets a timer
    that reminds people of items still open. Later severity and type changes go through
    `checklist_follow_procedure`."""
    severity = severity or incident.severity
    anchor = anchor or incident.declared_at
    created = _add_missing_items(incident, _template_items(applicable_templates(incident, severity)),
                                 anchor=anchor, by=by, new_incident=new_incident)
    if created:
        _schedule_window_reminders(incident, created, replace=not new_incident)
        names = ", ".join(sorted({row.template_name for row in created}))
        timeline_record(
            incident, kind=TimelineEntry.Kind.CHECKLIST, by=by,
            text=f"Checklist items added from {names} ({len(created)} items).",
            data={"added": len(created), "severity": severity.code},
        )
    return created


@dataclass
class ChecklistChange:
    """What following a new severity or type did to the checklist, by item id."""

    added: list[int] = field(default_factory=list)
    required_again: list[int] = field(default_factory=list)
    not_required: list[int] = field(default_factory=list)
    not_required_ticked: int = 0

    def __bool__(self) -> bool:
        return bool(self.added or self.required_again or self.not_required)

    def summary(self) -> str:
        parts = []
        if self.added:
            parts.append(f"{_items(len(self.added))} added")
        if self.required_again:
            parts.append(f"{_items(len(self.required_again))} required again")
        if self.not_required:
            kept = (f"kept, {self.not_required_ticked} of them ticked"
                    if self.not_required_ticked else "kept on the list")
            parts.append(f"{_items(len(self.not_required))} no longer required ({kept})")
        return "; ".join(parts)


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def checklist_follow_procedure(incident: Incident, *, anchor: datetime, by=None,
                               cause: str) -> ChecklistChange:
    """Make the checklist follow the incident's current severity and type: items their
    templates ask for and the incident lacks are added, kept items they ask for again are
    required again (open ones with windows counted from `anchor`, when that procedure
    starts), and items they no longer ask for are kept but marked not required, so ticks are
    never lost, nothing is duplicated and nothing stale gates a transition. One timeline
    entry says what changed and why (`cause`, e.g. "the severity was lowered to P1")."""
    wanted = _template_items(applicable_templates(incident, incident.severity))
    by_id = {item.pk: phase for _, phase, item in wanted}
    by_text = {_normalise(item.text): phase for _, phase, item in wanted}
    change = ChecklistChange()
    reanchored = []
    # The service that changed the incident holds its row lock, so nobody changes these rows.
    for row in incident.checklist_items.all():
        phase = by_id.get(row.template_item_id) or by_text.get(_normalise(row.text))
        if row.applies and phase is None and row.template_item_id is not None:
            row.applies = False
            change.not_required.append(row.pk)
            change.not_required_ticked += row.is_done
            reason = "No longer required"
        elif not row.applies and phase is not None:
            row.applies = True
            change.required_again.append(row.pk)
            if not row.is_done:
                row.window_starts_at, row.due_at = _window(phase, anchor)
                row.reminds = phase.remind_when_window_ends
                reanchored.append(row)
            reason = "Required again"
        else:
            continue
        row._history_user = by
        row._change_reason = reason
        row.save(update_fields=["applies", "window_starts_at", "due_at"])
    created = _add_missing_items(incident, wanted, anchor=anchor, by=by)
    change.added = [row.pk for row in created]
    if created or reanchored:
        _schedule_window_reminders(incident, [*created, *reanchored])
    if change:
        timeline_record(
            incident, kind=TimelineEntry.Kind.CHECKLIST, by=by,
            text=f"Checklist changed after {cause}: {change.summary()}.",
            data={"added": len(change.added), "required_again": len(change.required_again),
                  "not_required": len(change.not_required),
                  "severity": incident.severity.code},
        )
    return change


def _schedule_window_reminders(incident: Incident, rows: list[IncidentChecklistItem], *,
                               replace: bool = True) -> None:
    windows = {(row.phase_slug, row.due_at) for row in rows
               if row.due_at is not None and row.phase_slug and row.reminds}
    timers = [deadline_new(
        subject=incident, key=f"{PHASE_WINDOW_KEY_PREFIX}{slug}.{int(due_at.timestamp())}",
        kind=PHASE_WINDOW_KIND, due_at=due_at, incident=incident,
        payload={"phase": slug, "due_at": due_at.isoformat()},
    ) for slug, due_at in windows]
    deadlines_schedule_many(timers, replace=replace)  # keys differ: one cancel, one INSERT


def checklist_windows_stop(incident: Incident) -> int:
    """No more phase reminders once the incident is resolved or ended."""
    return deadline_cancel(subject=incident, key_prefix=PHASE_WINDOW_KEY_PREFIX)


def remind_phase_window_ended(deadline) -> None:
    """A phase window ended: if items of it are still open, remind the incident manager and
    the people those items are assigned to, and say so on the timeline."""
    incident = Incident.objects.select_related("incident_manager").get(pk=deadline.object_id)
    if not incident.is_open:
        return
    open_items = list(
        IncidentChecklistItem.objects.filter(
            incident=incident, phase_slug=deadline.payload.get("phase", ""),
            due_at__lte=deadline.due_at, done_at__isnull=True, applies=True,
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
    who = ("the incident manager was" if incident.incident_manager_id
           else "nobody (no incident manager) was")
    if any(item.assignee_id for item in open_items):
        who = who.removesuffix(" was") + " and the assignees were"
    timeline_record(
        incident, kind=TimelineEntry.Kind.CHECKLIST,
        text=f"The “{phase}” window ended with {len(open_items)} open checklist "
             f"{'item' if len(open_items) == 1 else 'items'}; {who} reminded.",
        data={"phase": deadline.payload.get("phase"), "open": [i.pk for i in open_items],
              "deadline": deadline.pk},
    )


# Registered by a call, not as a decorator: mutmut makes no mutant of a decorated function.
register(PHASE_WINDOW_KIND)(remind_phase_window_ended)


def checklist_follow_severity_change(incident: Incident, *, old: SeverityLevel, by=None
                                     ) -> ChecklistChange:
    """The severity changed: the checklist follows the new level from now on."""
    return checklist_follow_procedure(
        incident, anchor=timezone.now(), by=by,
        cause=f"the severity was {incident.severity.change_from(old)} from {old.code} to "
              f"{incident.severity.code}")


def checklist_follow_type_change(incident: Incident, *, old_type, by=None) -> ChecklistChange:
    """The incident's type changed: the checklist follows the new type's procedure (windows
    counted from now, when that procedure starts)."""
    old = old_type.name if old_type is not None else "another type"
    return checklist_follow_procedure(
        incident, anchor=timezone.now(), by=by,
        cause=f"the type changed from {old} to {incident.incident_type.name}")


def can_tick(user, incident: Incident) -> bool:
    return user.has_perm("incidents.change_incidentchecklistitem")


def checklist_item_set_done(item: IncidentChecklistItem, *, by, done: bool) -> IncidentChecklistItem:
    """Tick (done=True) or untick an item; the timeline records who and when."""
    with transaction.atomic():
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


def checklist_item_assign(item: IncidentChecklistItem, *, by, assignee) -> IncidentChecklistItem:
    """Give an item to someone on the incident's team (or to nobody); the timeline says so."""
    with transaction.atomic():
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
    rows = list(incident.checklist_items.filter(done_at__isnull=True, applies=True,
                                                due_at__gt=timezone.now())
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
            incident=incident, is_required=True, applies=True, blocks=transition,
            done_at__isnull=True,
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


@dataclass(frozen=True)
class ChecklistGuard:
    """The guard registered for one transition: equal to any other for the same transition,
    so it can be found and unregistered. (An object rather than a closure: a closure is
    built at import, before mutmut switches a mutant on, so its call was never mutated.)"""

    transition: str

    def __call__(self, incident: Incident) -> list[str]:
        return checklist_refusals(incident, self.transition)


CHECKLIST_GUARDS = {name: ChecklistGuard(name) for name, _ in TRANSITION_CHOICES}
