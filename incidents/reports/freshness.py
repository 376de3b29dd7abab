"""The report dashboard's figures are served from the cache for a short time per period and
filters, and never after a change to the incidents they count: the cached figures are keyed by
a version that every such change moves on (an incident saved or deleted, or given services;
a severity, service or incident type edited; an escalation, post-mortem or action item saved).

As for the public status page, the version is a PostgreSQL sequence
(incidents/cache_version.py). What no save announces (time passing turns a pending SLA into a
breach and adds to an open incident's revenue lost; the sweep records breaches in bulk) is at
most CACHE_SECONDS old. Only figures and the costliest incidents' ids are cached (a full year's
ranking is the dearest query of the page): the rows that name incidents depend on who reads
them and are built per request. On SQLite (the embedded portal) there is no version and the
figures are built on each request."""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save

from incidents.cache_version import CacheVersion
from incidents.models import Incident, IncidentType, Service, SeverityLevel

from . import metrics, sources
from .periods import ReportPeriod

SEQUENCE = "incidents_reports_version"
CACHE_SECONDS = 60
# The "2" names the cached value's shape: a deploy that changes it must not read the old one.
_KEY = "reports:figures:2:{version}:{start}:{end}:{severity}:{service}:{type}"
VERSION = CacheVersion(SEQUENCE)
current_version = VERSION.current
bump = VERSION.bump  # the signal receiver


class DashboardFigures(NamedTuple):
    summary: metrics.Summary
    trends: dict
    costliest_ids: list[int]  # costliest first, at summary.generated_at


def dashboard_figures(period: ReportPeriod, filters: metrics.ReportFilters) -> DashboardFigures:
    """`report_summary`, `weekly_trends` and the costliest incidents' ids for the dashboard,
    from the cache when nothing they count has changed since they were computed, at most
    CACHE_SECONDS ago."""
    version = current_version()
    if version is None:
        return _computed(period, filters)
    key = _KEY.format(
        version=version, start=period.start, end=period.end,
        severity=filters.severity.pk if filters.severity else "",
        service=filters.service.pk if filters.service else "",
        type=filters.incident_type.pk if filters.incident_type else "")
    cached = cache.get(key)
    if cached is None:
        figures = _computed(period, filters)
        # Never the viewer: the figures are everyone's, so the cached copy names nobody.
        cached = figures._replace(
            summary=replace(figures.summary, filters=replace(filters, viewer=None)))
        cache.set(key, cached, CACHE_SECONDS)
    return cached._replace(summary=replace(cached.summary, filters=filters))


def _computed(period: ReportPeriod, filters: metrics.ReportFilters) -> DashboardFigures:
    summary, trends = metrics.summary_and_trends(period, filters)
    return DashboardFigures(summary, trends,
                            metrics.costliest_ids(period, filters, summary.generated_at))


def _connect(model) -> None:
    post_save.connect(bump, sender=model, dispatch_uid=f"reports-save-{model.__name__}")
    post_delete.connect(bump, sender=model, dispatch_uid=f"reports-delete-{model.__name__}")


for _model in (Incident, SeverityLevel, Service, IncidentType,
               sources.escalation_event_model(), sources.postmortem_model(),
               sources.action_item_model()):
    if _model is not None:
        _connect(_model)
m2m_changed.connect(bump, sender=Incident.services.through, dispatch_uid="reports-services")
