"""The public status page: no login, nothing internal."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors


@require_GET
def index(request):
    response = render(request, "statuspage/index.html", selectors.status_page())
    # Short: visitors reload during an outage, and the page must not go stale in caches.
    response["Cache-Control"] = "public, max-age=30"
    return response
