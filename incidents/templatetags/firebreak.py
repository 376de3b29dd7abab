"""Display helpers shared by every staff page: severity and state badges, people, full date and
time, incident age, the war-room link and pagination links that keep the filters."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from .. import severity_style
from ..people import display_name

register = template.Library()

# Always the full date and the time with its zone, whatever the locale's short formats say.
FULL_DATETIME = "D j M Y, H:i T"

STATE_CLASSES = {
    "reported": "text-bg-light border",
    "triaged": "text-bg-primary",
    "investigating": "text-bg-primary",
    "mitigated": "text-bg-info",
    "resolved": "text-bg-success",
    "closed": "text-bg-secondary",
    "cancelled": "text-bg-secondary",
    "duplicate": "text-bg-secondary",
}


@register.filter
def money(amount, currency: str = "") -> str:
    """One way everywhere: "12,500.00 EUR"."""
    if amount is None:
        return "—"
    return f"{amount:,.2f} {currency}".strip()


@register.filter
def count(value) -> str:
    """Whole numbers with thousands separated: "5,200"."""
    return "—" if value is None else f"{value:,}"


@register.simple_tag
def form_token() -> str:
    """A one-time token: a repeat of this form's POST is answered with the first result."""
    from ..once import FIELD, new_token

    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_token())


@register.filter
def datetime_full(value: datetime | None) -> str:
    if not value:
        return "—"
    return dateformat.format(timezone.localtime(value), FULL_DATETIME)


@register.simple_tag
def time_full(value: datetime | None) -> str:
    """A <time> element with the full local date and time and the ISO instant."""
    if not value:
        return "—"
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), datetime_full(value))


@register.simple_tag
def severity_badge(severity) -> str:
    css = severity_style.badge_class(severity.rank)
    return format_html('<span class="badge {}" title="{}">{}</span>', css, severity.name,
                       severity.code)


@register.simple_tag
def state_badge(incident) -> str:
    css = STATE_CLASSES.get(incident.state, "text-bg-secondary")
    return format_html('<span class="badge {}">{}</span>', css, incident.get_state_display())


@register.filter
def person(user) -> str:
    return display_name(user, missing="—")


@register.filter
def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = int(abs(value.total_seconds()) // 60)
    if minutes == 0:
        return "less than a minute"  # not "0m left" or "Overdue by 0m"
    days, minutes = divmod(minutes, 60 * 24)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "",
             f"{minutes}m" if minutes or not (days or hours) else ""]
    return " ".join(p for p in parts if p)


@register.filter
def incident_age(incident) -> str:
    """How long an open incident has been going on, or how long a finished one went on.

    Counted from detection, like the reports' time to resolve: a problem found at 09:00 and
    declared at 11:00 has been hurting users since 09:00."""
    end = None if incident.is_open else (incident.resolved_at or incident.closed_at)
    if end is None and incident.is_open:
        return timesince(incident.detected_at, timezone.now(), depth=2)
    if end is None:
        return "—"
    return timesince(incident.detected_at, end, depth=2)


@register.simple_tag
def room_url(incident) -> str:
    """The incident's war room once that area exists; its detail page until then."""
    try:
        return reverse("warroom:room", kwargs={"reference": incident.reference})
    except NoReverseMatch:
        return reverse("incidents:detail", kwargs={"reference": incident.reference})


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with `changes` applied (None removes a key), e.g. for pages."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def minutes_text(value) -> str:
    """A timedelta as whole minutes, rounded up: "15 minutes", "1 minute"."""
    if not value:
        return ""
    minutes = max(1, -(-int(value.total_seconds()) // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
