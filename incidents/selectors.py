"""Reads for pages and reports. Each returns a queryset with what its page needs joined in."""

from __future__ import annotations

import copy

from django.db.models import Count, Q, QuerySet

from . import guards
from .models import Incident, SeverityLevel, TimelineEntry


def incident_list(*, user=None, state: str = "", severity: str = "", service: str = "",
                  mine: bool = False, search: str = "") -> QuerySet[Incident]:
    qs = Incident.objects.select_related("severity", "incident_manager", "reporter")
    qs = qs.prefetch_related("services")
    if state == "open":
        qs = qs.open()
    elif state:
        qs = qs.filter(state=state)
    if severity:
        qs = qs.filter(severity__code=severity)
    if service:
        qs = qs.filter(services__slug=service)
    if mine and user is not None:
        qs = qs.filter(
            Q(incident_manager=user) | Q(communications_lead=user) | Q(scribe=user)
            | Q(responders=user) | Q(reporter=user)
        ).distinct()
    if search:
        qs = qs.filter(
            Q(reference__icontains=search) | Q(title__icontains=search)
            | Q(description__icontains=search)
        )
    return qs


def incident_detail(reference: str) -> Incident:
    return (
        Incident.objects.select_related(
            "severity", "reporter", "incident_manager", "communications_lead", "scribe",
            "duplicate_of",
        )
        .prefetch_related("services", "responders")
        .get(reference=reference)
    )


def firefighting_incidents() -> list[Incident]:
    """Open incidents at the most severe level: while any exists, the team is firefighting."""
    top = SeverityLevel.objects.order_by("rank").values_list("pk", flat=True)[:1]
    return list(
        # "state" too: ConcurrentTransitionMixin reads it on load, so deferring it costs a
        # query per incident on every page.
        Incident.objects.open().filter(severity__in=top).only("reference", "title", "state")
        .order_by("declared_at")
    )


def open_counts_by_severity_and_state() -> list[dict]:
    """One row per severity: its open incidents counted per state, in a single query."""
    counts = {
        state: Count("incidents", filter=Q(incidents__state=state))
        for state in Incident.OPEN_STATES
    }
    rows = SeverityLevel.objects.annotate(**counts, total=Count(
        "incidents", filter=Q(incidents__state__in=Incident.OPEN_STATES))).order_by("rank")
    return [
        {"severity": row, "by_state": [(s, getattr(row, s)) for s in Incident.OPEN_STATES],
         "total": row.total}
        for row in rows
    ]


def incidents_with_role(user, *, limit: int = 10) -> list[Incident]:
    """Open incidents where `user` holds a role or responds, most severe first."""
    involved = (Q(incident_manager=user) | Q(communications_lead=user) | Q(scribe=user)
                | Q(responders=user) | Q(reporter=user))
    ids = Incident.objects.open().filter(involved).values("pk")
    return list(
        Incident.objects.filter(pk__in=ids)
        .select_related("severity", "incident_manager")
        .order_by("severity__rank", "-declared_at")[:limit]
    )


def recently_resolved(*, limit: int = 10) -> list[Incident]:
    return list(
        Incident.objects.filter(resolved_at__isnull=False)
        .exclude(state__in=Incident.OPEN_STATES)
        .select_related("severity", "incident_manager")
        .order_by("-resolved_at")[:limit]
    )


def incident_timeline(incident: Incident) -> QuerySet[TimelineEntry]:
    return incident.timeline.select_related("author").order_by("occurred_at", "id")


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
