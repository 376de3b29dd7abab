"""Alert timestamps: parsed from RFC 3339 (Go writes nanoseconds) and bounded to a sane range.

The range check is one function so it can become the incident core's bounded-datetime
validator when that exists; senders' clocks drift, so the future allows an hour."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.utils import timezone

OLDEST = timedelta(days=366)
NEWEST = timedelta(hours=1)
# Alertmanager's "no end time": Go's zero time.
GO_ZERO_YEAR = 1

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)


class BadTimestamp(ValueError):
    pass


def parse(value) -> datetime | None:
    """A timezone-aware datetime, None for Go's zero time; BadTimestamp if unreadable."""
    if not isinstance(value, str):
        raise BadTimestamp("must be an RFC 3339 timestamp string")
    match = _RFC3339.match(value.strip())
    if not match:
        raise BadTimestamp(f"“{value[:40]}” is not an RFC 3339 timestamp")
    day, clock, fraction, zone = match.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}.{fraction}{zone}")
    except ValueError as exc:
        raise BadTimestamp(f"“{value[:40]}” is not a valid date and time") from exc
    if moment.year == GO_ZERO_YEAR:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31 late in the day, west of UTC: past the calendar's end
        raise BadTimestamp(f"“{value[:40]}” is beyond the last date there is") from None


def bound_problem(moment: datetime, *, now: datetime | None = None) -> str:
    """Why `moment` is outside the range an alert can carry, or ""."""
    now = now or timezone.now()
    if moment < now - OLDEST:
        return f"{moment:%Y-%m-%d %H:%M} UTC is more than {OLDEST.days} days ago"
    if moment > now + NEWEST:
        return f"{moment:%Y-%m-%d %H:%M} UTC is in the future"
    return ""
