"""SLA clocks and the business calendars that business-hours clocks count on."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from incidents.models.sole_default import SoleDefault

from .. import sla


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"“{value}” is not a time zone name such as Europe/Amsterdam.")


class NameManager(models.Manager):
    """Found by their unique name (their natural key) in procedure files."""

    def get_by_natural_key(self, name: str):
        return self.get(name=name)


class BusinessCalendar(SoleDefault):
    """Working days and hours in a time zone, with holidays: what a business-hours clock counts."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="Europe/Amsterdam",
                                 validators=[validate_time_zone])
    monday = models.BooleanField(default=True)
    tuesday = models.BooleanField(default=True)
    wednesday = models.BooleanField(default=True)
    thursday = models.BooleanField(default=True)
    friday = models.BooleanField(default=True)
    saturday = models.BooleanField(default=False)
    sunday = models.BooleanField(default=False)
    day_start = models.TimeField(default=time(9, 0))
    day_end = models.TimeField(default=time(17, 0))
    holiday_country = models.CharField(
        max_length=8, blank=True,
        help_text="Also skip this country's public holidays (ISO code, e.g. NL), besides the "
                  "holidays listed below.",
    )
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    is_default = models.BooleanField(
        default=False, help_text="Used by every business-hours SLA clock and escalation step."
    )
    history = HistoricalRecords()
    objects = NameManager()

    WEEKDAY_FIELDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="one_default_business_calendar"),
        ]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple:
        return (self.name,)

    def clean(self):
        if self.day_start and self.day_end and self.day_end <= self.day_start:
            raise ValidationError({"day_end": "The working day must end after it starts."})
        if self.holiday_country:
            import holidays

            if self.holiday_country.upper() not in holidays.list_supported_countries():
                raise ValidationError({"holiday_country": "Unknown country code."})

    def working_calendar(self) -> sla.WorkingCalendar:
        return sla.WorkingCalendar(
            time_zone=ZoneInfo(self.time_zone),
            working_days=frozenset(
                i for i, name in enumerate(self.WEEKDAY_FIELDS) if getattr(self, name)),
            day_start=self.day_start,
            day_end=self.day_end,
            holidays=frozenset(self.holidays.values_list("date", flat=True)),
            country=self.holiday_country.upper(),
            subdivision=self.holiday_subdivision,
            name=self.name,
        )


class HolidayManager(models.Manager):
    def get_by_natural_key(self, calendar_name: str, date):
        return self.get(calendar__name=calendar_name, date=date)


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE,
                                 related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)
    history = HistoricalRecords()
    objects = HolidayManager()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"],
                                               name="one_holiday_per_calendar_day")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"

    def natural_key(self) -> tuple:
        return (*self.calendar.natural_key(), self.date)

    natural_key.dependencies = ["escalation.businesscalendar"]


class SlaClock(models.Model):
    """One SLA target of one incident: respond (triage) or resolve, and how it went.

    `due_at` and `at_risk_at` are computed when the clock starts or the severity changes, so
    status and the dashboard's "at risk / breached" lists are plain indexed queries."""

    class Kind(models.TextChoices):
        RESPONSE = "response", "Response"
        RESOLUTION = "resolution", "Resolution"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE,
                                 related_name="sla_clocks")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    clock = models.CharField(max_length=20, default=sla.ALWAYS,
                             choices=[(sla.ALWAYS, "24x7"), (sla.BUSINESS_HOURS, "Business hours")])
    target = models.DurationField()
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    at_risk_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    breach_by = models.DurationField(
        null=True, blank=True,
        help_text="How late: at the breach, the sweep's delay; once met, met time minus due time.",
    )
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="The incident was cancelled or marked a duplicate."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["incident", "kind"]
        verbose_name = "SLA clock"
        constraints = [models.UniqueConstraint(fields=["incident", "kind"],
                                               name="one_sla_clock_per_kind")]
        indexes = [
            models.Index(fields=["due_at"],
                         condition=Q(met_at__isnull=True, stopped_at__isnull=True),
                         name="slaclock_running_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} SLA due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_running(self) -> bool:
        return self.met_at is None and self.stopped_at is None

    @property
    def is_immediate(self) -> bool:
        """An "immediate" response (a target of 0): paged at declaration and measured by the
        time to acknowledge; with no time to miss, it never breaches."""
        return not self.target


class SlaOutcome(models.Model):
    """How an incident's SLA clocks came out, one row per incident, so reports aggregate plain
    columns instead of joining two clocks per incident. The clock services write it whenever a
    clock starts, is re-targeted, met, breached, stopped or runs again (`record_outcomes`).

    Per kind: `<kind>_due_at` is the clock's due time, empty when the incident has no clock of
    that kind (reports then judge its own times against its severity's target);
    `<kind>` is decided (met, breached, no SLA) or empty while the clock runs, in which case it
    is breached once the due time has passed and pending before."""

    class Result(models.TextChoices):
        MET = "met", "Met"
        BREACHED = "breached", "Breached"
        NO_SLA = "no_sla", "No SLA"

    incident = models.OneToOneField("incidents.Incident", on_delete=models.CASCADE,
                                    primary_key=True, related_name="sla_outcome")
    response_due_at = models.DateTimeField(null=True, blank=True)
    response = models.CharField(max_length=8, choices=Result.choices, null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=8, choices=Result.choices, null=True, blank=True)

    class Meta:
        verbose_name = "SLA outcome"

    def __str__(self) -> str:
        return f"response {self.response or 'open'}, resolution {self.resolution or 'open'}"


def clock_result(clock: SlaClock) -> str | None:
    """The clock's decided outcome, None while it runs. A breach the sweep recorded stays a
    breach (met later or stopped); an immediate response and a clock stopped because the
    incident moved to a level without that SLA count neither way; met by the due time is met."""
    if clock.breached_at is not None:
        return SlaOutcome.Result.BREACHED
    if clock.is_immediate or clock.stopped_at is not None:
        return SlaOutcome.Result.NO_SLA
    if clock.met_at is not None:
        return (SlaOutcome.Result.MET if clock.met_at <= clock.due_at
                else SlaOutcome.Result.BREACHED)
    return None
