"""Display helpers for review pages and the includes other pages embed (the incident's review
panel and the dashboard's action item panel)."""

from __future__ import annotations

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html

from incidents.people import display_name

from .. import roi
from ..models import PostMortem
from ..selectors import action_item_counts, overdue_postmortem_count

register = template.Library()

FULL_DATETIME = "D j M Y, H:i T"
STATE_CLASSES = {
    "scheduled": "text-bg-light border", "drafting": "text-bg-primary",
    "in_review": "text-bg-warning", "published": "text-bg-success",
    "open": "text-bg-light border", "in_progress": "text-bg-primary", "done": "text-bg-success",
    "wont_do": "text-bg-secondary",
}


@register.filter
def pm_when(value) -> str:
    """Full local date and time with the zone, or a dash."""
    if not value:
        return "—"
    return dateformat.format(timezone.localtime(value), FULL_DATETIME)


@register.filter
def pm_person(user) -> str:
    return display_name(user, missing="—")


@register.filter
def pm_figure(value, suffix: str = "") -> str:
    return roi.display(value, suffix)


@register.simple_tag
def pm_state_badge(obj) -> str:
    return format_html('<span class="badge {}">{}</span>', STATE_CLASSES.get(obj.state, ""),
                       obj.get_state_display())


@register.simple_tag
def postmortem_for(incident):
    """The incident's review or None (templates cannot catch DoesNotExist themselves)."""
    try:
        return incident.postmortem
    except PostMortem.DoesNotExist:
        return None


@register.simple_tag(takes_context=True)
def action_item_overview(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    counts = action_item_counts(user)
    counts["overdue_reviews"] = overdue_postmortem_count()
    return counts
