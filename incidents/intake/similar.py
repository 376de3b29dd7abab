"""Similar incidents: open possible duplicates and similar past incidents, by text similarity
of title and description plus shared services (and, for alerts, shared label values).

PostgreSQL: full-text search (OR of the text's words, ranked by ts_rank) over a GIN index on
the same expression (migration 0003), so it needs no extension and stays an index scan at
100,000 incidents. SQLite: a bounded plain fallback (the most recent incidents containing the
longest words, scored by word overlap)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from incidents.models import Incident
from incidents.selectors import visible_incidents

# Title words weigh more than description words. Migration 0003 indexes this exact expression.
DOCUMENT = ("(setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B'))")
# The same expression with its columns named, for queries that join other tables.
QUALIFIED = DOCUMENT.replace("(title", '("incidents_incident"."title"').replace(
    "(description", '("incidents_incident"."description"')
PAST = timedelta(days=365)
CANDIDATES = 50
_WORD = re.compile(r"[a-z0-9]{3,}")
STOP = {"the", "and", "for", "with", "from", "are", "was", "not", "has", "have", "this", "that",
        "into", "over", "alert", "opened", "incident", "http", "https", "www", "com"}


@dataclass
class Similar:
    incident: Incident
    score: float
    shared_services: list[str]


def words(text: str, limit: int = 12) -> list[str]:
    found = []
    for word in _WORD.findall(text.lower()):
        if word not in STOP and word not in found:
            found.append(word)
    return sorted(found, key=len, reverse=True)[:limit]


def similar_incidents(*, user, title: str, description: str = "", services=(), labels=None,
                      exclude: Incident | None = None, limit: int = 5) -> dict[str, list[Similar]]:
    """{"open": possible duplicates, "past": similar closed-out incidents of the last year},
    among the incidents `user` may see."""
    terms = words(" ".join([title, *(labels or {}).values()]))
    terms += [w for w in words(description, limit=4) if w not in terms]
    if not terms:
        return {"open": [], "past": []}
    since = timezone.now() - PAST
    base = visible_incidents(user).filter(declared_at__gte=since)
    if exclude is not None:
        base = base.exclude(pk=exclude.pk)
    candidates = (_postgres(base, terms) if connection.vendor == "postgresql"
                  else _plain(base, terms))
    service_ids = {s.pk for s in services}
    shared = _shared_services([c for c, _ in candidates], service_ids)
    scored = sorted(
        (Similar(incident, score + 0.5 * len(shared.get(incident.pk, [])),
                 shared.get(incident.pk, []))
         for incident, score in candidates),
        key=lambda s: (-s.score, -s.incident.declared_at.timestamp()),
    )
    return {"open": [s for s in scored if s.incident.is_open][:limit],
            "past": [s for s in scored if not s.incident.is_open][:limit]}


def _postgres(base, terms: list[str]) -> list[tuple[Incident, float]]:
    query = " | ".join(terms)  # words are [a-z0-9] only: safe in to_tsquery
    rows = (base.select_related("severity")
            .extra(select={"rank": f"ts_rank({QUALIFIED}, to_tsquery('english', %s))"},
                   select_params=[query],
                   where=[f"{QUALIFIED} @@ to_tsquery('english', %s)"], params=[query])
            .order_by("-rank", "-declared_at")[:CANDIDATES])
    return [(incident, float(incident.rank) * 10) for incident in rows]


def _plain(base, terms: list[str]) -> list[tuple[Incident, float]]:
    match = Q()
    for term in terms[:5]:
        match |= Q(title__icontains=term) | Q(description__icontains=term)
    rows = base.filter(match).select_related("severity").order_by("-declared_at")[:CANDIDATES]
    wanted = set(terms)
    scored = []
    for incident in rows:
        have = set(words(f"{incident.title} {incident.description}", limit=50))
        overlap = len(wanted & have) / len(wanted | have) if have else 0
        if overlap:  # "out" is inside "checkout": substring hits that share no word are dropped
            scored.append((incident, overlap))
    return scored


def _shared_services(incidents: list[Incident], service_ids: set[int]) -> dict[int, list[str]]:
    if not incidents or not service_ids:
        return {}
    through = Incident.services.through
    shared: dict[int, list[str]] = {}
    for incident_id, name in (through.objects
                              .filter(incident_id__in=[i.pk for i in incidents],
                                      service_id__in=service_ids)
                              .values_list("incident_id", "service__name")):
        shared.setdefault(incident_id, []).append(name)
    return shared


def similar_to_incident(incident: Incident, *, user, **kwargs) -> dict[str, list[Similar]]:
    return similar_incidents(user=user, title=incident.title, description=incident.description,
                             services=list(incident.services.all()), exclude=incident, **kwargs)
