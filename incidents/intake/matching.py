"""How a rule condition reads an alert: field lookup, the operators and title templates.

Regular expressions run on RE2 (linear time: no pattern can backtrack catastrophically) over at
most MAX_SUBJECT characters of the field, so one alert can never stall the intake."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import re2
from django.db import models

MAX_SUBJECT = 4096
MAX_PATTERN = 500
_re2_options = re2.Options()
_re2_options.log_errors = False  # a manager's typo is shown on the form, not logged as an error


class Operator(models.TextChoices):
    EQUALS = "eq", "equals"
    NOT_EQUALS = "ne", "does not equal"
    REGEX = "regex", "matches regex"
    PRESENT = "present", "is present"
    ABSENT = "absent", "is absent"
    GT = "gt", ">"
    GTE = "gte", "≥"
    LT = "lt", "<"
    LTE = "lte", "≤"


NUMERIC = {Operator.GT, Operator.GTE, Operator.LT, Operator.LTE}
SECTIONS = ("labels", "annotations", "values", "details")


def compile_regex(pattern: str):
    return re2.compile(pattern, _re2_options)


def operand_problem(operator: str, value: str) -> str:
    """Why `value` cannot be used with `operator`, or ""."""
    if operator in NUMERIC and _number(value) is None:
        return f"“{value}” is not a number."
    if operator == Operator.REGEX:
        if len(value) > MAX_PATTERN:
            return f"A pattern has at most {MAX_PATTERN} characters."
        try:
            compile_regex(value)
        except re2.error as exc:
            return f"Not a valid regular expression: {_text(exc)}."
    return ""


def _text(exc: Exception) -> str:
    message = exc.args[0] if exc.args else str(exc)
    return message.decode() if isinstance(message, bytes) else str(message)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


_MISSING = object()


def lookup(view: dict[str, Any], path: str) -> Any:
    """The value at a dotted `path` in the alert view ({labels, annotations, values, details,
    payload, ...}); a bare name is looked up in each of SECTIONS in turn. _MISSING if absent."""
    parts = path.strip().split(".")
    if parts[0] not in view:
        for section in SECTIONS:
            found = _walk(view.get(section), parts)
            if found is not _MISSING:
                return found
        return _MISSING
    return _walk(view, parts)


def _walk(node: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def holds(view: dict[str, Any], field: str, operator: str, value: str) -> bool:
    found = lookup(view, field)
    if operator == Operator.PRESENT:
        return found is not _MISSING and found not in (None, "")
    if operator == Operator.ABSENT:
        return found is _MISSING or found in (None, "")
    if found is _MISSING or found is None:
        return False
    if operator in NUMERIC:
        left, right = _number(found), _number(value)
        if left is None or right is None:
            return False
        return {
            Operator.GT: left > right, Operator.GTE: left >= right,
            Operator.LT: left < right, Operator.LTE: left <= right,
        }[operator]
    subject = _as_text(found)
    if operator == Operator.EQUALS:
        return subject == value
    if operator == Operator.NOT_EQUALS:
        return subject != value
    if operator == Operator.REGEX:
        try:
            return compile_regex(value).search(subject[:MAX_SUBJECT]) is not None
        except re2.error:
            return False
    return False


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.\-]+)\}")


def render_title(template: str, view: dict[str, Any]) -> str:
    """Fill {dotted.path} placeholders from the alert; unknown ones print empty."""

    def fill(match: re.Match) -> str:
        found = lookup(view, match.group(1))
        return "" if found is _MISSING or found is None else _as_text(found)

    return _PLACEHOLDER.sub(fill, template).strip()
