"""Message template variables contributed by the areas above the incident core.

`rendering.message_context` holds the incident's own data; areas that know more register a
provider here with a description per variable (shown in the template editor), and every
variable is computed from the incident only. Escalation is below the war room, so its
variables live here; post-mortems (beside the war room) register theirs from their app."""

from __future__ import annotations

from escalation.models import EscalationEvent
from incidents.people import display_name

from .rendering import register_variables

TEAM_ROLES = (
    ("incident_manager", "incident manager"),
    ("communications_lead", "communications lead"),
    ("scribe", "scribe"),
)


def team_members(incident) -> str:
    """Everyone on the incident with their roles: "Ivan Manager (incident manager), ..."."""
    roles: dict[int, list[str]] = {}
    people = {}
    for field, label in TEAM_ROLES:
        person = getattr(incident, field)
        if person is not None:
            people[person.pk] = person
            roles.setdefault(person.pk, []).append(label)
    for person in incident.responders.all():
        people.setdefault(person.pk, person)
        roles.setdefault(person.pk, []).append("responder")
    return ", ".join(f"{display_name(people[pk])} ({' and '.join(labels)})"
                     for pk, labels in roles.items()) or "no one assigned yet"


def escalation_variables(incident) -> dict[str, str]:
    event = (EscalationEvent.objects.filter(incident=incident).select_related("level")
             .order_by("-at", "-id").first())
    if event is None:
        return {"escalation_level": "not escalated", "escalation_reason": "not escalated"}
    reason = event.get_reason_category_display()
    if event.note.strip():
        reason = f"{reason}: {event.note.strip()}"
    return {"escalation_level": str(event.level), "escalation_reason": reason}


register_variables(
    lambda incident: {"team_members": team_members(incident)},
    {"team_members": "The response team with roles, e.g. Ivan Manager (incident manager), "
                     "Rita Responder (communications lead)"},
)
register_variables(
    escalation_variables,
    {"escalation_level": "Current escalation level, e.g. L2 Team lead (or 'not escalated')",
     "escalation_reason": "Why it was last escalated, e.g. SLA breached: no fix in sight "
                          "(or 'not escalated')"},
)
