"""Reads for pages and reports. Each returns a queryset with what its page needs joined in."""

from __future__ import annotations

import copy

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import (
    BooleanField, Case, Count, Exists, OuterRef, Q, QuerySet, Value, When, Window,
)

from . import guards
from .models import Incident, IncidentParticipant, SeverityLevel, TimelineEntry

VIEW_ALL_RESTRICTED = "incidents.view_restricted_incidents"


# --- Visibility: the one rule for who may see which incident --------------------------------


def visibility_rule(user, *, via: str = "") -> Q | None:
    """The incidents `user` may see, as a filter on incidents or, with `via` (e.g. "incident",
    "postmortem__incident"), on rows that point to one. None means every incident.

    Unrestricted incidents are for all staff; a restricted one only for its participants, its
    named groups and holders of "view all restricted incidents". Two EXISTS on indexed
    (incident, user) / (incident, group) pairs, evaluated only for restricted rows, so a
    list of 100,000 incidents costs what it cost before."""
    prefix = f"{via}__" if via else ""
    open_to_staff = Q(**{f"{prefix}is_restricted": False})
    if user is None or not user.is_authenticated or not user.is_active:
        return open_to_staff
    if user.has_perm(VIEW_ALL_RESTRICTED):
        return None
    incident = OuterRef(via or "pk")
    return (
        open_to_staff
        | Exists(IncidentParticipant.objects.filter(incident=incident, user=user))
        | Exists(Incident.visible_to_groups.through.objects.filter(
            incident=incident, group__user=user))
    )


def visible_incidents(user, queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    """Every read of incidents for a person goes through here (or `restrict_to_visible` for
    rows about incidents). `user=None` or anonymous: the public, i.e. unrestricted only."""
    queryset = Incident.objects.all() if queryset is None else queryset
    rule = visibility_rule(user)
    return queryset if rule is None else queryset.filter(rule)


def _rule_for_rows(queryset: QuerySet, user, via: str) -> Q | None:
    """The rule for rows pointing to an incident through `via`; rows whose (nullable) direct
    relation is empty are about no incident and stay visible."""
    rule = visibility_rule(user, via=via)
    if rule is None or not via or "__" in via:
        return rule
    if queryset.model._meta.get_field(via).null:
        rule |= Q(**{f"{via}__isnull": True})
    return rule


def restrict_to_visible(queryset: QuerySet, user, *, via: str = "incident") -> QuerySet:
    """Rows (timeline entries, reviews, clocks, notifications...) whose incident `user` may see.
    Rows with no incident at all are kept when `via` is a nullable relation."""
    rule = _rule_for_rows(queryset, user, via)
    return queryset if rule is None else queryset.filter(rule)


def with_viewer_may_see(queryset: QuerySet, user, *, via: str = "") -> QuerySet:
    """Annotate `viewer_may_see`, for pages and reports that count or mention every incident
    but show the reference and title only of those the viewer may see."""
    rule = _rule_for_rows(queryset, user, via)
    flag = Value(True) if rule is None else Case(When(rule, then=Value(True)), default=Value(False),
                                                  output_field=BooleanField())
    return queryset.annotate(viewer_may_see=flag)


def can_see(user, incident: Incident) -> bool:
    if not incident.is_restricted:
        return True
    return visible_incidents(user).filter(pk=incident.pk).exists()


def people_who_may_see(incident: Incident, people: Iterable) -> list:
    """Those of `people` allowed to see `incident` (for notifications), in a fixed number of
    queries plus a permission check per person who is neither participant nor group member."""
    people = [person for person in people if person is not None]
    if not incident.is_restricted:
        return people
    ids = {person.pk for person in people}
    allowed = set(IncidentParticipant.objects.filter(incident=incident, user__in=ids)
                  .values_list("user_id", flat=True))
    allowed |= set(Incident.visible_to_groups.through.objects.filter(
        incident=incident, group__user__in=ids).values_list("group__user", flat=True))
    return [person for person in people
            if person.pk in allowed or (person.is_active and person.has_perm(VIEW_ALL_RESTRICTED))]


# --- Lists and pages ---------------------------------------------------------------------


def incident_list(*, user, state: str = "", severity: str = "", service: str = "",
                  mine: bool = False, search: str = "") -> QuerySet[Incident]:
    qs = visible_incidents(user).select_related("severity", "incident_manager", "reporter")
    qs = qs.prefetch_related("services")
    if state == "open":
        qs = qs.open()
    elif state:
        qs = qs.filter(state=state)
    if severity:
        qs = qs.filter(severity__code=severity)
    if service:
        qs = qs.filter(services__slug=service)
    if mine:
        qs = qs.filter(
            Q(incident_manager=user) | Q(communications_lead=user) | Q(scribe=user)
            | Q(responders=user) | Q(reporter=user)
        ).distinct()
    if search:
        qs = qs.filter(search_rule(search))
    return qs


SEARCH_MAX_WORDS = 8


def search_rule(search: str) -> Q:
    """Every word of `search` somewhere in the reference, title or description, in any order
    and case: "checkout 500" finds "500s at checkout". On PostgreSQL each lookup is served by a
    trigram index (migration 0026) instead of a scan; on SQLite it is the same plain filter."""
    rule = Q()
    for word in search.split()[:SEARCH_MAX_WORDS]:
        rule &= (Q(reference__icontains=word) | Q(title__icontains=word)
                 | Q(description__icontains=word))
    return rule


LIST_COUNT_CAP = 1000


@dataclass
class IncidentPage:
    """A page of the incident list, newest first. `older_than` / `newer_than` are the incident
    ids to ask for the next page each way (None: there is none); `matching` counts the matches
    only up to just over `LIST_COUNT_CAP`."""

    incidents: list[Incident]
    older_than: int | None
    newer_than: int | None
    matching: int

    @property
    def matching_is_capped(self) -> bool:
        return self.matching > LIST_COUNT_CAP


def incident_list_page(incidents: QuerySet[Incident], *, user, size: int,
                       before: int | None = None, after: int | None = None) -> IncidentPage:
    """One page of `incidents` by keyset on (declared_at, id) along its index: the newest
    `size`, or those just older than incident `before`, or just newer than incident `after`.
    A page costs the same at the 100,000th row as at the first (no OFFSET), and the count
    stops at the cap (no COUNT over every match). The anchor is looked up among the incidents
    `user` may see, unfiltered, so a page link survives the anchor leaving the filter; an
    unknown anchor gives the newest page."""
    anchor_id = before if before is not None else after
    anchor = None
    if anchor_id is not None:
        anchor = (visible_incidents(user).filter(pk=anchor_id)
                  .values_list("declared_at", flat=True).first())
    newest_first = incidents.order_by("-declared_at", "-pk")
    rows, older, newer = [], False, False
    if anchor is not None and before is not None:
        rows = list(newest_first.filter(
            Q(declared_at__lt=anchor) | Q(declared_at=anchor, pk__lt=anchor_id))[: size + 1])
        older, newer = len(rows) > size, True
    elif anchor is not None:
        rows = list(incidents.order_by("declared_at", "pk").filter(
            Q(declared_at__gt=anchor) | Q(declared_at=anchor, pk__gt=anchor_id))[: size + 1])
        older, newer = True, len(rows) > size
        rows = rows[:size][::-1]
    if not rows:
        rows = list(newest_first[: size + 1])
        older, newer = len(rows) > size, False
    rows = rows[:size]
    return IncidentPage(
        incidents=rows,
        older_than=rows[-1].pk if older and rows else None,
        newer_than=rows[0].pk if newer and rows else None,
        matching=incidents.order_by()[: LIST_COUNT_CAP + 1].count(),
    )


def incident_detail(reference: str, user) -> Incident:
    """Raises Incident.DoesNotExist for an unknown reference and for one `user` may not see:
    the page answers 404 alike, so a restricted incident's existence does not leak."""
    return (
        visible_incidents(user).select_related(
            "severity", "reporter", "incident_manager", "communications_lead", "scribe",
            "duplicate_of",
        )
        .prefetch_related("services", "responders")
        .get(reference=reference)
    )


def _firefighting(user) -> QuerySet[Incident]:
    """Open incidents of a firefighting severity: while any exists, the team is firefighting.
    Each severity says whether it counts from declaration or only once triage confirmed it
    (seed 002: "when a critical incident is reported and confirmed as severe"). Everyone
    learns that the team is firefighting; `viewer_may_see` tells which of them the user may
    see named. The most severe come first, then the oldest (sorting on the severity's rank also
    keeps PostgreSQL from walking the whole declared_at index for the banner's few rows)."""
    mode = SeverityLevel.Firefighting
    counts = Q(severity__firefighting=mode.FROM_DECLARATION) | Q(
        severity__firefighting=mode.FROM_CONFIRMATION, state__in=Incident.ACTIVE_STATES)
    # "state" too: ConcurrentTransitionMixin reads it on load, so deferring it costs a query
    # per incident on every page.
    return (with_viewer_may_see(Incident.objects.open().filter(counts), user)
            .only("reference", "title", "state")
            .order_by("severity__rank", "declared_at", "pk"))


def firefighting_incidents(user) -> list[Incident]:
    """Every incident the team is firefighting, most severe and then oldest first."""
    return list(_firefighting(user))


FIREFIGHTING_BANNER_NAMES = 3


@dataclass
class FirefightingBanner:
    """What the banner on every staff page says: the oldest few incidents named (or "a
    restricted incident") and how many more there are, so a bad day with dozens of them open
    keeps every page small and fast."""

    named: list[Incident]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.named)


def firefighting_banner(user) -> FirefightingBanner | None:
    """None while the team is not firefighting. One query: the total comes with the named
    rows as a window count over every match."""
    named = list(_firefighting(user).annotate(total=Window(Count("pk")))
                 [:FIREFIGHTING_BANNER_NAMES])
    if not named:
        return None
    return FirefightingBanner(named=named, total=named[0].total)


def open_counts_by_severity_and_state(user) -> list[dict]:
    """One row per severity: the open incidents `user` may see counted per state (the list
    they link to shows the same), in two queries."""
    counts = {
        (row["severity"], row["state"]): row["n"]
        for row in visible_incidents(user).open().values("severity", "state")
        .annotate(n=Count("pk")).order_by()
    }
    rows = []
    in_use = {severity_id for severity_id, _state in counts}
    # Retired levels (an earlier procedure's) still show while incidents have them.
    for severity in SeverityLevel.objects.filter(Q(is_active=True) | Q(pk__in=in_use)):
        by_state = [(state, counts.get((severity.pk, state), 0)) for state in Incident.OPEN_STATES]
        rows.append({"severity": severity, "by_state": by_state,
                     "total": sum(n for _, n in by_state)})
    return rows


def incidents_with_role(user, *, limit: int = 10) -> list[Incident]:
    """Open incidents where `user` holds a role or responds, most severe first."""
    involved = (Q(incident_manager=user) | Q(communications_lead=user) | Q(scribe=user)
                | Q(responders=user) | Q(reporter=user))
    ids = Incident.objects.open().filter(involved).values("pk")
    return list(
        visible_incidents(user).filter(pk__in=ids)
        .select_related("severity", "incident_manager")
        .order_by("severity__rank", "-declared_at")[:limit]
    )


def recently_resolved(user, *, limit: int = 10) -> list[Incident]:
    return list(
        visible_incidents(user).filter(resolved_at__isnull=False)
        .exclude(state__in=Incident.OPEN_STATES)
        .select_related("severity", "incident_manager")
        .order_by("-resolved_at")[:limit]
    )


TIMELINE_PAGE_SIZE = 50


@dataclass
class TimelinePage:
    """A page of an incident's timeline in time order: the newest `TIMELINE_PAGE_SIZE`
    entries, or those just before `before` (an entry id, the oldest one the reader saw).
    `older_than` is the id to ask for the page before this one (None: nothing older);
    `is_latest` says whether this page ends with the newest entry."""

    entries: list[TimelineEntry]
    older_than: int | None
    is_latest: bool


def incident_timeline(incident: Incident, *, before: int | None = None,
                      size: int = TIMELINE_PAGE_SIZE) -> TimelinePage:
    """One page of the timeline in one query (two with `before`), by keyset on (occurred_at,
    id) along the (incident, occurred_at) index: an incident with thousands of entries costs
    what one with fifty does. An unknown `before` gives the newest page."""
    newest_first = incident.timeline.select_related("author").order_by("-occurred_at", "-id")
    anchor = None
    if before is not None:
        anchor = (incident.timeline.filter(pk=before)
                  .values_list("occurred_at", flat=True).first())
    if anchor is not None:
        newest_first = newest_first.filter(
            Q(occurred_at__lt=anchor) | Q(occurred_at=anchor, pk__lt=before))
    rows = list(newest_first[: size + 1])
    has_older = len(rows) > size
    entries = rows[:size][::-1]
    return TimelinePage(entries=entries,
                        older_than=entries[0].pk if has_older else None,
                        is_latest=anchor is None)


def _with_form_inputs(incident: Incident, user) -> Incident:
    """A copy of `incident` as if its transition form were filled in (incident manager,
    resolution summary, duplicate-of), so the guards report only what a form cannot fix."""
    probe = copy.copy(incident)
    if probe.incident_manager_id is None:
        probe.incident_manager_id = user.pk
    if not probe.resolution_summary.strip():
        probe.resolution_summary = "(given in the form)"
    if probe.duplicate_of_id is None:
        probe.duplicate_of_id = 0  # never a real pk, and never the incident itself
    return probe


def transition_choices(incident: Incident, user) -> list[dict]:
    """Transitions `user` may make from the current state, with the guard reasons that
    block each now (empty when the form can be submitted). Transitions the state or the
    user's permissions rule out are left out."""
    from .services import TRANSITIONS

    probe = _with_form_inputs(incident, user)
    choices = []
    for name in TRANSITIONS:
        meta = getattr(Incident, name)._django_fsm
        if not meta.has_transition(incident.state):
            continue
        if not meta.has_transition_perm(incident, incident.state, user):
            continue
        transition = meta.get_transition(incident.state)
        choices.append({
            "name": name,
            "label": transition.custom.get("label", name),
            "blocked_by": guards.refusal_reasons(probe, name),
        })
    return choices
