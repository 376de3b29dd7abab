"""Wiring of the war room into the incident lifecycle, imported by IncidentsConfig.ready():
- checklists are instantiated on declaration and follow severity and type changes (items
  no longer asked for are kept as not required);
- open required checklist items refuse the transition they gate (guards, any transition);
- a phase window that ends with open items reminds people (deadline handler in services);
- communication cadence timers start on declaration, follow severity and customer-facing
  changes, and stop when the incident is resolved, closed or cancelled.
Receivers run inside the service's transaction, so their rows commit with the change.
They are plain functions connected at the bottom, not @receiver-decorated: mutmut makes no
mutant of a decorated function, and these rules are scored by mutation testing."""

from __future__ import annotations

from django.utils import timezone

from incidents import guards, signals
from incidents.models import Incident
from incidents.views.panels import register_incident_panel

from . import communications, services, variables  # noqa: F401 (registers its variables)

def _resolution_prompt_context(request, incident) -> dict:
    return {"resolution_prompt": communications.public_resolution_prompt(incident),
            "can_send": communications.can_send_updates(request.user, incident)}


# After a customer-facing incident ends, its page asks for the public resolution update.
register_incident_panel("warroom/panels/resolution_prompt.html",
                        context=_resolution_prompt_context, order=5)

# Any transition may be gated by a checklist item, so a guard is registered for each.
for _name, _guard in services.CHECKLIST_GUARDS.items():
    guards.register(_name, _guard)


def on_incident_declared(sender, incident, by, **kwargs):
    services.checklist_instantiate(incident, anchor=incident.declared_at, by=by,
                                   new_incident=True)
    communications.cadence_plan(incident, since=incident.declared_at, new_incident=True)


def on_incident_severity_changed(sender, incident, by, old, new, **kwargs):
    services.checklist_follow_severity_change(incident, old=old, by=by)
    communications.cadence_plan(incident, since=timezone.now())


def on_incident_impact_changed(sender, incident, by, changed, **kwargs):
    # Checklists, cadences and templates may be for one incident type only.
    if "incident_type" in changed and incident.is_open:
        services.checklist_follow_type_change(incident, old_type=changed["incident_type"][0],
                                              by=by)
    # Some cadences (customers at P1/P2) apply only while the incident is customer-facing.
    if {"is_customer_facing", "incident_type"} & set(changed) and incident.is_open:
        communications.cadence_plan(incident, since=timezone.now())


def on_incident_transitioned(sender, incident, by, transition, source, target, **kwargs):
    if target not in Incident.OPEN_STATES:
        communications.cadence_stop(incident)
        services.checklist_windows_stop(incident)
    elif source not in Incident.OPEN_STATES:  # reopened: the audiences wait for news again
        communications.cadence_plan(incident, since=timezone.now())
        services.checklist_windows_plan(incident)


# The dispatch_uids keep a second import of this module from connecting a receiver twice.
signals.incident_declared.connect(on_incident_declared, dispatch_uid="warroom.on_declared")
signals.incident_severity_changed.connect(on_incident_severity_changed,
                                          dispatch_uid="warroom.on_severity_changed")
signals.incident_impact_changed.connect(on_incident_impact_changed,
                                        dispatch_uid="warroom.on_impact_changed")
signals.incident_transitioned.connect(on_incident_transitioned,
                                      dispatch_uid="warroom.on_transitioned")
