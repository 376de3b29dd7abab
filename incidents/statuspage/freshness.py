"""The public status page is served from the cache for a short time, and never after a
change to what it shows: the cached page is keyed by a version that every such change
moves on (an incident saved, restricted, moved along or given services; a status update
published, withdrawn or deleted; a service or a severity edited).

The version is a PostgreSQL sequence (incidents/cache_version.py); on SQLite (the embedded
single-site portal, where the page is cheap anyway) the page is built on each request."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save

from incidents.cache_version import CacheVersion
from incidents.models import Incident, Service, SeverityLevel, StatusUpdate

SEQUENCE = "incidents_status_page_version"
CACHE_SECONDS = 30
_KEY = "statuspage:page:{}"
VERSION = CacheVersion(SEQUENCE)
current_version = VERSION.current
bump = VERSION.bump  # the signal receiver


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
