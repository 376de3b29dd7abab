"""Durations of a procedure as people write them: "90m", "4h", "2d", "1 business day".

Every duration a manager configures (SLA targets, escalation delays, rota shifts, cadences,
checklist windows, post-mortem windows) is typed and shown in this notation, and each field has
bounds, so a negative SLA or a 999,999,999-day target is refused with a message that names the
field and the allowed range instead of overflowing date arithmetic on every page later.

"Business day": a duration is stored as a plain timedelta. On a business-hours clock (the
severity's clock, or an escalation step set to business hours) every whole day of a duration
counts as one working day of that clock's business calendar (see `escalation.sla`), so
"1 business day" is stored as 1 day and, on a Friday at 15:00 with a Mon-Fri 09:00-17:00
calendar, ends on Monday at 15:00. On a 24x7 clock a day is 24 hours; typing "business day"
there is refused by the forms that know the clock (`refuse_business_days_on_24x7`), since it
would silently mean something else.

The parser also accepts Django's older "1 02:00:00" / "02:00:00" notation, so values copied
from before keep working."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.dateparse import parse_duration
from django.utils.text import capfirst

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
YEAR = timedelta(days=365)

UNITS = {
    "s": timedelta(seconds=1), "sec": timedelta(seconds=1), "secs": timedelta(seconds=1),
    "second": timedelta(seconds=1), "seconds": timedelta(seconds=1),
    "m": MINUTE, "min": MINUTE, "mins": MINUTE, "minute": MINUTE, "minutes": MINUTE,
    "h": HOUR, "hr": HOUR, "hrs": HOUR, "hour": HOUR, "hours": HOUR,
    "d": DAY, "day": DAY, "days": DAY,
    "w": 7 * DAY, "wk": 7 * DAY, "week": 7 * DAY, "weeks": 7 * DAY,
}
BUSINESS_UNITS = {"bd", "business day", "business days", "working day", "working days"}
IMMEDIATE_WORDS = {"immediate", "immediately", "at once", "0"}
EXAMPLES = '"90m", "4h", "2d", "1d 4h", "1 business day"'

_TERM = re.compile(
    r"(?P<number>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>business\s+days?|working\s+days?|bd|[a-z]+)",
)
_JOINERS = re.compile(r"\s*(?:,|\band\b|\+)\s*")


@dataclass(frozen=True)
class ParsedDuration:
    value: timedelta
    business_days: bool  # typed with "business day(s)": only meaningful on a business clock


class DurationSyntaxError(ValueError):
    pass


def parse(text: str) -> ParsedDuration:
    """'1d 4h' -> 28 hours. Raises DurationSyntaxError (with a readable message) or
    OverflowError (a number too large for any date arithmetic)."""
    raw = (text or "").strip().lower()
    if not raw:
        raise DurationSyntaxError("Enter a duration.")
    if raw in IMMEDIATE_WORDS:
        return ParsedDuration(timedelta(0), False)
    negative = raw.startswith("-")
    body = raw.lstrip("-+").strip()
    legacy = parse_duration(body) if ":" in body else None
    if legacy is not None:
        return ParsedDuration(-legacy if negative else legacy, False)

    total = timedelta(0)
    business = False
    position = 0
    body = _JOINERS.sub(" ", body)
    for match in _TERM.finditer(body):
        if body[position:match.start()].strip():
            break
        unit = re.sub(r"\s+", " ", match["unit"])
        number = float(match["number"])
        if unit in BUSINESS_UNITS:
            business = True
            step = DAY
        elif unit in UNITS:
            step = UNITS[unit]
        else:
            raise DurationSyntaxError(f"“{match['unit']}” is not a unit; use m, h, d, w or "
                                      "business days.")
        total += step * number
        position = match.end()
    if position == 0 or body[position:].strip():
        raise DurationSyntaxError(f"“{text.strip()}” is not a duration; type e.g. {EXAMPLES}.")
    return ParsedDuration(-total if negative else total, business)


def format_duration(value: timedelta | None, *, business_days: bool = False,
                    zero: str = "0m") -> str:
    """The inverse of `parse`, in the notation people type: one unit where one unit says it
    exactly (2d, 36h, 90m: seed 000 escalates at "hour 36"), otherwise "1d 2h 5m". With
    business_days, whole days read "1 business day" (fields on a business-hours clock)."""
    if value is None:
        return ""
    if value < timedelta(0):
        return "-" + format_duration(-value, business_days=business_days, zero=zero)
    if not value:
        return zero

    def days_text(days: int) -> str:
        if business_days:
            return f"{days} business day{'s' if days != 1 else ''}"
        return f"{days}d"

    if value % DAY == timedelta(0):
        return days_text(value // DAY)
    # On a business clock whole days are working days, so 36h is "1 business day 12h" there.
    if value % HOUR == timedelta(0) and not (business_days and value > DAY):
        return f"{value // HOUR}h"
    if value % MINUTE == timedelta(0) and value < 2 * HOUR:
        return f"{value // MINUTE}m"
    days, rest = divmod(value, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes, rest = divmod(rest, MINUTE)
    seconds = round(rest.total_seconds())
    parts = [days_text(days) if days else "", f"{hours}h" if hours else "",
             f"{minutes}m" if minutes else "", f"{seconds}s" if seconds else ""]
    return " ".join(part for part in parts if part)


def range_text(minimum: timedelta, maximum: timedelta) -> str:
    upper = "1 year" if maximum == YEAR else format_duration(maximum)
    return f"{format_duration(minimum)} to {upper}"


def out_of_range_message(label: str, minimum: timedelta, maximum: timedelta) -> str:
    return f"{capfirst(label)} must be from {range_text(minimum, maximum)}."


def check_range(value: timedelta, *, label: str, minimum: timedelta, maximum: timedelta) -> None:
    if not minimum <= value <= maximum:
        raise ValidationError(out_of_range_message(label, minimum, maximum), code="out_of_range")


# --- Form field ---------------------------------------------------------------------------


class DurationInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__({"size": 14, "placeholder": "e.g. 4h", **(attrs or {})})


class DurationFormField(forms.Field):
    """A duration typed as text ("90m", "4h", "1 business day") within [minimum, maximum].

    After cleaning, `typed_business_days` says whether the person wrote "business day", so a
    form that knows the clock can refuse it on a 24x7 clock."""

    widget = DurationInput

    def __init__(self, *, minimum: timedelta = timedelta(0), maximum: timedelta = YEAR,
                 business_days: bool = False, zero_label: str = "0m", **kwargs):
        self.minimum, self.maximum = minimum, maximum
        self.business_days = business_days  # show whole days as business days
        self.zero_label = zero_label
        self.typed_business_days = False
        super().__init__(**kwargs)
        if not self.help_text:
            self.help_text = f"Type e.g. {EXAMPLES}."
        self.help_text = f"{self.help_text} Allowed: {range_text(minimum, maximum)}."

    def prepare_value(self, value):
        if isinstance(value, timedelta):
            return format_duration(value, business_days=self.business_days, zero=self.zero_label)
        return value

    def to_python(self, value):
        if isinstance(value, timedelta):
            return value
        if value in self.empty_values or not str(value).strip():
            return None
        label = self.label or "This duration"
        try:
            parsed = parse(str(value))
        except DurationSyntaxError as exc:
            raise ValidationError(f"{capfirst(label)}: {exc}", code="invalid") from exc
        except OverflowError as exc:
            raise ValidationError(out_of_range_message(label, self.minimum, self.maximum),
                                  code="out_of_range") from exc
        self.typed_business_days = parsed.business_days
        return parsed.value

    def validate(self, value):
        super().validate(value)
        if value is not None:
            check_range(value, label=self.label or "This duration",
                        minimum=self.minimum, maximum=self.maximum)

    def has_changed(self, initial, data):
        try:
            data_value = self.to_python(data)
        except ValidationError:
            return True
        return initial != data_value


def refuse_business_days_on_24x7(form: forms.BaseForm, fields: list[str], *,
                                 business_clock: bool) -> None:
    """On a 24x7 clock "business day" would silently mean 24 hours: say so on the field."""
    if business_clock:
        return
    for name in fields:
        field = form.fields.get(name)
        if isinstance(field, DurationFormField) and field.typed_business_days \
                and name not in form.errors:
            form.add_error(name, f"{capfirst(field.label or name)}: business days need the "
                                 "business-hours clock; on a 24x7 clock type e.g. 24h or 1d.")


# --- Model field --------------------------------------------------------------------------


class BoundedDurationField(models.DurationField):
    """A DurationField with bounds, typed and shown as "4h" / "1 business day" in forms.

    The bounds are checked by model validation (admin and procedure import) with a message
    naming the field and the range. It deconstructs as a plain DurationField: the column is
    the same, and bounds that change with policy should not produce migrations."""

    def __init__(self, *args, minimum: timedelta = timedelta(0), maximum: timedelta = YEAR,
                 **kwargs):
        if minimum > maximum:
            raise ValueError("minimum must not exceed maximum")
        self.minimum, self.maximum = minimum, maximum
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DurationField", args, kwargs

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if value is not None:
            check_range(value, label=str(self.verbose_name),
                        minimum=self.minimum, maximum=self.maximum)

    def formfield(self, **kwargs):
        return super().formfield(**{
            "form_class": DurationFormField, "minimum": self.minimum, "maximum": self.maximum,
            **kwargs,
        })
