"""Reads for pages and reports. Each returns a queryset with what its page needs joined in."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import Incident, SeverityLevel


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
        Incident.objects.open().filter(severity__in=top).only("reference", "title")
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
