"""Reads for the war room. Each page part costs a fixed number of queries, whatever the
number of timeline entries, checklist items or updates."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from incidents.models import Incident, IncidentChecklistItem, StatusUpdate, TimelineEntry
from incidents.selectors import visible_incidents


def warroom_incident(reference: str, user) -> Incident:
    """Raises Incident.DoesNotExist also for an incident `user` may not see."""
    return (
        visible_incidents(user).select_related(
            "severity", "reporter", "incident_manager", "communications_lead", "scribe",
        )
        .prefetch_related("services", "responders")
        .get(reference=reference)
    )


def timeline_entries(incident: Incident, *, kind: str = "", after_id: int | None = None
                     ) -> QuerySet[TimelineEntry]:
    """Entries newest first; with `after_id`, only those created after the page's last one
    (ids grow with creation, so a backdated note still counts as new)."""
    qs = TimelineEntry.objects.filter(incident=incident).select_related("author")
    if kind:
        qs = qs.filter(kind=kind)
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    return qs.order_by("-occurred_at", "-id")


def latest_timeline_entries(incident: Incident, *, kind: str = "", limit: int
                            ) -> tuple[list[TimelineEntry], int | None]:
    """The newest `limit` entries, newest first, and when there are more, the id of the
    oldest one shown: the incident page's timeline pages on from it (`?before=`, the same
    (occurred_at, id) order), so no entry is out of reach however long the incident ran."""
    rows = list(timeline_entries(incident, kind=kind)[: limit + 1])
    return rows[:limit], (rows[limit - 1].pk if len(rows) > limit else None)


def key_events(incident: Incident) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(incident=incident, is_key_event=True)
                .select_related("author").order_by("occurred_at", "id"))


def last_timeline_id(incident: Incident) -> int:
    return (TimelineEntry.objects.filter(incident=incident).order_by("-id")
            .values_list("id", flat=True).first()) or 0


@dataclass
class ChecklistGroup:
    """One phase of one template on the incident's checklist. Its window and counters are
    those of the items the current severity and type ask for (`applies`); items kept from
    another level are listed too, marked not required."""

    template_name: str
    phase_name: str
    items: list = field(default_factory=list)

    @property
    def required_items(self) -> list:
        return [item for item in self.items if item.applies]

    @property
    def not_required_count(self) -> int:
        return len(self.items) - len(self.required_items)

    @property
    def done_count(self) -> int:
        return sum(1 for item in self.required_items if item.done_at)

    @property
    def overdue_count(self) -> int:
        return sum(1 for item in self.items if getattr(item, "overdue", False))

    @property
    def _window_item(self):
        """The item whose window the header shows: of the items that apply, the one of the
        latest procedure start (a phase re-required after a severity change starts again)."""
        items = self.required_items or self.items
        timed = [item for item in items if item.due_at is not None]
        return max(timed, key=lambda item: item.due_at) if timed else items[0]

    @property
    def window_starts_at(self) -> datetime | None:
        return self._window_item.window_starts_at

    @property
    def due_at(self) -> datetime | None:
        return self._window_item.due_at


def checklist_groups(incident: Incident, *, now: datetime | None = None) -> list[ChecklistGroup]:
    """The incident's checklist grouped by template and phase, each item marked overdue when
    its window has passed unticked (only while the incident is open and the item is still
    required: afterwards the windows no longer matter)."""
    now = now or timezone.now()
    items = (IncidentChecklistItem.objects.filter(incident=incident)
             .select_related("done_by", "assignee")
             .order_by("position", "id"))
    groups: OrderedDict[tuple[str, str], ChecklistGroup] = OrderedDict()
    for item in items:
        item.overdue = incident.is_open and item.applies and item.is_overdue(now)
        key = (item.template_name, item.phase_name)
        if key not in groups:
            groups[key] = ChecklistGroup(item.template_name, item.phase_name)
        groups[key].items.append(item)
    return list(groups.values())


def status_updates(incident: Incident) -> list[StatusUpdate]:
    return list(StatusUpdate.objects.filter(incident=incident)
                .select_related("sent_by", "audience")
                .prefetch_related("recipients", "contacts").order_by("-sent_at", "-id"))
