"""Models of other areas that reports read when they are installed.

SLA clocks and escalation events (escalation app) and post-mortems with action items
(postmortems app) are built alongside the reports; each lookup returns None until its model
exists, and the metrics that need it say "not available" instead of failing."""

from __future__ import annotations


def sla_clock_model():
    try:
        from escalation.models import SlaClock
    except ImportError:
        return None
    return SlaClock


def sla_outcome_model():
    try:
        from escalation.models import SlaOutcome
    except ImportError:
        return None
    return SlaOutcome


def escalation_event_model():
    try:
        from escalation.models import EscalationEvent
    except ImportError:
        return None
    return EscalationEvent


def postmortem_model():
    try:
        from postmortems.models import PostMortem
    except ImportError:
        return None
    return PostMortem


def action_item_model():
    try:
        from postmortems.models import ActionItem
    except ImportError:
        return None
    return ActionItem
