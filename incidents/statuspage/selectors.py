"""Reads for the public status page. Only public services and published customer updates
leave this module: no titles, notes, names or internal updates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone

from incidents.models import Incident, Service, StatusUpdate
from incidents.selectors import visible_incidents

RECENT = timedelta(days=7)
OPERATIONAL, DEGRADED, OUTAGE = "operational", "degraded", "outage"
STATUS_LABELS = {OPERATIONAL: "Operational", DEGRADED: "Degraded performance",
                 OUTAGE: "Outage"}
SEVERITY_ORDER = {OPERATIONAL: 0, DEGRADED: 1, OUTAGE: 2}


@dataclass
class ServiceStatus:
    name: str
    description: str
    status: str

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class PublicIncident:
    """What the public may know about an incident: its published updates and the public
    services it affects."""

    services: list[str]
    updates: list[StatusUpdate]
    is_open: bool
    resolved_at: datetime | None
    headline: str = field(default="")


def _public_incidents(queryset) -> list[PublicIncident]:
    public_updates = StatusUpdate.objects.filter(is_public=True).only(
        "incident_id", "subject", "body", "sent_at", "stage").order_by("-sent_at", "-id")
    incidents = queryset.prefetch_related(
        Prefetch("services", queryset=Service.objects.filter(is_public=True), to_attr="public"),
        Prefetch("status_updates", queryset=public_updates, to_attr="published"),
    ).only("id", "state", "resolved_at", "declared_at")
    result = []
    for incident in incidents:
        if not incident.published:
            continue
        result.append(PublicIncident(
            services=[s.name for s in incident.public],
            updates=incident.published,
            is_open=incident.is_open,
            resolved_at=incident.resolved_at,
            headline=incident.published[0].subject,
        ))
    return result


# The status page is for the public: restricted incidents never appear on it, not even as a
# service's degraded status.
PUBLIC = None
# Past triage: someone confirmed it is an incident (an untriaged report may be a false alarm).
CONFIRMED_STATES = (Incident.State.TRIAGED, Incident.State.INVESTIGATING,
                    Incident.State.MITIGATED, Incident.State.RESOLVED, Incident.State.CLOSED)


def announced_incidents():
    """What the public may hear of: confirmed incidents with a published public update. Only
    these change a service's status, so one responder's untriaged report shows nothing."""
    published = StatusUpdate.objects.filter(incident=OuterRef("pk"), is_public=True)
    return visible_incidents(PUBLIC).filter(Exists(published), state__in=CONFIRMED_STATES)


def status_page(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    open_incidents = list(
        announced_incidents().open().select_related("severity")
        .prefetch_related(Prefetch("services", queryset=Service.objects.filter(is_public=True),
                                   to_attr="public"))
        .only("id", "state", "severity__public_status")
    )
    # Each severity says how it shows publicly; a service shows its worst open incident.
    worst: dict[int, str] = {}
    for incident in open_incidents:
        for service in incident.public:
            status = incident.severity.public_status
            if SEVERITY_ORDER[status] > SEVERITY_ORDER[worst.get(service.pk, OPERATIONAL)]:
                worst[service.pk] = status
    services = []
    for service in Service.objects.filter(is_public=True).order_by("name"):
        status = worst.get(service.pk, OPERATIONAL)
        services.append(ServiceStatus(service.name, service.description, status))
    current = _public_incidents(announced_incidents().open().order_by("-declared_at"))
    recent = _public_incidents(
        announced_incidents().filter(resolved_at__gte=now - RECENT)
        .exclude(state__in=Incident.OPEN_STATES).order_by("-resolved_at")
    )
    overall = (OUTAGE if any(s.status == OUTAGE for s in services)
               else DEGRADED if any(s.status == DEGRADED for s in services) else OPERATIONAL)
    return {"services": services, "current": current, "recent": recent, "overall": overall,
            "overall_label": {OPERATIONAL: "All systems operational",
                              DEGRADED: "Some systems are degraded",
                              OUTAGE: "Some systems have an outage"}[overall],
            "generated_at": now}
