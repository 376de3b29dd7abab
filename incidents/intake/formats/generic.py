"""Generic JSON with a field mapping: for senders with their own format. The mapping names, as
dotted paths, where each field is; anything unmapped falls back to the defaults below.

    {"alerts": "events", "identity": "id", "title": "summary", "status": "state",
     "resolved_values": ["ok"], "labels": "tags", "starts_at": "time", "source_url": "link"}"""

from __future__ import annotations

from typing import Any

from .. import matching
from . import (
    MAX_ALERTS_PER_REQUEST,
    AlertEvent,
    PayloadInvalid,
    Problems,
    digest,
    identity_of,
    link,
    type_name,
)

DEFAULTS: dict[str, Any] = {
    "alerts": "",  # "": the body is one alert, or a list of them
    "identity": "id",
    "title": "title",
    "status": "status",
    "firing_values": ["firing", "triggered", "alerting", "problem", "open", "critical"],
    "acknowledged_values": ["acknowledged", "ack"],
    "resolved_values": ["resolved", "ok", "closed", "recovered"],
    "labels": "labels",
    "annotations": "annotations",
    "values": "values",
    "starts_at": "starts_at",
    "source_url": "url",
    "group_key": "",
}
PATH_KEYS = {key for key, value in DEFAULTS.items() if isinstance(value, str)}
LIST_KEYS = set(DEFAULTS) - PATH_KEYS


def mapping_problems(mapping: Any) -> list[str]:
    if not isinstance(mapping, dict):
        return ["The mapping must be a JSON object."]
    problems = []
    for key, value in mapping.items():
        if key not in DEFAULTS:
            problems.append(f"“{key}” is not a mapped field (known: {', '.join(sorted(DEFAULTS))}).")
        elif key in PATH_KEYS and not isinstance(value, str):
            problems.append(f"“{key}” must be a dotted path (a string).")
        elif key in LIST_KEYS and not (isinstance(value, list)
                                       and all(isinstance(item, str) for item in value)):
            problems.append(f"“{key}” must be a list of strings.")
    return problems


def _at(node: Any, path: str) -> Any:
    if not path:
        return None
    found = matching._walk(node, path.split("."))
    return None if found is matching._MISSING else found


def parse(body: Any, mapping: dict) -> list[AlertEvent]:
    spec = {**DEFAULTS, **(mapping if isinstance(mapping, dict) else {})}
    problems = Problems()
    items = _at(body, spec["alerts"]) if spec["alerts"] else body
    where = spec["alerts"] or "body"
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise PayloadInvalid([f"{where}: must be an alert object or a non-empty list of them"])
    if len(items) > MAX_ALERTS_PER_REQUEST:
        raise PayloadInvalid([f"{where}: has more than {MAX_ALERTS_PER_REQUEST} alerts"])
    statuses = {value.lower(): status for status in ("firing", "acknowledged", "resolved")
                for value in spec[f"{status}_values"]}
    events = []
    for index, item in enumerate(items):
        path = f"{where}[{index}]" if len(items) > 1 or spec["alerts"] else "body"
        if not isinstance(item, dict):
            problems.add(path, f"must be an object, not {type_name(item)}")
            continue
        events.append(_event(item, path, spec, statuses, problems))
    if problems:
        raise PayloadInvalid(problems)
    return events


def _event(item: dict, path: str, spec: dict, statuses: dict, problems: Problems) -> AlertEvent:
    def scalar(key: str) -> Any:
        value = _at(item, spec[key])
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
            problems.add(f"{path}.{spec[key]}", f"must be a string, not {type_name(value)}")
            return None
        return value

    def mapping_of(key: str) -> dict:
        value = _at(item, spec[key])
        if value is None:
            return {}
        if not isinstance(value, dict):
            problems.add(f"{path}.{spec[key]}", f"must be an object, not {type_name(value)}")
            return {}
        return value

    status_value = scalar("status")
    status = "firing"
    if status_value is not None:
        status = statuses.get(str(status_value).lower(), "")
        if not status:
            problems.add(f"{path}.{spec['status']}",
                         f"“{str(status_value)[:40]}” is not a known status "
                         f"(mapping: {', '.join(sorted(statuses))})")
    identity = scalar("identity")
    title = scalar("title")
    labels = {name: str(value) for name, value in mapping_of("labels").items()
              if not isinstance(value, dict | list)}
    annotations = {name: str(value) for name, value in mapping_of("annotations").items()
                   if not isinstance(value, dict | list)}
    starts_at = problems.timestamp({spec["starts_at"]: _at(item, spec["starts_at"])},
                                   spec["starts_at"], path)
    group_key = scalar("group_key") if spec["group_key"] else None
    return AlertEvent(
        identity=identity_of(str(identity) if identity not in (None, "") else
                             "payload:" + digest(item)),
        status=status,
        title=str(title or labels.get("alertname") or "Alert")[:300],
        labels=labels,
        annotations=annotations,
        values=mapping_of("values"),
        links=link(_at(item, spec["source_url"]), "Source"),
        starts_at=starts_at,
        group_key=str(group_key or ""),
        payload=item,
    )
