"""Turns a database race that no service retried into a clear answer instead of a 500."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme

from .transactions import BUSY_MESSAGE, is_transient_conflict


def _wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept or request.content_type == "application/json"


class DatabaseConflictMiddleware:
    """A deadlock or serialization failure rolled the request's change back whole: say so (409)
    and let the person try again. Browsers go back to the page they came from, with the message;
    machines get a JSON error body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_transient_conflict(exception):
            return None
        if _wants_json(request):
            return JsonResponse({"error": BUSY_MESSAGE}, status=409)
        back = request.headers.get("Referer", "")
        if request.method == "POST" and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            messages.error(request, BUSY_MESSAGE)
            return HttpResponseRedirect(back)
        return HttpResponse(f"<p>{escape(BUSY_MESSAGE)}</p>", status=409)
