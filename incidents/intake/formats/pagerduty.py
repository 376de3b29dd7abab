"""PagerDuty Events API v2 (alert events): trigger, acknowledge, resolve.

https://developer.pagerduty.com/docs/events-api-v2/trigger-events/"""

from __future__ import annotations

import uuid
from typing import Any

from . import AlertEvent, PayloadInvalid, Problems, link, type_name

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
STATUS_FOR_ACTION = {"trigger": "firing", "acknowledge": "acknowledged", "resolve": "resolved"}


def parse(body: Any) -> list[AlertEvent]:
    problems = Problems()
    if not isinstance(body, dict):
        raise PayloadInvalid([f"body: must be a JSON object, not {type_name(body)}"])
    action = problems.string(body, "event_action", "", required=True, choices=ACTIONS)
    dedup_key = problems.string(body, "dedup_key", "", max_length=255)
    if action in ("acknowledge", "resolve") and not dedup_key:
        problems.add("dedup_key", f"is required to {action}")
    payload = body.get("payload")
    labels: dict[str, str] = {}
    summary = ""
    details: dict[str, Any] = {}
    starts_at = None
    if action == "trigger" or payload is not None:
        if not isinstance(payload, dict):
            problems.add("payload", "is required" if payload is None
                         else f"must be an object, not {type_name(payload)}")
            payload = {}
        if action == "trigger":
            summary = problems.string(payload, "summary", "payload", required=True,
                                      max_length=1024)
            labels["source"] = problems.string(payload, "source", "payload", required=True,
                                               max_length=255)
            labels["severity"] = problems.string(payload, "severity", "payload", required=True,
                                                 choices=SEVERITIES)
        for key in ("component", "group", "class"):
            value = problems.string(payload, key, "payload", max_length=255)
            if value:
                labels[key] = value
        starts_at = problems.timestamp(payload, "timestamp", "payload")
        custom = payload.get("custom_details")
        if isinstance(custom, dict):
            details = custom
        elif custom is not None:
            details = {"custom_details": custom}
    links = _links(body, problems)
    if problems:
        raise PayloadInvalid(problems)
    return [AlertEvent(
        identity=dedup_key or uuid.uuid4().hex,
        status=STATUS_FOR_ACTION[action],
        title=summary[:300],
        labels={key: value for key, value in labels.items() if value},
        annotations={"summary": summary} if summary else {},
        details=details,
        links=links,
        starts_at=starts_at,
        payload=body,
    )]


def _links(body: dict, problems: Problems) -> list[dict[str, str]]:
    found = link(body.get("client_url"), body.get("client") or "Source") \
        if isinstance(body.get("client"), str | type(None)) else []
    for key, href_key, text_key in (("links", "href", "text"), ("images", "href", "alt")):
        items = body.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            problems.add(key, f"must be a list, not {type_name(items)}")
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                problems.add(f"{key}[{index}]", f"must be an object, not {type_name(item)}")
                continue
            href = item.get(href_key) or (item.get("src") if key == "images" else None)
            text = item.get(text_key)
            found += link(href, text if isinstance(text, str) and text else key[:-1].title())
    return found
