"""The report dashboard's figures are served from the cache for a short time per period and
filters, and never after a change to the incidents they count: the cached figures are keyed by
a version that every such change moves on (an incident saved or deleted, or given services;
a severity, service or incident type edited; an escalation, post-mortem or action item saved).

As for the public status page (incidents/statuspage/freshness.py), the version is a PostgreSQL
sequence: `nextval` takes no row lock and every web process sees it at once. What no save
announces (time passing turns a pending SLA into a breach and adds to an open incident's
revenue lost; the sweep records breaches in bulk) is at most CACHE_SECONDS old. Only figures
are cached: rows that name incidents depend on who reads them and are built per request. On
SQLite (the embedded portal) there is no version and the figures are built on each request."""

from __future__ import annotations

from dataclasses import replace

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from incidents.models import Incident, IncidentType, Service, SeverityLevel

from . import metrics, sources
from .periods import ReportPeriod

SEQUENCE = "incidents_reports_version"
CACHE_SECONDS = 60
_KEY = "reports:figures:{version}:{start}:{end}:{severity}:{service}:{type}"


def _enabled() -> bool:
    return connection.vendor == "postgresql"


def current_version() -> int | None:
    if not _enabled():
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {SEQUENCE}")
        return cursor.fetchone()[0]


def _next_version() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [SEQUENCE])


def bump(**kwargs) -> None:
    """Signal receiver: the figures may have changed. Moved on now (the writing transaction
    never reads stale figures) and again at commit (figures another process built meanwhile
    saw the data from before the change, under the new version)."""
    if _enabled():
        _next_version()
        transaction.on_commit(_next_version)


def dashboard_figures(period: ReportPeriod, filters: metrics.ReportFilters
                      ) -> tuple[metrics.Summary, dict]:
    """`report_summary` and `weekly_trends` for the dashboard, from the cache when nothing
    they count has changed since they were computed, at most CACHE_SECONDS ago."""
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
        summary, trends = _computed(period, filters)
        # Never the viewer: the figures are everyone's, so the cached copy names nobody.
        cached = (replace(summary, filters=replace(filters, viewer=None)), trends)
        cache.set(key, cached, CACHE_SECONDS)
    summary, trends = cached
    return replace(summary, filters=filters), trends


def _computed(period: ReportPeriod, filters: metrics.ReportFilters) -> tuple:
    return metrics.summary_and_trends(period, filters)


def _connect(model) -> None:
    post_save.connect(bump, sender=model, dispatch_uid=f"reports-save-{model.__name__}")
    post_delete.connect(bump, sender=model, dispatch_uid=f"reports-delete-{model.__name__}")


for _model in (Incident, SeverityLevel, Service, IncidentType,
               sources.escalation_event_model(), sources.postmortem_model(),
               sources.action_item_model()):
    if _model is not None:
        _connect(_model)
m2m_changed.connect(bump, sender=Incident.services.through, dispatch_uid="reports-services")
