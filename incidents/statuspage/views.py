"""The public status page: no login, nothing internal."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import freshness, selectors


@require_GET
def index(request):
    # The figures come from the cache until something they show changes (freshness.py); a
    # flood of visitors during an outage costs one small query each.
    response = render(request, "statuspage/index.html",
                      freshness.cached_figures(selectors.status_page))
    # Short: visitors reload during an outage, and the page must not go stale in caches.
    response["Cache-Control"] = "public, max-age=30"
    return response
