"""Clock arithmetic for SLA targets and escalation delays.

Two kinds of clock: 24x7 is plain UTC arithmetic (a target of 4 hours ends 4 real hours later,
whatever the wall clock does at a DST change); a business-hours clock only runs during a
calendar's working hours on working days that are not holidays, read in the calendar's own time
zone with zoneinfo. On a business-hours clock each whole 24 hours of a target counts as one
working day ("1 business day" = one day's working hours), and the rest as working time.

Everything here is pure: no database access. `escalation.models.BusinessCalendar.working_calendar()`
turns a calendar row (with its holidays) into a `WorkingCalendar`."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALWAYS = "24x7"
BUSINESS_HOURS = "business_hours"
ONE_DAY = timedelta(days=1)
# A calendar without any working day would make "add working time" loop forever; ten years
# of days without finding the working time needed means the calendar is unusable.
MAX_DAYS_SEARCHED = 3660


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days and hours in one time zone, minus holidays."""

    time_zone: ZoneInfo
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    holidays: frozenset[date] = frozenset()
    country: str = ""  # optional public holidays from the `holidays` package, e.g. "NL"
    subdivision: str = ""
    name: str = field(default="", compare=False)

    def __post_init__(self):
        if self.day_end <= self.day_start:
            raise ValueError("A working day must end after it starts.")

    @property
    def working_day_length(self) -> timedelta:
        """Nominal length of one working day (wall clock), used to turn days into hours."""
        return datetime.combine(date.min, self.day_end) - datetime.combine(date.min, self.day_start)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() not in self.working_days or day in self.holidays:
            return False
        if self.country:
            return day not in _country_holidays(self.country, self.subdivision)
        return True

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working hours of `day` as aware UTC datetimes, or None on a day off.

        Built from the local wall clock and then converted, so 09:00-17:00 stays 09:00-17:00
        local on either side of a DST change, and hours that do not exist are not counted."""
        if not self.is_working_day(day):
            return None
        start = datetime.combine(day, self.day_start, tzinfo=self.time_zone).astimezone(UTC)
        end = datetime.combine(day, self.day_end, tzinfo=self.time_zone).astimezone(UTC)
        return start, end


@functools.lru_cache(maxsize=16)
def _country_holidays(country: str, subdivision: str):
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision or None)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("SLA arithmetic needs timezone-aware datetimes.")
    # Aware datetimes that share a tzinfo subtract by wall clock; UTC makes every difference real.
    return moment.astimezone(UTC)


def business_duration(duration: timedelta, calendar: WorkingCalendar) -> timedelta:
    """The working time a target means on a business-hours clock: whole days become working days."""
    days, rest = divmod(duration, ONE_DAY)
    return days * calendar.working_day_length + rest


def add_business_time(start: datetime, duration: timedelta, calendar: WorkingCalendar) -> datetime:
    """The moment `duration` of working time after `start` (UTC).

    `duration` is working time as given: callers that hold a target in days convert it with
    `business_duration` first (see `add_time`). A start outside working hours counts from the
    next opening."""
    cursor = _utc(start)
    remaining = duration
    if remaining <= timedelta(0):
        return cursor
    day = cursor.astimezone(calendar.time_zone).date()
    for _ in range(MAX_DAYS_SEARCHED):
        window = calendar.window(day)
        if window is not None:
            opens, closes = window
            begin = max(opens, cursor)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += ONE_DAY
    raise ValueError(f"Calendar {calendar.name!r} has no working time in ten years.")


def business_time_between(a: datetime, b: datetime, calendar: WorkingCalendar) -> timedelta:
    """Working time from `a` to `b` (negative when `b` is before `a`)."""
    a, b = _utc(a), _utc(b)
    if b < a:
        return -business_time_between(b, a, calendar)
    total = timedelta(0)
    day = a.astimezone(calendar.time_zone).date()
    last_day = b.astimezone(calendar.time_zone).date()
    while day <= last_day:
        window = calendar.window(day)
        if window is not None:
            begin, end = max(window[0], a), min(window[1], b)
            if end > begin:
                total += end - begin
        day += ONE_DAY
    return total


def add_time(start: datetime, duration: timedelta, *, clock: str,
             calendar: WorkingCalendar | None) -> datetime:
    """`start` plus a target on the given clock ("24x7" or "business_hours")."""
    if clock == BUSINESS_HOURS:
        if calendar is None:
            raise ValueError("A business-hours clock needs a calendar.")
        return add_business_time(start, business_duration(duration, calendar), calendar)
    return _utc(start) + duration


def elapsed_between(a: datetime, b: datetime, *, clock: str,
                    calendar: WorkingCalendar | None) -> timedelta:
    """Time on the clock between two moments: real time for 24x7, working time otherwise."""
    if clock == BUSINESS_HOURS and calendar is not None:
        return business_time_between(a, b, calendar)
    return _utc(b) - _utc(a)


def point_after_share(start: datetime, due: datetime, share: float, *, clock: str,
                      calendar: WorkingCalendar | None) -> datetime:
    """The moment `share` (0..1) of the clock's time from `start` to `due` has elapsed;
    used for the "at risk" warning (default 75%)."""
    total = elapsed_between(start, due, clock=clock, calendar=calendar)
    portion = total * share
    if clock == BUSINESS_HOURS and calendar is not None:
        return add_business_time(start, portion, calendar)
    return _utc(start) + portion
