"""Roles on an incident as data: which roles an incident needs (by severity x type), who holds
them, and filling them from the affected service at declaration (seed 000: "Auto-Assignment:
repository owner + technical lead").

Paging the people who can fill a role that is still empty needs on-call rotas and the
notification outbox, so it lives in `escalation.roles`; this module only reads and writes the
incident's own data."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from .declaration_memo import memoised
from .models import Incident, IncidentRole, IncidentRoleAssignment, RoleRequirement


@dataclass(frozen=True)
class RoleSlot:
    """A role an incident needs, and who holds it (None: unfilled)."""

    role: IncidentRole
    holder: object | None
    requirement: RoleRequirement

    @property
    def is_filled(self) -> bool:
        return self.holder is not None


def requirements_for(incident: Incident) -> list[RoleRequirement]:
    """The role requirements matching the incident's severity and type, one per role (the
    most specific wins: severity and type, then either, then neither). Read once per
    declaration."""
    severity_id, type_id = incident.severity_id, incident.incident_type_id
    return memoised(("role_requirements", severity_id, type_id),
                    lambda: _requirements_for(severity_id, type_id))


def _requirements_for(severity_id, type_id) -> list[RoleRequirement]:
    matching = (
        RoleRequirement.objects.select_related("role")
        .filter(Q(severity=severity_id) | Q(severity__isnull=True),
                Q(incident_type=type_id) | Q(incident_type__isnull=True))
    )
    best: dict[int, RoleRequirement] = {}
    for requirement in matching:
        specificity = (requirement.severity_id is not None) + (
            requirement.incident_type_id is not None)
        current = best.get(requirement.role_id)
        if current is None or specificity > (current.severity_id is not None) + (
                current.incident_type_id is not None):
            best[requirement.role_id] = requirement
    return sorted(best.values(), key=lambda r: (r.role.order, r.role.name))


def holder(incident: Incident, role: IncidentRole, assignments: dict[int, object] | None = None):
    if role.is_builtin:
        return getattr(incident, role.incident_field)
    if assignments is None:
        assignment = incident.role_assignments.filter(role=role).select_related("user").first()
        return assignment.user if assignment else None
    return assignments.get(role.pk)


def required_roles(incident: Incident) -> list[RoleSlot]:
    """What the war room shows: each required role and who holds it (a few queries)."""
    assignments = {a.role_id: a.user for a in
                   incident.role_assignments.select_related("user")}
    return [RoleSlot(r.role, holder(incident, r.role, assignments), r)
            for r in requirements_for(incident)]


def may_hold(user, role: IncidentRole | None) -> bool:
    """Who may be given a role: people who work incidents, and members of the group the role
    pages (a procedure may make a product manager its communications lead)."""
    if user.has_perm("incidents.work_incident"):
        return True
    return bool(role and role.group_id and user.is_active
                and user.groups.filter(pk=role.group_id).exists())


def custom_roles() -> list[IncidentRole]:
    return list(IncidentRole.objects.filter(incident_field=""))


def role_choices() -> list[tuple[str, str]]:
    """Every role a person can be given: the built-in ones, then those managers defined."""
    builtin = [(choice.value, choice.label) for choice in IncidentRole.Builtin]
    return builtin + [(role.code, role.name) for role in custom_roles()]


@dataclass(frozen=True)
class RosterLine:
    role: IncidentRole | None
    label: str
    holder: object | None
    required: bool

    @property
    def is_unfilled(self) -> bool:
        return self.required and self.holder is None


def roster(incident: Incident) -> list[RosterLine]:
    """The roster the war room shows: built-in roles always, other roles when required or
    held; a required role nobody holds is marked unfilled."""
    required = {slot.role.pk: slot for slot in required_roles(incident)}
    assignments = {a.role_id: a for a in incident.role_assignments.select_related("role", "user")}
    lines = []
    for choice in IncidentRole.Builtin:
        slot = next((s for s in required.values() if s.role.incident_field == choice.value), None)
        lines.append(RosterLine(slot.role if slot else None, choice.label,
                                getattr(incident, choice.value), slot is not None))
    shown = {a.role_id: a.role for a in assignments.values()}
    shown.update({pk: slot.role for pk, slot in required.items() if not slot.role.is_builtin})
    for role in sorted(shown.values(), key=lambda r: (r.order, r.name)):
        holder_ = assignments[role.pk].user if role.pk in assignments else None
        lines.append(RosterLine(role, role.name, holder_, role.pk in required))
    return lines


def service_person(services, source: str):
    """(service, person): the owner or technical lead of the first affected service (by name)
    that names an active one, else (None, None)."""
    for service in sorted(services, key=lambda s: s.name):
        person = getattr(service, source) if getattr(service, f"{source}_id") else None
        if person is not None and person.is_active:
            return service, person
    return None, None


def fills_from_services(incident: Incident, services) -> list[tuple[IncidentRole, object, object]]:
    """(role, person, service) for each required role the affected services fill at
    declaration, for an incident not saved yet."""
    fills = []
    for requirement in requirements_for(incident):
        if not requirement.fill_from_service:
            continue
        service, person = service_person(services, requirement.fill_from_service)
        if person is not None:
            fills.append((requirement.role, person, service))
    return fills


def assignment_set(incident: Incident, role: IncidentRole, user) -> tuple[object, object]:
    """Give a manager-defined role to `user` (None: clear it); returns (old, new) holders.
    History records who assigned it; callers write the timeline."""
    current = IncidentRoleAssignment.objects.select_for_update().filter(
        incident=incident, role=role).select_related("user").first()
    old = current.user if current else None
    if old == user:
        return old, user
    if current is not None:
        current.delete()
    if user is not None:
        IncidentRoleAssignment.objects.create(incident=incident, role=role, user=user)
    return old, user
