"""The HTTP endpoints monitoring tools post to. Machines get JSON both ways: every refusal is a
4xx with a JSON body saying why, and nothing is written before the whole body is valid.

Order of checks: who is calling (401), is the integration on (403), rate (429), body size
(413), JSON and fields (400); PagerDuty's key is inside the body, so there size and JSON come
first."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import math
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import services
from .formats import PayloadInvalid, parse
from .models import Integration

logger = logging.getLogger(__name__)


class Refused(Exception):
    def __init__(self, status: int, message: str, problems: list[str] | None = None,
                 retry_after: int | None = None):
        self.status, self.message = status, message
        self.problems, self.retry_after = problems or [], retry_after
        super().__init__(message)


def _bearer_secret(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    if scheme.lower() == "basic":  # Grafana's webhook can only send basic auth: password = secret
        try:
            return base64.b64decode(credentials.strip()).decode().partition(":")[2]
        except ValueError:
            return ""
    return ""


def _authenticate(integration: Integration | None, secret: str) -> Integration:
    if not secret:
        raise Refused(401, "Send the integration's secret as “Authorization: Bearer <secret>” "
                           "or in the endpoint URL.")
    if integration is None or not hmac.compare_digest(integration.secret_hash,
                                                      services.secret_hash(secret)):
        raise Refused(401, "The secret is wrong for this integration.")
    if not integration.is_enabled:
        raise Refused(403, f"The integration “{integration.name}” is switched off.")
    wait = services.rate_limit_wait(integration)
    if wait:
        raise Refused(429, f"More than {integration.rate_limit_per_minute} requests this "
                           "minute for this integration; retry later.", retry_after=wait)
    return integration


def _read_json(request) -> Any:
    limit = settings.INTAKE_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "The Content-Length header is not a number.") from None
    if declared > limit:
        raise Refused(413, f"The body is larger than {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise Refused(413, f"The body is larger than {limit} bytes.")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant,
                          parse_float=_finite_float)
    except UnicodeDecodeError:
        raise Refused(400, "The body is not valid JSON.", ["body: is not UTF-8"]) from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise Refused(400, "The body is not valid JSON.", [f"body: {exc}"]) from None
    except RecursionError:
        raise Refused(400, "The body is not valid JSON.", ["body: nested too deeply"]) from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    # 1e400 reads as infinity, which PostgreSQL's JSON refuses: say so now, not fail later.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is beyond the range of a number")
    return value


def _lookup(**where) -> Integration | None:
    # No joins: a repeat needs none of the related rows, and a declaration reads them once.
    return Integration.objects.filter(**where).first()


def _events(integration: Integration, body: Any):
    try:
        return parse(integration.kind, body, mapping=integration.field_mapping)
    except PayloadInvalid as invalid:
        raise Refused(400, "The payload is invalid; nothing was recorded.",
                      invalid.problems) from None


def _refusal(refused: Refused, *, pagerduty: bool = False) -> JsonResponse:
    if pagerduty:
        body = {"status": "invalid event" if refused.status == 400 else "error",
                "message": refused.message, "errors": refused.problems or [refused.message]}
    else:
        body = {"error": refused.message, "problems": refused.problems}
    response = JsonResponse(body, status=refused.status)
    if refused.retry_after:
        response["Retry-After"] = str(refused.retry_after)
    return response


def _post_only(request) -> None:
    if request.method != "POST":
        raise Refused(405, "Post alerts to this address.")


def _unavailable(exc: DatabaseError) -> Refused:
    # A lock timeout or a lost connection: the sender retries (Alertmanager and PagerDuty
    # clients do on 5xx); nothing half-written stays, as each alert is one transaction.
    logger.warning("Alert intake could not write: %s", exc)
    return Refused(503, "The database is busy; retry shortly.", retry_after=1)


@csrf_exempt
def receive(request, public_id, secret: str = ""):
    """Alertmanager, Grafana and generic JSON: /intake/<id>/ with a Bearer secret, or
    /intake/<id>/<secret>/ for senders that cannot set headers."""
    try:
        _post_only(request)
        integration = _authenticate(_lookup(public_id=public_id),
                                    secret or _bearer_secret(request))
        if integration.kind == Integration.Kind.PAGERDUTY:
            raise Refused(400, "This is a PagerDuty integration: post events to /v2/enqueue.")
        events = _events(integration, _read_json(request))
        outcomes = services.alerts_receive(integration, events)
    except Refused as refused:
        return _refusal(refused)
    except DatabaseError as exc:
        return _refusal(_unavailable(exc))
    return JsonResponse({
        "status": "ok",
        "alerts": [{"identity": o.identity, "action": o.action, "incident": o.incident_reference}
                   for o in outcomes],
    })


@csrf_exempt
def pagerduty_enqueue(request):
    """PagerDuty's Events API v2, answered as PagerDuty does, so a sender only changes host."""
    try:
        _post_only(request)
        body = _read_json(request)
        routing_key = body.get("routing_key") if isinstance(body, dict) else None
        if not isinstance(routing_key, str):
            routing_key = ""
        integration = _lookup(secret_hash=services.secret_hash(routing_key),
                              kind=Integration.Kind.PAGERDUTY) if routing_key else None
        _authenticate(integration, routing_key)
        outcome = services.alerts_receive(integration, _events(integration, body))[0]
    except Refused as refused:
        return _refusal(refused, pagerduty=True)
    except DatabaseError as exc:
        return _refusal(_unavailable(exc), pagerduty=True)
    return JsonResponse({"status": "success", "message": "Event processed",
                         "dedup_key": outcome.identity}, status=202)
