"""Connects the escalation app to the incident lifecycle. Receivers run inside the incident
service's transaction, so clocks, timers and escalations commit with the change that caused them.
Imported by EscalationConfig.ready(); importing `handlers` registers the deadline handlers."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from incidents import signals
from incidents.models import Incident

from . import handlers  # noqa: F401  (registers deadline handlers)
from . import duty, roles, services


@receiver(signals.incident_declared, dispatch_uid="escalation.declared")
def start_clocks_and_escalation(sender, incident: Incident, by=None, **kwargs):
    now = timezone.now()
    services.sla_clocks_start(incident, now=now)
    services.escalation_policy_schedule(incident, now=now, new_incident=True)
    services.impact_rules_apply(incident, by=by, now=now)
    roles.required_roles_page(incident, now=now, by=by)
    if incident.incident_manager_id is None:
        duty.triage_ask_on_duty(incident, now=now)


@receiver(signals.incident_severity_changed, dispatch_uid="escalation.severity_changed")
def recompute_on_severity_change(sender, incident: Incident, by=None, reason="", **kwargs):
    now = timezone.now()
    services.sla_clocks_recompute(incident, by=by, reason=reason, now=now)
    services.escalation_policy_schedule(incident, now=now, catch_up=True)
    if incident.is_open:
        roles.required_roles_page(incident, now=now, by=by)


@receiver(signals.incident_transitioned, dispatch_uid="escalation.transitioned")
def follow_lifecycle(sender, incident: Incident, by=None, transition="", **kwargs):
    now = timezone.now()
    if transition == "triage":
        services.sla_clock_met(incident, kind="response", at=incident.acknowledged_at or now)
    elif transition == "resolve":
        # Met first: a resolution met late records its breach, and the breach-anchored steps
        # due before now still fire; then everything due later is cancelled.
        services.sla_clock_met(incident, kind="resolution", at=incident.resolved_at or now)
        services.incident_timers_end(incident, now=now)
    elif transition == "reopen":
        services.sla_resolution_resume(incident, by=by, now=now)
        services.escalation_policy_schedule(incident, now=now, catch_up=True)
        services.impact_rules_apply(incident, by=by, now=now)
    elif transition in {"cancel", "mark_duplicate", "close"}:
        services.incident_timers_end(incident, now=now)
        services.sla_clocks_stop(incident, at=now)


@receiver(signals.incident_acknowledged, dispatch_uid="escalation.acknowledged")
def meet_the_response_clock(sender, incident: Incident, by=None, **kwargs):
    # A response is an acknowledgement or a triage, whichever comes first (triage then meets
    # the clock as of the acknowledgement); one after the due time is a breach.
    services.sla_clock_met(incident, kind="response", at=incident.acknowledged_at)


@receiver(signals.incident_impact_changed, dispatch_uid="escalation.impact_changed")
def apply_impact_rules(sender, incident: Incident, by=None, changed=None, **kwargs):
    if "incident_type" in (changed or {}):
        # Another type may climb another ladder: its policy's steps replace the old ones; and
        # it may require roles the old type did not.
        services.escalation_policy_schedule(incident, catch_up=True)
        if incident.is_open:
            roles.required_roles_page(incident, now=timezone.now(), by=by)
    services.impact_rules_apply(incident, by=by)
