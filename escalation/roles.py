"""Paging for required roles (seed 003: P0 pages a devops troubleshooter, a security auditor and
a performance engineer). At declaration, and when a severity or type change adds one, each role
the incident's severity x type requires and nobody holds yet is paged (and each role an
auto-triage rule names): whoever is on call on the rotas that fill it, else the members of the
role's group. The people paged become participants, so a restricted incident is theirs to see."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model

from incidents import roles as incident_roles
from incidents.models import Incident, IncidentParticipant, IncidentRole, TimelineEntry
from incidents.people import display_name
from incidents.services import participants_add, timeline_record

from . import selectors
from .models import Rota
from .notifications import notify


def role_people(role: IncidentRole, now: datetime) -> list:
    """Who can fill `role` now: on call on a rota that fills it, else its group's members."""
    on_call = [selectors.on_call_now(rota, now) for rota in Rota.objects.filter(fills_roles=role)]
    people = [person for person in on_call if person is not None and person.is_active]
    if people or role.group_id is None:
        return people
    return list(get_user_model().objects.filter(groups=role.group_id, is_active=True)
                .order_by("username"))


def _roles_called_before(incident: Incident) -> set[str]:
    """Codes of the roles already paged for (or found nobody to page for) on `incident`."""
    entries = incident.timeline.filter(kind=TimelineEntry.Kind.ROLE,
                                       data__has_key="paged_roles").values_list("data", flat=True)
    return {code for data in entries for code in data["paged_roles"]}


def required_roles_page(incident: Incident, *, now: datetime, by=None) -> list:
    """Page each unfilled required role not called for before: at declaration, and again when
    a severity or type change makes a role required. The timeline says who was paged, or that
    nobody could be. Returns the slots paged for."""
    unfilled = [slot for slot in incident_roles.required_roles(incident) if not slot.is_filled]
    paged = roles_page(incident, [slot.role for slot in unfilled], now=now, by=by)
    return [slot for slot in unfilled if slot.role in paged]


def roles_page(incident: Incident, roles: list[IncidentRole], *, now: datetime, by=None,
               why: str = "") -> list[IncidentRole]:
    """Page whoever can fill each of `roles` (nobody holds them yet) that was not called for
    before: the unfilled required roles, or the roles an auto-triage rule names (`why` says
    so). The timeline says who was paged, or that nobody could be. Returns the roles called."""
    called = _roles_called_before(incident) if roles else set()
    roles = [role for role in roles if role.code not in called]
    parts = []
    for role in roles:
        people = role_people(role, now)
        if not people:
            parts.append(f"{role.name}: nobody to page (give the role a rota or group)")
            continue
        participants_add(incident, people, reason=IncidentParticipant.Reason.PAGED)
        notify(
            subject=incident, reason=f"role.{role.code}.required", recipients=people,
            title=f"[{incident.severity.code}] {incident.reference} needs a {role.name.lower()}",
            body=f"{incident.reference} {incident.title}\n"
                 + (f"The {why} asks for" if why else f"{incident.severity} needs")
                 + f" a {role.name.lower()}. Join the war room and take the role.",
            url=incident.get_absolute_url(), incident=incident,
        )
        parts.append(f"{role.name}: paged " + ", ".join(display_name(p) for p in people))
    if parts:
        heading = f"Roles called by the {why}. " if why else "Required roles. "
        timeline_record(
            incident, kind=TimelineEntry.Kind.ROLE, by=by, occurred_at=now,
            text=heading + "; ".join(parts) + ".",
            data={"paged_roles": [role.code for role in roles]},
        )
    return roles
