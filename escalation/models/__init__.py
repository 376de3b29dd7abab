"""Timers and the notification outbox: the database is the source of truth for both.

`Deadline` rows are swept by one beat task (`escalation.deadlines.deadlines_sweep`);
`Notification` rows are the transactional outbox, delivered by workers. Below them: SLA clocks,
business calendars, escalation ladders, policies and impact rules, escalation events and on-call
rotas (configuration is data that managers edit in the admin)."""

from .clocks import (
    BusinessCalendar,
    Holiday,
    SlaClock,
    SlaOutcome,
    clock_result,
    validate_time_zone,
)
from .ladders import (
    EscalationEvent,
    EscalationLadder,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    ImpactCondition,
    ImpactRule,
    LevelResponseTime,
    StepClock,
)
from .notifications import DeliveryAttempt, Notification, NotificationPreference, WebhookEndpoint
from .rotas import Rota, RotaMember, RotaOverride
from .timers import PENDING, Deadline, Heartbeat

__all__ = [
    "PENDING", "BusinessCalendar", "Deadline", "DeliveryAttempt", "EscalationEvent",
    "EscalationLadder", "EscalationLevel", "EscalationPolicy", "EscalationStep", "Heartbeat",
    "Holiday", "ImpactCondition", "ImpactRule", "LevelResponseTime", "Notification",
    "NotificationPreference", "Rota", "RotaMember", "RotaOverride", "SlaClock", "SlaOutcome", "StepClock",
    "WebhookEndpoint", "clock_result", "validate_time_zone",
]
