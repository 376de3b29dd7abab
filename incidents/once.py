"""One-time form tokens: a form carries `{% form_token %}`; the first POST with that token does
the work, and a repeat of it (double click, re-post after a reload, a retry) is answered with the
first result instead of declaring a second incident or adding a second note.

The middleware claims the token by inserting its row in the same transaction as the view's work.
A concurrent repeat waits on the row's unique key until the first commits, then finds it and
replays the answer; if the first failed (an exception rolls the claim back), the repeat does the
work itself. Answers that are full pages without a redirect (a form shown again with its errors,
a preview) are not kept: they changed nothing, and the page they show carries a new token."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone

from .models import FormSubmission

FIELD = "form_token"
KEEP_FOR = timedelta(days=2)
REPLAYED_HEADERS = ("Location", "Content-Type", "HX-Redirect", "HX-Trigger", "HX-Refresh")
MAX_KEPT_BODY = 256 * 1024


def new_token() -> str:
    return str(uuid.uuid4())


class OneTimeFormMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.POST.get(FIELD) if request.method == "POST" else None
        if not raw or not request.user.is_authenticated:
            return self.get_response(request)
        try:
            token = uuid.UUID(raw)
        except ValueError:
            return HttpResponseBadRequest("The form's one-time token is malformed; reload the "
                                          "page and submit again.")
        with transaction.atomic():
            try:
                with transaction.atomic():
                    claim = FormSubmission.objects.create(token=token, user=request.user,
                                                          path=request.path[:500])
            except IntegrityError:
                return _replay(request, token) or self.get_response(request)
            response = self.get_response(request)
            if _keep(request, response):
                claim.status = response.status_code
                claim.headers = {name: response[name] for name in REPLAYED_HEADERS
                                 if response.has_header(name)}
                claim.body = response.content if not response.streaming else b""
                claim.save(update_fields=["status", "headers", "body"])
            else:
                claim.delete()
        return response


def _keep(request, response) -> bool:
    if response.streaming or response.status_code >= 500:
        return False
    if 300 <= response.status_code < 400 or response.has_header("HX-Redirect"):
        return True
    # A fragment swapped into the page (htmx) is the result itself; a full page with no
    # redirect is a form shown again or a preview, which changed nothing.
    return bool(request.headers.get("HX-Request")) and len(response.content) <= MAX_KEPT_BODY


def _replay(request, token: uuid.UUID) -> HttpResponse | None:
    """The first answer; None when the first submission kept none (so this one does the work)."""
    first = FormSubmission.objects.filter(token=token).first()
    if first is None:
        return None
    if first.user_id != request.user.pk:
        return HttpResponseBadRequest("This form belongs to someone else's page; reload it.")
    response = HttpResponse(bytes(first.body), status=first.status)
    for name, value in first.headers.items():
        response[name] = value
    return response


def submissions_purge(*, now=None) -> int:
    """Forget answers older than KEEP_FOR: nobody re-posts a form days later."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
