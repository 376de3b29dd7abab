"""On duty: a rota can be a duty (seed 002's daily log checker). Whoever is on it is asked to
triage each new incident that has no incident manager, and holds the rota's duty permissions
for the length of the shift only, so a Responder on the checker rota may confirm severity and
assign the incident manager that day, and nobody is asked to do what they may not do.

`OnDutyBackend` is an authentication backend that authenticates nobody: it only adds duty
permissions to `user.has_perm`, which the incident core, its transitions and the pages already
ask, so the core needs to know nothing about rotas."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from incidents.models import Incident, IncidentParticipant
from incidents.services import participants_add

from . import selectors
from .notifications import notify

TRIAGE = selectors.TRIAGE_PERMISSION
ASSIGN_ROLES = "incidents.assign_incident_roles"


class OnDutyBackend:
    """Adds the permissions of the rotas whose turn a user has now. Answers are kept on the
    user object for the current minute, so a page asking many times costs one or two queries."""

    def authenticate(self, request, **credentials):
        return None

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not getattr(user_obj, "is_active", False) or user_obj.is_anonymous:
            return set()
        now = timezone.now()
        minute = now.replace(second=0, microsecond=0)
        cached = getattr(user_obj, "_duty_perm_cache", None)
        if cached is None or cached[0] != minute:
            cached = (minute, set(selectors.duty_permissions(user_obj, now)))
            user_obj._duty_perm_cache = cached
        return cached[1]

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return any(perm.split(".", 1)[0] == app_label
                   for perm in self.get_all_permissions(user_obj))


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
