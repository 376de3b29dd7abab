"""Writes for SLA clocks and escalation, kept by concern in short modules and re-exported here,
so callers keep writing `from escalation import services` (and `services.sla_clocks_start`,
`from escalation.services import incident_url`) whichever module holds a function: `clocks`
(an incident's SLA clocks over its life), `outcomes` (each incident's stored SLA outcome,
which reports aggregate), `breaches` (a clock's timer falls due: breach or
at-risk warning), `policies` (policy steps and impact rules become timers; an ended incident's
timers are cancelled), `escalations` (recording an escalation, firing steps, rules and
reminders), `actions` (what people do: escalate by hand, acknowledge) and `shared` (wording,
links, who is told). The modules import one another directly, in one direction (clocks ->
breaches -> outcomes, breaches -> policies -> escalations -> shared, actions -> escalations), never through here.

Incident signal receivers and deadline handlers call these inside the transaction that made the
news, so clocks, timers, escalation events, timeline entries and outbox rows commit together or
not at all. Lock order is always the incident (people's services only, FOR NO KEY UPDATE), then
Deadline rows, then SlaClock / EscalationEvent rows (the sweep holds a deadline's lock while its
handler runs, and never locks the incident), so a sweep and a person acting at the same moment
never deadlock; see escalation.deadlines."""

from .actions import escalation_acknowledge, incident_escalate
from .breaches import (
    sla_clock_breach,
    sla_clocks_breach,
    sla_clocks_warn_at_risk,
)
from .clocks import (
    sla_clock_met,
    sla_clocks_recompute,
    sla_clocks_start,
    sla_clocks_stop,
    sla_resolution_resume,
)
from .escalations import (
    REMINDER_KEY,
    Escalation,
    escalation_record,
    escalation_rule_fire,
    escalation_steps_fire,
    escalations_record,
    escalations_remind,
)
from .outcomes import sla_outcomes_record
from .policies import escalation_policy_schedule, impact_rules_apply, incident_timers_end
from .shared import incident_url, when

__all__ = [
    "REMINDER_KEY", "Escalation", "escalation_acknowledge", "escalation_policy_schedule",
    "escalation_record", "escalation_rule_fire",
    "escalation_steps_fire", "escalations_record", "escalations_remind", "impact_rules_apply",
    "incident_escalate", "incident_timers_end", "incident_url", "sla_clock_breach",
    "sla_clock_met", "sla_clocks_breach", "sla_clocks_recompute",
    "sla_clocks_start", "sla_clocks_stop", "sla_clocks_warn_at_risk", "sla_outcomes_record",
    "sla_resolution_resume", "when",
]
