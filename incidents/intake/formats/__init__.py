"""Each integration kind's payload, validated and turned into `AlertEvent`s.

A parser checks the whole body before anything is written: it returns every problem it finds
(as "path: what is wrong"), so a sender can fix them all at once, and the endpoint answers 400
with that list and writes nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import timestamps

MAX_ALERTS_PER_REQUEST = 1000
MAX_IDENTITY = 255


class PayloadInvalid(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class AlertEvent:
    identity: str
    status: str  # firing | acknowledged | resolved
    title: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    group_key: str = ""
    payload: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        """What rules and title templates read."""
        return {"labels": self.labels, "annotations": self.annotations, "values": self.values,
                "details": self.details, "payload": self.payload, "title": self.title,
                "status": self.status}


class Problems(list):
    """Collects "path: problem" lines while a parser walks the body."""

    def add(self, path: str, text: str) -> None:
        self.append(f"{path}: {text}" if path else text)

    def string(self, node: dict, key: str, path: str, *, required: bool = False,
               max_length: int = 0, choices: tuple[str, ...] = ()) -> str:
        value = node.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.add(where, "is required")
            return ""
        if not isinstance(value, str):
            self.add(where, f"must be a string, not {type_name(value)}")
            return ""
        if required and not value.strip():
            self.add(where, "must not be empty")
        if max_length and len(value) > max_length:
            self.add(where, f"has more than {max_length} characters")
        if choices and value not in choices:
            self.add(where, f"“{value[:40]}” is not one of {', '.join(choices)}")
        return value

    def string_map(self, node: dict, key: str, path: str, *, required: bool = False
                   ) -> dict[str, str]:
        value = node.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.add(where, "is required")
            return {}
        if not isinstance(value, dict):
            self.add(where, f"must be an object, not {type_name(value)}")
            return {}
        for name, item in value.items():
            if not isinstance(item, str):
                self.add(f"{where}.{name}", f"must be a string, not {type_name(item)}")
        return {name: item for name, item in value.items() if isinstance(item, str)}

    def timestamp(self, node: dict, key: str, path: str, *, required: bool = False,
                  bounded: bool = True) -> datetime | None:
        value = node.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.add(where, "is required")
            return None
        try:
            moment = timestamps.parse(value)
        except timestamps.BadTimestamp as exc:
            self.add(where, str(exc))
            return None
        if moment is not None and bounded:
            problem = timestamps.bound_problem(moment)
            if problem:
                self.add(where, problem)
                return None
        return moment


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "a value")


def digest(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, default=str).encode()
    ).hexdigest()


def identity_of(value: str) -> str:
    """Identities longer than the column are replaced by their hash (still unique)."""
    return value if len(value) <= MAX_IDENTITY else "sha256:" + digest(value)


def link(href: Any, text: str) -> list[dict[str, str]]:
    if isinstance(href, str) and href.startswith(("http://", "https://")):
        return [{"href": href[:2000], "text": text}]
    return []


def parse(kind: str, body: Any, *, mapping: dict | None = None) -> list[AlertEvent]:
    """The events in `body` for an integration of `kind`; PayloadInvalid lists the problems."""
    from . import alertmanager, generic, pagerduty

    if kind in ("alertmanager", "grafana"):
        return alertmanager.parse(body, grafana=kind == "grafana")
    if kind == "pagerduty":
        return pagerduty.parse(body)
    return generic.parse(body, mapping or {})
