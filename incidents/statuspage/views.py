"""The public status page: no login, nothing internal."""

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from . import freshness, selectors


@require_GET
def index(request):
    # The page comes from the cache until something it shows changes (freshness.py): a flood
    # of visitors during an outage costs one small query each and no rendering. The page is
    # the same for everyone (no user, no form, no inline script, the organisation's time zone).
    response = HttpResponse(freshness.cached_page(lambda: render_to_string(
        "statuspage/index.html", selectors.status_page(), request=request)))
    # Short: visitors reload during an outage, and the page must not go stale in caches.
    response["Cache-Control"] = "public, max-age=30"
    return response
