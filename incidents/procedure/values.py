"""Field values to and from the procedure file: readable text for people who edit it by hand
(durations as "4h", references by code), and a clear message when a value cannot be read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import Group, Permission
from django.db import models

from ..durations import EXAMPLES, DurationSyntaxError, format_duration
from ..durations import parse as parse_duration_text
from .registry import children_for_model, section_for_model

def duration_to_text(value: dt.timedelta) -> str:
    """`timedelta(hours=1, minutes=30)` -> "90m", as a manager types it (see incidents.durations)."""
    return format_duration(value)


def text_to_duration(text) -> dt.timedelta:
    """"1h 30m", "90m", "2d", "1 business day", "immediate" -> timedelta: the notation of
    every duration field (incidents.durations). Raises ValueError with a readable message."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ValueError(f"expected a duration such as {EXAMPLES}, got {text!r}")
    if isinstance(text, int):
        raise ValueError(f"a bare number is ambiguous: write \"{text}m\" or \"{text}h\"")
    try:
        return parse_duration_text(text).value
    except DurationSyntaxError as exc:
        raise ValueError(str(exc).rstrip(".")) from None
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None


def reference_of(instance) -> object:
    """How the file names a row of another section: its key value (or list of values)."""
    if isinstance(instance, Group):
        return instance.name
    if isinstance(instance, Permission):  # e.g. a duty's "incidents.triage_incident"
        return f"{instance.content_type.app_label}.{instance.codename}"
    part = section_for_model(type(instance)) or children_for_model(type(instance))
    if part is None:
        raise LookupError(f"{type(instance).__name__} is not part of a procedure")
    values = [getattr(instance, name) for name in part.key]
    values = [reference_of(v) if isinstance(v, models.Model) else v for v in values]
    return values[0] if len(values) == 1 else values


def resolve_reference(model, reference, *, parent=None):
    """The row a file reference names, or LookupError saying what was not found.

    A row that belongs to a parent (a checklist's phase) is named within that parent."""
    if model is Permission:
        app_label, _, codename = str(reference).partition(".")
        permission = Permission.objects.filter(content_type__app_label=app_label,
                                               codename=codename).first()
        if permission is None:
            raise LookupError(f"no permission {reference!r} (write app_label.codename)")
        return permission
    if model is Group:
        group = Group.objects.filter(name=reference).first()
        if group is None:
            raise LookupError(f"no group named {reference!r}")
        return group
    section = section_for_model(model) or children_for_model(model)
    if section is None:
        raise LookupError(f"{model.__name__} is not part of a procedure")
    values = reference if isinstance(reference, list) else [reference]
    if len(values) != len(section.key):
        raise LookupError(f"a reference to {section.name} needs {len(section.key)} value(s) "
                          f"({', '.join(section.key)}), got {reference!r}")
    lookup = {}
    if section_for_model(model) is None:
        if parent is None:
            raise LookupError(f"{model.__name__} can only be named inside its parent")
        lookup[section.parent_field] = parent
    for name, value in zip(section.key, values):
        key_field = model._meta.get_field(name)
        lookup[name] = (resolve_reference(key_field.related_model, value)
                        if key_field.is_relation else value)
    row = model._default_manager.filter(**lookup).first()
    if row is None:
        raise LookupError(f"no entry {reference!r} in {section.name}")
    return row


def to_file(field: models.Field, instance):
    """The file's value of `field` on `instance`."""
    if field.many_to_many:
        return [reference_of(row) for row in getattr(instance, field.name).all()]
    value = getattr(instance, field.name)
    if value is None:
        return None
    if field.is_relation:
        return reference_of(value)
    if isinstance(field, models.DurationField):
        return duration_to_text(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M") if not value.second else value.isoformat()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def from_file(field: models.Field, value, *, parent=None):
    """The Python value for `field` from the file's `value`; ValueError/LookupError on bad input.

    Ranges and choices are checked afterwards by the model's own validation (full_clean), so
    the file obeys exactly the rules the admin does."""
    if value is None:
        if field.many_to_many:
            return []
        if not field.null and not isinstance(field, (models.CharField, models.TextField)):
            raise ValueError("may not be empty")
        return "" if isinstance(field, (models.CharField, models.TextField)) and not field.null else None
    if field.many_to_many:
        if not isinstance(value, list):
            raise ValueError("expected a list")
        return [resolve_reference(field.related_model, item) for item in value]
    if field.is_relation:
        return resolve_reference(field.related_model, value, parent=parent)
    if isinstance(field, models.DurationField):
        return text_to_duration(value)
    if isinstance(field, models.BooleanField):
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if isinstance(field, models.DecimalField):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
    if isinstance(field, (models.IntegerField, models.PositiveSmallIntegerField)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        return value
    if isinstance(field, models.TimeField):
        return _parse(dt.time.fromisoformat, value, "a time such as 09:00")
    if isinstance(field, models.DateTimeField):
        return _parse(dt.datetime.fromisoformat, value, "a date and time")
    if isinstance(field, models.DateField):
        return value if isinstance(value, dt.date) else _parse(dt.date.fromisoformat, value,
                                                               "a date such as 2026-12-25")
    if isinstance(field, (models.CharField, models.TextField)):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"expected text, got {value!r}")
        return str(value)
    return value


def _parse(parser, value, what):
    if isinstance(value, dt.time) and parser is dt.time.fromisoformat:
        return value
    try:
        return parser(str(value))
    except ValueError:
        raise ValueError(f"expected {what}, got {value!r}") from None
