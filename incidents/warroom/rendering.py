"""Rendering message templates that managers write, safely.

Templates use Django's template language but run in their own engine: no loaders, no
`{% load %}`, `{% include %}`, `{% url %}` or `{% debug %}`, and a context of plain strings
built here, so a template can only show what this module chooses to hand it (no model
objects, no attribute walks into users or settings).

Nor can a template make the work or the message grow without bound: there are no loops
(the context holds strings only, so a loop could only multiply text), only filters whose
output is no longer than their input or their argument (`|ljust:"999999999"`, `|add` or
`|urlencode` chained would grow it without limit), and both the template and the message it
renders are limited in size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import Lexer, TokenType
from django.utils import dateformat, timezone

from incidents.people import display_name

# Everything else could reach outside the restricted context (load, include, url, debug, ...)
# or multiply output (for, cycle, with + a growing filter).
ALLOWED_TAGS = {"if", "comment", "firstof", "now", "spaceless", "templatetag", "verbatim"}
ALLOWED_FILTERS = {
    "default", "default_if_none", "upper", "lower", "title", "capfirst", "truncatechars",
    "truncatewords", "length", "first", "last", "cut", "yesno", "slugify", "striptags",
    "linebreaksbr", "wordcount",
}
MAX_TEMPLATE_CHARS = 10_000
MAX_MESSAGE_CHARS = 20_000

_tags = Library()
_tags.tags = {name: tag for name, tag in defaulttags.register.tags.items() if name in ALLOWED_TAGS}
_filters = Library()
_filters.filters = {name: f for name, f in defaultfilters.register.filters.items()
                    if name in ALLOWED_FILTERS}

_CLOSING_TAGS = {"elif", "else", "endif", "endcomment", "endspaceless", "endverbatim"}
_engine = Engine(autoescape=False, libraries={}, string_if_invalid="")
_engine.template_builtins = [_tags, _filters]

# The variables a template may use, with what they mean (shown to people who write templates).
VARIABLES = {
    "reference": "Incident reference, e.g. INC-2026-0042",
    "title": "Incident title",
    "description": "Incident description (internal)",
    "severity": "Severity with name, e.g. P0 – Critical",
    "severity_code": "Severity code, e.g. P0",
    "severity_name": "Severity name, e.g. Critical",
    "state": "Current state, e.g. Investigating",
    "impact": "One-line impact summary",
    "customers_affected": "Number of customers affected (or 'unknown')",
    "customers_affected_pct": "Percentage of customers affected (or 'unknown')",
    "revenue_impact": "Revenue impact per hour (or 'not quantified')",
    "incident_type": "Incident type, e.g. Security",
    "category": "Same as incident_type (kept for older templates)",
    "root_cause": "Root-cause category (or 'under investigation')",
    "services": "Affected services, comma separated",
    "detected_at": "When the issue was detected (full date and time)",
    "declared_at": "When the incident was declared",
    "mitigated_at": "When it was mitigated (or 'not yet')",
    "resolved_at": "When it was resolved (or 'not yet')",
    "duration": "Time from detection to resolution (or until now)",
    "resolution_target": "When resolution is due under the severity's SLA",
    "workaround": "Workaround (or 'none available yet')",
    "resolution": "Resolution summary (or 'in progress')",
    "next_update": "When the next update is due",
    "update_cadence": "How often this audience hears from us",
    "incident_manager": "Name of the incident manager",
    "communications_lead": "Name of the communications lead",
    "status_page_url": "Public status page address",
    "war_room_url": "War-room page address (internal: removed from e-mails to contacts)",
}

# Variables other areas add (escalation, post-mortems): each provider turns an incident into
# {name: text}; its names and descriptions join VARIABLES, so the editor lists them too.
VariableProvider = Callable[[object], dict[str, str]]
_providers: list[VariableProvider] = []


def register_variables(provider: VariableProvider, descriptions: dict[str, str]) -> None:
    """Add variables to every message context, with the descriptions the editor shows."""
    if provider not in _providers:
        _providers.append(provider)
    VARIABLES.update(descriptions)


class MessageRenderError(ValueError):
    """A template could not be compiled or rendered; the message says where and why."""


def template_errors(source: str) -> str | None:
    """The syntax error in `source`, in words, or None when it compiles."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return f"A message template is at most {MAX_TEMPLATE_CHARS:,} characters long."
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents.split() else ""
            if name not in _tags.tags and name not in _CLOSING_TAGS:
                return (f"The {{% {name} %}} tag is not available in message templates (line "
                        f"{token.lineno}); use {', '.join(sorted(ALLOWED_TAGS))}.")
    try:
        _engine.from_string(source)
    except TemplateSyntaxError as exc:
        return f"Template syntax error: {exc}"
    # Django treats an unclosed "{{" as plain text; in a message it is always a mistake.
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.TEXT and ("{{" in token.contents or "{%" in token.contents):
            return f"Template syntax error: an unclosed {{{{ or {{% on line {token.lineno}."
    return None


def render_text(source: str, context: dict[str, str]) -> str:
    problem = template_errors(source)
    if problem:
        raise MessageRenderError(problem)
    try:
        text = _engine.from_string(source).render(Context(context, autoescape=False))
    except TemplateSyntaxError as exc:
        raise MessageRenderError(f"Template syntax error: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - a manager's template must never cause a 500
        raise MessageRenderError(f"The template could not be rendered: {exc}") from exc
    if len(text) > MAX_MESSAGE_CHARS:
        raise MessageRenderError(f"The message would be {len(text):,} characters long; at most "
                                 f"{MAX_MESSAGE_CHARS:,} are sent. Shorten the template.")
    return text


def format_datetime(value: datetime | None, empty: str = "not yet") -> str:
    if value is None:
        return empty
    return dateformat.format(timezone.localtime(value), settings.DATETIME_FORMAT)


def format_duration(value: timedelta | None) -> str:
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} d")
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def _name(user) -> str:
    return display_name(user, missing="not assigned")


def _impact_summary(incident) -> str:
    parts = []
    if incident.customers_affected is not None:
        parts.append(f"{incident.customers_affected:,} customers affected")
    if incident.customers_affected_pct is not None:
        parts.append(f"{incident.customers_affected_pct:g}% of customers")
    if incident.revenue_impact_per_hour is not None:
        parts.append(f"{incident.revenue_impact_per_hour:,.2f} {incident.currency} revenue per hour")
    flags = [label for flag, label in (
        ("is_customer_facing", "customer-facing"), ("is_security", "security"),
        ("is_data_integrity", "data integrity"), ("is_compliance", "compliance"),
    ) if getattr(incident, flag)]
    if flags:
        parts.append(", ".join(flags))
    return "; ".join(parts) or "being assessed"


def message_context(incident, *, next_update: datetime | None = None,
                    update_cadence: timedelta | None = None, business_hours_only: bool = False,
                    now: datetime | None = None) -> dict[str, str]:
    """The incident's data as strings: everything a message template may show."""
    now = now or timezone.now()
    end = incident.resolved_at or now
    services = [s.name for s in incident.services.all()]
    site = settings.SITE_URL
    context = {
        "reference": incident.reference,
        "title": incident.title,
        "description": incident.description.strip() or "no further details yet",
        "severity": str(incident.severity),
        "severity_code": incident.severity.code,
        "severity_name": incident.severity.name,
        "state": incident.get_state_display(),
        "impact": _impact_summary(incident),
        "customers_affected": (f"{incident.customers_affected:,}"
                               if incident.customers_affected is not None else "unknown"),
        "customers_affected_pct": (f"{incident.customers_affected_pct:g}%"
                                   if incident.customers_affected_pct is not None else "unknown"),
        "revenue_impact": (f"{incident.revenue_impact_per_hour:,.2f} {incident.currency} per hour"
                           if incident.revenue_impact_per_hour is not None else "not quantified"),
        "incident_type": incident.incident_type.name,
        "category": incident.incident_type.name,
        "root_cause": incident.get_root_cause_category_display()
        if incident.root_cause_category else "under investigation",
        "services": ", ".join(services) or "to be confirmed",
        "detected_at": format_datetime(incident.detected_at),
        "declared_at": format_datetime(incident.declared_at),
        "mitigated_at": format_datetime(incident.mitigated_at),
        "resolved_at": format_datetime(incident.resolved_at),
        "duration": format_duration(end - incident.detected_at),
        "resolution_target": (
            format_datetime(incident.declared_at + incident.severity.resolution_target)
            if incident.severity.resolution_target is not None else "no SLA"),
        "workaround": incident.workaround.strip() or "none available yet",
        "resolution": incident.resolution_summary.strip() or "in progress",
        "next_update": format_datetime(next_update, empty="when there is news"),
        "update_cadence": (f"every {format_duration(update_cadence)}"
                           + (" during business hours" if business_hours_only else "")
                           if update_cadence else "as things change"),
        "incident_manager": _name(incident.incident_manager),
        "communications_lead": _name(incident.communications_lead),
        "status_page_url": f"{site}/status/",
        "war_room_url": f"{site}/war-room/{incident.reference}/",
    }
    for provider in _providers:
        context.update(provider(incident))
    return context
