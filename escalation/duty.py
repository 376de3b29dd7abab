"""On duty: a rota can be a duty (seed 002's daily log checker). Whoever is on it is asked to
triage each new incident that has no incident manager, and holds the rota's duty permissions
for the length of the shift only, so a Responder on the checker rota may confirm severity and
assign the incident manager that day, and nobody is asked to do what they may not do.

`DutyAwareModelBackend` is Django's ModelBackend whose group-permission read also returns the
permissions of the duty rotas a user belongs to (still one query for everyone else); they count
only while the user is on duty. The incident core, its transitions and the pages already ask
`user.has_perm`, so the core needs to know nothing about rotas."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from incidents.models import Incident, IncidentParticipant
from incidents.services import participants_add

from . import selectors
from .notifications import notify

TRIAGE = selectors.TRIAGE_PERMISSION
ASSIGN_ROLES = "incidents.assign_incident_roles"


class DutyAwareModelBackend(ModelBackend):
    """Group permissions plus those of the duties the user is on now, cached on the user object
    like ModelBackend's (so for the request that loaded it)."""

    def _get_permissions(self, user_obj, obj, from_name):
        if from_name != "group" or user_obj.is_superuser:
            return super()._get_permissions(user_obj, obj, from_name)
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_group_perm_cache"):
            user_obj._group_perm_cache = selectors.group_and_duty_permissions(
                user_obj, timezone.now())
        return user_obj._group_perm_cache


def triage_ask_on_duty(incident: Incident, *, now: datetime) -> list:
    """Ask whoever is on a triage duty to triage `incident`: only people who may triage are
    asked, and the message asks for what each may do. Returns the people asked."""
    from .services import incident_url

    asked = []
    for rota in selectors.triage_duty_rotas():
        person = selectors.on_call_now(rota, now)
        if person is None or person in asked or not selectors.user_may(person, TRIAGE, now):
            continue
        asked.append(person)
        # Asked to triage, so they must see the incident even when it is restricted.
        participants_add(incident, [person], reason=IncidentParticipant.Reason.PAGED)
        task = "confirm or correct the severity and triage the incident"
        if selectors.user_may(person, ASSIGN_ROLES, now):
            task = f"assign an incident manager, then {task}"
        notify(
            subject=incident, reason="triage.on_duty", recipients=[person],
            title=f"[{incident.severity.code}] {incident.reference} needs triage: "
                  f"{incident.title}",
            body=f"You are on duty ({rota.name}): please {task}.",
            url=incident_url(incident), incident=incident,
        )
    return asked
