"""Tags the escalation includes use, so any page can include them with just `incident`:
`{% include "escalation/_sla_clocks.html" %}` and friends."""

from __future__ import annotations

from django import template

from .. import selectors
from ..forms import EscalateForm

register = template.Library()


@register.simple_tag
def sla_clocks(incident):
    return selectors.sla_clocks_for(incident)


@register.simple_tag(takes_context=True)
def escalation_status(context, incident):
    user = getattr(context.get("request"), "user", None) or context.get("user")
    return selectors.escalation_status(incident, user)


@register.simple_tag(takes_context=True)
def escalate_form(context, incident):
    """The manual escalation form for people who may escalate this open incident, else None.
    A form already bound by the escalate view (with its errors) is kept."""
    form = context.get("escalate_form")
    if form is not None:
        return form
    user = getattr(context.get("request"), "user", None) or context.get("user")
    if user is None or not incident.is_open or not user.has_perm("escalation.escalate_incident"):
        return None
    return EscalateForm(incident=incident)


@register.simple_tag
def oncall_overview():
    return selectors.oncall_overview()


@register.simple_tag(takes_context=True)
def sla_attention(context, limit=10):
    user = getattr(context.get("request"), "user", None) or context.get("user")
    return selectors.sla_clocks_needing_attention(user, limit=limit)
