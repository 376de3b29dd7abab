"""The public status page is served from the cache for a short time, and never after a
change to what it shows: the cached page is keyed by a version that every such change
moves on (an incident saved, restricted, moved along or given services; a status update
published, withdrawn or deleted; a service or a severity edited).

The version is a PostgreSQL sequence: `nextval` is one cheap statement that takes no row lock
(so concurrent incident writes never queue behind it) and is seen by every web process at
once, whatever cache each one has. A rolled-back change has moved it on too, which costs one
needless rebuild and is never stale; a committed one moves it on again after the commit, so a
page built from the data before it is never kept under the newer version. On SQLite (the embedded single-site portal, where the
page is cheap anyway) there is no version, and the page is built on each request."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from incidents.models import Incident, Service, SeverityLevel, StatusUpdate

SEQUENCE = "incidents_status_page_version"
CACHE_SECONDS = 30
_KEY = "statuspage:page:{}"


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
    """Signal receiver: what the page shows may have changed. Moved on now (so the writing
    transaction itself never reads a stale page) and again once the change is committed (a
    page built meanwhile by another process saw the data from before it, under the new
    version)."""
    if _enabled():
        _next_version()
        transaction.on_commit(_next_version)


def cached_page(build):
    """`build()`'s result (the rendered status page) from the cache when nothing the page
    shows has changed since it was built, at most CACHE_SECONDS ago."""
    version = current_version()
    if version is None:
        return build()
    key = _KEY.format(version)
    figures = cache.get(key)
    if figures is None:
        figures = build()
        cache.set(key, figures, CACHE_SECONDS)
    return figures


for _model in (Incident, StatusUpdate, Service, SeverityLevel):
    post_save.connect(bump, sender=_model, dispatch_uid=f"statuspage-save-{_model.__name__}")
    post_delete.connect(bump, sender=_model,
                        dispatch_uid=f"statuspage-delete-{_model.__name__}")
m2m_changed.connect(bump, sender=Incident.services.through, dispatch_uid="statuspage-services")
