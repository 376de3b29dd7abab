"""Input bounds every way in shares: forms, the admin, query parameters, imports, alert payloads.

Dates: a value like 0001-01-01 is valid to Python but not to the portal. Shifted by the time
zone it becomes year 0, which the database stores and Python can no longer read back, so one
typed date breaks every page that lists the row. Every date and time that enters is therefore
bounded to DATETIME_MIN..DATETIME_MAX with a clear error:

- forms: `BoundedDateTimeField` / `BoundedDateField` (or `bound_form_dates(form)` for a
  ModelForm's generated fields); the admin base classes attach the validators to every date field;
- services and machine input: `require_datetime_in_range(value, what)` raises `ActionRefused`,
  `parse_datetime_in_range(text, what)` parses ISO 8601 and raises `ValidationError` (for JSON
  400s). Alertmanager's "no end" value (0001-01-01T00:00:00Z) is out of range on purpose: an
  integration treats it as "none" before calling these.

Text: titles are one line (`validate_single_line`), so they are safe in mail subjects and
headers wherever they go.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .errors import ActionRefused

# Wide enough for any real incident, backdated note or scheduled meeting; narrow enough that
# time-zone shifts and report arithmetic (a period before, a day after) stay far from the
# limits of Python's and the database's date types.
DATETIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
DATETIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)
DATE_MIN = DATETIME_MIN.date()
DATE_MAX = date(2099, 12, 31)

OUT_OF_RANGE = "Give a date between {min:%d %b %Y} and {max:%d %b %Y}."


def datetime_in_range(value: datetime) -> bool:
    # Comparing aware datetimes subtracts their offsets as timedeltas, so even year 1 or 9999
    # compares without overflowing.
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return DATETIME_MIN <= value < DATETIME_MAX


def date_in_range(value: date) -> bool:
    return DATE_MIN <= value <= DATE_MAX


def _out_of_range_message() -> str:
    return OUT_OF_RANGE.format(min=DATE_MIN, max=DATE_MAX)


def validate_datetime_in_range(value) -> None:
    """A Django validator for dates and datetimes (form and model fields)."""
    if value is None:
        return
    ok = datetime_in_range(value) if isinstance(value, datetime) else date_in_range(value)
    if not ok:
        raise ValidationError(_out_of_range_message(), code="date_out_of_range")


validate_date_in_range = validate_datetime_in_range


def require_datetime_in_range(value: datetime | date | None, what: str) -> None:
    """For services: refuse an out-of-range value with a sentence naming it."""
    try:
        validate_datetime_in_range(value)
    except ValidationError:
        raise ActionRefused(f"The {what} is out of range. {_out_of_range_message()}") from None


def parse_datetime_in_range(text: str, what: str = "time") -> datetime:
    """An ISO 8601 date-time from machine input (imports, alert payloads), aware and bounded.

    A value without an offset is taken in the organisation's time zone."""
    try:
        value = parse_datetime(str(text).strip())
    except (ValueError, TypeError):
        value = None
    if value is None:
        raise ValidationError(f"The {what} “{text}” is not an ISO 8601 date and time.",
                              code="invalid")
    if not datetime_in_range(value):
        raise ValidationError(f"The {what} “{text}” is out of range. {_out_of_range_message()}",
                              code="date_out_of_range")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


class BoundedDateTimeField(forms.DateTimeField):
    default_validators = [validate_datetime_in_range]


class BoundedDateField(forms.DateField):
    default_validators = [validate_date_in_range]


def bound_form_dates(form: forms.BaseForm) -> forms.BaseForm:
    """Attach the range validator to every date or date-time field of `form` (for ModelForms,
    whose fields the model generates, and the admin)."""
    for field in form.fields.values():
        bound_field_dates(field)
    return form


def bound_field_dates(field: forms.Field | None) -> forms.Field | None:
    """Attach the range validator to a date, date-time or split date-time form field."""
    if isinstance(field, forms.SplitDateTimeField | forms.DateTimeField | forms.DateField):
        if validate_datetime_in_range not in field.validators:
            field.validators.append(validate_datetime_in_range)
    return field


# --- Text --------------------------------------------------------------------------------


def validate_single_line(value: str) -> None:
    """Titles end up in mail subjects and webhook headers, where a line break is refused."""
    if value and any(char in value for char in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
        raise ValidationError("Keep this on one line (no line breaks).", code="multi_line")


def single_line(value: str) -> str:
    """`value` with line breaks and other control characters turned into single spaces: for
    building mail subjects and headers from text stored before titles were single-line."""
    return " ".join("".join(" " if ord(char) < 32 or char in "\x7f\x85\u2028\u2029" else char
                            for char in value).split())
