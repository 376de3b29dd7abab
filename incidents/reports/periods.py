"""Report periods: whole days in the organisation's time zone (settings.TIME_ZONE).

A period runs from the first moment of `start` to the first moment after `end`, so "1–30 Nov"
covers all of 30 November wherever the incidents were stored (UTC)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from incidents.validation import DATE_MAX, DATE_MIN, date_in_range

# The longest period a report may span: longer ranges are almost always a typo in the year.
MAX_PERIOD_DAYS = 5 * 366

PRESETS = {
    "last_7": "Last 7 days",
    "last_30": "Last 30 days",
    "last_90": "Last 90 days",
    "this_month": "This month",
    "last_month": "Last month",
}


class PeriodError(ValueError):
    """The dates do not make a period; the message says why, for forms and JSON errors."""


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class ReportPeriod:
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    def __post_init__(self):
        if self.start > self.end:
            raise PeriodError(
                f"The start date ({self.start:%d %b %Y}) is after the end date "
                f"({self.end:%d %b %Y})."
            )
        if (self.end - self.start).days >= MAX_PERIOD_DAYS:
            raise PeriodError(f"A report can span at most {MAX_PERIOD_DAYS} days.")

    @property
    def start_at(self) -> datetime:
        """The first moment of the period (aware)."""
        return _local_midnight(self.start)

    @property
    def end_at(self) -> datetime:
        """The first moment after the period (aware, exclusive)."""
        return _local_midnight(self.end + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return f"{self.start:%a %d %b %Y} – {self.end:%a %d %b %Y}"

    @property
    def slug(self) -> str:
        """For file names: 2026-11-01_2026-11-30."""
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def previous(self) -> ReportPeriod:
        """The period of the same length just before this one (for "better or worse")."""
        return ReportPeriod(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def week_starts(self) -> list[date]:
        """Mondays of the ISO weeks that overlap the period, for weekly charts."""
        first = self.start - timedelta(days=self.start.weekday())
        return [first + timedelta(weeks=n) for n in range((self.end - first).days // 7 + 1)]

    def as_query(self) -> dict[str, str]:
        return {"date_from": self.start.isoformat(), "date_to": self.end.isoformat()}


def preset_period(name: str, today: date | None = None) -> ReportPeriod:
    today = today or timezone.localdate()
    if name == "last_7":
        return ReportPeriod(today - timedelta(days=6), today)
    if name == "last_30":
        return ReportPeriod(today - timedelta(days=29), today)
    if name == "last_90":
        return ReportPeriod(today - timedelta(days=89), today)
    if name == "this_month":
        return ReportPeriod(today.replace(day=1), today)
    if name == "last_month":
        return month_period_before(today)
    raise PeriodError(f"Unknown period “{name}”; choose one of {', '.join(PRESETS)}.")


def month_period(year: int, month: int) -> ReportPeriod:
    last_day = calendar.monthrange(year, month)[1]
    return ReportPeriod(date(year, month, 1), date(year, month, last_day))


def month_period_before(day: date) -> ReportPeriod:
    """The whole calendar month before the one containing `day`."""
    last_of_previous = day.replace(day=1) - timedelta(days=1)
    return month_period(last_of_previous.year, last_of_previous.month)


def week_period_before(day: date) -> ReportPeriod:
    """The whole ISO week (Monday–Sunday) before the one containing `day`."""
    this_monday = day - timedelta(days=day.weekday())
    return ReportPeriod(this_monday - timedelta(days=7), this_monday - timedelta(days=1))


def parse_date(value: str, what: str) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise PeriodError(f"The {what} “{value}” is not a date; use YYYY-MM-DD.") from None
    if not date_in_range(day):
        raise PeriodError(f"The {what} “{value}” is out of range; give a date between "
                          f"{DATE_MIN:%d %b %Y} and {DATE_MAX:%d %b %Y}.")
    return day
