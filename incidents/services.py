"""Every write to an incident. One transaction each: lock the row, check permission and guards,
change it, record history (user and reason) and a timeline entry, send the domain signal so
other apps write in the same transaction, and leave outside effects to on_commit/outbox."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition
from simple_history.utils import bulk_create_with_history

from . import guards, roles, signals
from .currencies import is_currency
from .declaration_memo import in_declaration_scope
from .errors import ActionRefused, Conflict
from .models import (
    Incident,
    IncidentParticipant,
    IncidentRole,
    ReferenceCounter,
    Service,
    SeverityLevel,
    TimelineEntry,
)
from .people import display_name
from .transactions import retry_on_conflict
from .validation import require_datetime_in_range, validate_single_line

ROLE_FIELDS = {
    "incident_manager": "Incident manager",
    "communications_lead": "Communications lead",
    "scribe": "Scribe",
}
IMPACT_FIELDS = (
    "customers_affected",
    "customers_affected_pct",
    "revenue_impact_per_hour",
    "currency",
    "incident_type",
    "root_cause_category",
    "is_customer_facing",
    "is_security",
    "is_data_integrity",
    "is_compliance",
    "workaround",
)
TRANSITIONS = ("triage", "investigate", "mitigate", "resolve", "reopen", "close", "cancel",
               "mark_duplicate")


def require_perm(user, perm: str, action: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise ActionRefused(f"You do not have permission to {action}.")


def _names(services: Iterable[Service]) -> str:
    return ", ".join(sorted(service.name for service in services)) or "none"


def _lock(incident: Incident, expected_version: int | None = None) -> Incident:
    """Re-read the incident under a row lock; refuse if the caller's copy is stale.

    FOR NO KEY UPDATE, not FOR UPDATE: it still makes two people acting on one incident take
    turns, but it does not conflict with the KEY SHARE lock that PostgreSQL's foreign-key checks
    take on the incident when another transaction inserts rows referring to it. The timer sweep
    is such a transaction: it holds its timer rows and, at COMMIT, checks the keys of the
    timeline, escalation and outbox rows it wrote. A service that held the incident FOR UPDATE
    and then waited for those timer rows deadlocked with it; with NO KEY UPDATE the sweep
    commits and the service goes on. Our own UPDATE of the incident changes no key column, so
    it needs no stronger lock either."""
    locked = Incident.objects.select_for_update(no_key=True).get(pk=incident.pk)
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(
            f"{locked.reference} was changed by someone else while you were editing "
            "(reload to see the change); your change was not saved."
        )
    return locked


def _save(incident: Incident, *, by, reason: str) -> None:
    incident.version += 1
    incident._history_user = by
    incident._change_reason = reason[:100] if reason else ""
    try:
        incident.save()
    except ConcurrentTransition as exc:  # a stale in-memory copy, e.g. from the admin
        raise Conflict(
            f"{incident.reference} changed state while you were looking at it; reload and try again."
        ) from exc


def timeline_record(
    incident: Incident,
    *,
    kind: str,
    text: str,
    by=None,
    occurred_at: datetime | None = None,
    is_key_event: bool = False,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """An automatic timeline entry. Other apps call this for escalations, checklist ticks, ..."""
    entry = TimelineEntry(
        incident=incident,
        kind=kind,
        text=text,
        author=by,
        occurred_at=occurred_at or timezone.now(),
        is_key_event=is_key_event,
        data=data or {},
    )
    entry._history_user = by
    entry.save()
    return entry


def timeline_record_many(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Many automatic entries at once (a timer sweep's batch): one insert for the entries and
    one for their history rows, each attributed to its author. Returns them with their ids."""
    for entry in entries:
        entry.occurred_at = entry.occurred_at or timezone.now()
        entry._history_user = entry.author
    return bulk_create_with_history(entries, TimelineEntry)


def _require_single_line_title(title: str) -> None:
    try:
        validate_single_line(title)
    except ValidationError:
        raise ActionRefused("A title is one line: it becomes the subject of e-mails.") from None


def _next_reference(year: int) -> str:
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{settings.FIREBREAK_REFERENCE_PREFIX}-{year}-{counter.last_number:04d}"


# --- Declare ------------------------------------------------------------------------------


def impact_problems(values: dict[str, Any]) -> list[str]:
    """What is wrong with impact values, in words: numbers shown to stakeholders must make
    sense (no negative revenue or customers, a percentage within 0-100, an ISO 4217 currency)."""
    problems = []
    revenue = values.get("revenue_impact_per_hour")
    if revenue is not None and revenue < 0:
        problems.append("Revenue impact per hour cannot be negative.")
    customers = values.get("customers_affected")
    if customers is not None and customers < 0:
        problems.append("Customers affected cannot be negative.")
    pct = values.get("customers_affected_pct")
    if pct is not None and not 0 <= pct <= 100:
        problems.append("A percentage is between 0 and 100.")
    currency = values.get("currency")
    if currency is not None and not is_currency(currency):
        problems.append(f"“{currency}” is not an ISO 4217 currency code (e.g. EUR, USD, GBP).")
    return problems


@retry_on_conflict
@transaction.atomic
@in_declaration_scope  # procedure reads (role requirements, calendar) made once
def incident_declare(
    *,
    by: AbstractBaseUser,
    title: str,
    severity: SeverityLevel,
    description: str = "",
    services: Iterable[Service] = (),
    detected_at: datetime | None = None,
    restricted: bool | None = None,
    groups: Iterable = (),
    **impact: Any,
) -> Incident:
    """Declare an incident. `restricted=None` follows its type: a type restricted by default
    (security) starts restricted to its participants and `groups`."""
    require_perm(by, "incidents.declare_incident", "declare incidents")
    unknown = set(impact) - set(IMPACT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown impact fields: {sorted(unknown)}")
    if problems := impact_problems(impact):
        raise ActionRefused(problems)
    _require_single_line_title(title)
    require_datetime_in_range(detected_at, "detection time")
    now = timezone.now()
    detected_at = detected_at or now
    if detected_at > now:
        raise ActionRefused("The detection time cannot be in the future.")
    services = list(services)
    incident = Incident(
        # The organisation's year, not UTC's: 00:30 on 1 January in Amsterdam is the new year.
        reference=_next_reference(timezone.localdate(now).year),
        title=title,
        description=description,
        severity=severity,
        reporter=by,
        detected_at=detected_at,
        declared_at=now,
        is_restricted=bool(restricted),
        **impact,
    )
    by_type = restricted is None and incident.incident_type_id is not None and (
        incident.incident_type.restricted_by_default)
    if by_type:
        incident.is_restricted = True
    # Required roles the affected services fill (seed 000: owner + technical lead), set before
    # the first save so the declaration's history row already names them.
    fills = roles.fills_from_services(incident, services)
    for role, person, _service in fills:
        if role.is_builtin and getattr(incident, role.incident_field) is None:
            setattr(incident, role.incident_field, person)
    incident._history_user = by
    incident._change_reason = "Declared"
    incident.save()
    if services:  # a new incident has none to replace: `add`, not `set`, saves reading them
        incident.services.add(*services)
    participants_add(incident, [by], reason=IncidentParticipant.Reason.REPORTER)
    timeline_record(
        incident,
        kind=TimelineEntry.Kind.DECLARED,
        by=by,
        text=f"{display_name(by)} declared {incident.reference} as {severity}.",
        is_key_event=True,
    )
    if incident.is_restricted:
        groups = set(groups)
        incident.visible_to_groups.set(groups)
        names = ", ".join(sorted(group.name for group in groups))
        why = (f"{incident.incident_type.name} incidents start restricted" if by_type
               else f"{display_name(by)} restricted it when declaring")
        timeline_record(
            incident, kind=TimelineEntry.Kind.VISIBILITY, by=by, is_key_event=True,
            text=f"Visible to its participants{f' and {names}' if names else ''} only: {why}.",
            data={"restricted": True, "groups": sorted(group.pk for group in groups)},
        )
    _record_service_fills(incident, fills, by=by)
    if detected_at < now:
        timeline_record(
            incident,
            kind=TimelineEntry.Kind.NOTE,
            by=by,
            occurred_at=detected_at,
            text="Issue detected.",
            is_key_event=True,
        )
    signals.incident_declared.send(sender=Incident, incident=incident, by=by)
    return incident


def _record_service_fills(incident: Incident, fills, *, by) -> None:
    for role, person, service in fills:
        if not role.is_builtin:
            roles.assignment_set(incident, role, person)
        elif getattr(incident, role.incident_field) != person:
            continue  # named explicitly at declaration
        incident.responders.add(person)
        participants_add(incident, [person], reason=IncidentParticipant.Reason.ROLE)
        source = "owner" if service.owner_id == person.pk else "technical lead"
        timeline_record(
            incident, kind=TimelineEntry.Kind.ROLE, by=by,
            text=f"{display_name(person)} is {role.name.lower()}: {source} of {service.name}.",
            data={"role": role.code, "new": person.pk, "service": service.slug},
        )


# --- Transitions --------------------------------------------------------------------------


def transition_refusals(incident: Incident, name: str, user) -> list[str]:
    """Why `user` may not apply transition `name` now; empty when they may."""
    if name not in TRANSITIONS:
        return [f"Unknown action “{name}”."]
    method = getattr(incident, name)
    meta = method._django_fsm
    if not meta.has_transition(incident.state):
        return [f"{incident.reference} is {incident.get_state_display().lower()}; it cannot be "
                f"{_verb(name)} from there."]
    reasons = guards.refusal_reasons(incident, name)
    if user is not None and not meta.has_transition_perm(incident, incident.state, user):
        reasons.insert(0, f"You do not have permission to {_label(name).lower()} incidents.")
    return reasons


def _transition_custom(name: str) -> dict:
    return next(iter(getattr(Incident, name)._django_fsm.transitions.values())).custom


def _label(name: str) -> str:
    return _transition_custom(name)["label"]


def _verb(name: str) -> str:
    return _transition_custom(name)["verb"]


def available_transitions(incident: Incident, user) -> list[dict]:
    """The transitions the state and `user`'s permissions allow, as {name, label} for buttons.

    Guards are not applied here: a transition's own form often supplies what its guard asks
    for (triage picks the manager, resolve takes the summary); they are checked on submit, and
    `selectors.transition_choices` lists what still blocks each one."""
    from .selectors import transition_choices

    return [{"name": c["name"], "label": c["label"]} for c in transition_choices(incident, user)]


def _apply_transition(
    incident: Incident,
    name: str,
    *,
    by,
    reason: str = "",
    prepare=None,
    expected_version: int | None = None,
    key_event: bool = True,
) -> Incident:
    """Lock, let `prepare` set fields the guards look at, check, transition, record."""
    incident = _lock(incident, expected_version)
    if prepare:
        prepare(incident)
    reasons = transition_refusals(incident, name, by)
    if reasons:
        raise ActionRefused(reasons)
    source = incident.state
    getattr(incident, name)()
    _save(incident, by=by, reason=reason or _label(name))
    text = f"{display_name(by)} {_verb(name)} the incident ({Incident.State(source).label} → " \
           f"{incident.get_state_display()})."
    if reason:
        text += f" Reason: {reason}"
    timeline_record(
        incident,
        kind=TimelineEntry.Kind.TRANSITION,
        by=by,
        text=text,
        is_key_event=key_event,
        data={"transition": name, "source": source, "target": incident.state},
    )
    signals.incident_transitioned.send(
        sender=Incident,
        incident=incident,
        by=by,
        transition=name,
        source=source,
        target=incident.state,
        reason=reason,
    )
    return incident


@retry_on_conflict
@transaction.atomic
def incident_triage(
    incident: Incident,
    *,
    by,
    severity: SeverityLevel | None = None,
    incident_manager=None,
    reason: str = "",
) -> Incident:
    """Confirm severity, assign the incident manager (both optional if already set), triage."""
    locked = _lock(incident)
    if severity is not None and severity != locked.severity:
        incident_change_severity(locked, by=by, severity=severity,
                                 reason=reason or "Severity confirmed at triage")
    if incident_manager is not None and incident_manager.pk != locked.incident_manager_id:
        incident_assign_role(locked, by=by, role="incident_manager", user=incident_manager,
                             reason="Assigned at triage")
    return _apply_transition(locked, "triage", by=by, reason=reason)


@retry_on_conflict
@transaction.atomic
def incident_investigate(incident: Incident, *, by, reason: str = "") -> Incident:
    return _apply_transition(incident, "investigate", by=by, reason=reason, key_event=False)


@retry_on_conflict
@transaction.atomic
def incident_mitigate(incident: Incident, *, by, workaround: str = "", reason: str = "") -> Incident:
    def prepare(locked):
        if workaround.strip():
            locked.workaround = workaround.strip()

    return _apply_transition(incident, "mitigate", by=by, reason=reason, prepare=prepare)


@retry_on_conflict
@transaction.atomic
def incident_resolve(incident: Incident, *, by, summary: str, reason: str = "") -> Incident:
    def prepare(locked):
        if summary.strip():
            locked.resolution_summary = summary.strip()

    return _apply_transition(incident, "resolve", by=by, reason=reason, prepare=prepare)


@retry_on_conflict
@transaction.atomic
def incident_reopen(incident: Incident, *, by, reason: str) -> Incident:
    if not reason.strip():
        raise ActionRefused("Say why the incident is being reopened.")
    return _apply_transition(incident, "reopen", by=by, reason=reason.strip())


@retry_on_conflict
@transaction.atomic
def incident_close(incident: Incident, *, by, reason: str = "") -> Incident:
    return _apply_transition(incident, "close", by=by, reason=reason)


@retry_on_conflict
@transaction.atomic
def incident_cancel(incident: Incident, *, by, reason: str) -> Incident:
    if not reason.strip():
        raise ActionRefused("Say why the incident is being cancelled.")
    return _apply_transition(incident, "cancel", by=by, reason=reason.strip())


@retry_on_conflict
@transaction.atomic
def incident_mark_duplicate(
    incident: Incident, *, by, duplicate_of: Incident, reason: str = ""
) -> Incident:
    def prepare(locked):
        locked.duplicate_of = duplicate_of

    # The timeline is read by everyone who sees this incident: a restricted original stays unnamed.
    reason = reason or (f"Duplicate of {duplicate_of.reference}" if not duplicate_of.is_restricted
                        else "Duplicate of a restricted incident")
    return _apply_transition(incident, "mark_duplicate", by=by, reason=reason, prepare=prepare)


@transaction.atomic
def incident_acknowledge(incident: Incident, *, by, reason: str = "") -> Incident:
    """Someone (or their paging tool, on their behalf) has seen the incident: stamps
    `acknowledged_at` once, which meets the response SLA (late, it is a breach). The state
    does not move; triage does that."""
    require_perm(by, "incidents.work_incident", "acknowledge incidents")
    incident = _lock(incident)
    if incident.acknowledged_at is not None or not incident.is_open:
        return incident
    incident.acknowledged_at = timezone.now()
    _save(incident, by=by, reason=reason or "Acknowledged")
    timeline_record(
        incident,
        kind=TimelineEntry.Kind.NOTE,
        by=by,
        text=f"{display_name(by)} acknowledged the incident." + (f" {reason}" if reason else ""),
        data={"acknowledged": True},
    )
    signals.incident_acknowledged.send(sender=Incident, incident=incident, by=by)
    return incident


TRANSITION_SERVICES = {
    "triage": incident_triage,
    "investigate": incident_investigate,
    "mitigate": incident_mitigate,
    "resolve": incident_resolve,
    "reopen": incident_reopen,
    "close": incident_close,
    "cancel": incident_cancel,
    "mark_duplicate": incident_mark_duplicate,
}


# --- Severity, roles, impact --------------------------------------------------------------


@retry_on_conflict
@transaction.atomic
def incident_change_severity(
    incident: Incident, *, by, severity: SeverityLevel, reason: str,
    expected_version: int | None = None,
) -> Incident:
    require_perm(by, "incidents.change_incident_severity", "change an incident's severity")
    if not reason.strip():
        raise ActionRefused("Say why the severity changes.")
    incident = _lock(incident, expected_version)
    if not incident.is_open:
        raise ActionRefused(f"{incident.reference} is {incident.get_state_display().lower()}; "
                            "its severity can no longer change.")
    old = incident.severity
    if old == severity:
        raise ActionRefused(f"{incident.reference} is already {severity}.")
    incident.severity = severity
    _save(incident, by=by, reason=reason)
    direction = severity.change_from(old)
    timeline_record(
        incident,
        kind=TimelineEntry.Kind.SEVERITY,
        by=by,
        text=f"{display_name(by)} {direction} the severity from {old.code} to {severity.code}. "
             f"Reason: {reason}",
        is_key_event=True,
        data={"old": old.code, "new": severity.code},
    )
    signals.incident_severity_changed.send(
        sender=Incident, incident=incident, by=by, old=old, new=severity, reason=reason
    )
    return incident


@retry_on_conflict
@transaction.atomic
def incident_assign_role(
    incident: Incident, *, by, role: str, user, reason: str = "",
    expected_version: int | None = None,
) -> Incident:
    """Set the incident manager, communications lead or scribe, or a role a manager defined
    (by its code, e.g. "security-auditor"); user=None clears the role."""
    custom = None
    if role not in ROLE_FIELDS:
        custom = IncidentRole.objects.filter(code=role, incident_field="").first()
        if custom is None:
            raise ActionRefused(f"Unknown role “{role}”.")
    require_perm(by, "incidents.assign_incident_roles", "assign incident roles")
    label = ROLE_FIELDS[role] if custom is None else custom.name
    if user is not None and not roles.may_hold(user, custom or IncidentRole.objects.filter(
            incident_field=role).first()):
        # The staff pages, the admin and imports alike: no product manager as incident manager.
        raise ActionRefused(f"{display_name(user)} does not work incidents (no responder or "
                            f"incident manager group) and is not in the role's group, so "
                            f"cannot be {label.lower()}.")
    incident = _lock(incident, expected_version)
    if custom is None:
        old = getattr(incident, role)
        if old == user:
            return incident
        setattr(incident, role, user)
    else:
        old, _new = roles.assignment_set(incident, custom, user)
        if old == user:
            return incident
    _save(incident, by=by, reason=reason or f"{label} changed")
    if user is not None:
        incident.responders.add(user)
        participants_add(incident, [user], reason=IncidentParticipant.Reason.ROLE)
    text = (f"{display_name(by)} made {display_name(user)} {label.lower()}" if user
            else f"{display_name(by)} removed {display_name(old)} as {label.lower()}")
    if old is not None and user is not None:
        text += f" (was {display_name(old)})"
    timeline_record(
        incident,
        kind=TimelineEntry.Kind.ROLE,
        by=by,
        text=text + (f". Reason: {reason}" if reason else "."),
        data={"role": role, "old": old.pk if old else None, "new": user.pk if user else None},
    )
    signals.incident_role_changed.send(
        sender=Incident, incident=incident, by=by, role=role, old=old, new=user, reason=reason
    )
    return incident


@retry_on_conflict
@transaction.atomic
def incident_set_responder(incident: Incident, *, by, user, joined: bool) -> Incident:
    """Add or remove a responder. Anyone may join or leave themselves; adding or removing
    someone else needs the role-assignment permission."""
    if user != by:
        require_perm(by, "incidents.assign_incident_roles", "add or remove responders")
    elif joined:
        require_perm(by, "incidents.work_incident", "join an incident response")
    incident = _lock(incident)
    present = incident.responders.filter(pk=user.pk).exists()
    if joined == present:
        return incident
    (incident.responders.add if joined else incident.responders.remove)(user)
    if joined:
        participants_add(incident, [user], reason=IncidentParticipant.Reason.RESPONDER)
    verb = "joined" if joined else "left"
    text = (f"{display_name(user)} {verb} the response." if user == by
            else f"{display_name(by)} {'added' if joined else 'removed'} {display_name(user)} as responder.")
    timeline_record(incident, kind=TimelineEntry.Kind.ROLE, by=by, text=text,
                    data={"role": "responder", "user": user.pk, "joined": joined})
    return incident


@retry_on_conflict
@transaction.atomic
def incident_update_impact(
    incident: Incident, *, by, reason: str = "", expected_version: int | None = None,
    **changes: Any,
) -> Incident:
    """Change impact fields (and title/description); `services=` replaces the affected
    services, which the status page and the reports follow."""
    require_perm(by, "incidents.work_incident", "update an incident's impact")
    new_services = changes.pop("services", None)
    unknown = set(changes) - set(IMPACT_FIELDS) - {"title", "description"}
    if unknown:
        raise TypeError(f"Unknown impact fields: {sorted(unknown)}")
    if problems := impact_problems(changes):
        raise ActionRefused(problems)
    if "title" in changes:
        _require_single_line_title(changes["title"])
    incident = _lock(incident, expected_version)
    changed = {}
    for field, value in changes.items():
        old = getattr(incident, field)
        if old != value:
            changed[field] = (old, value)
            setattr(incident, field, value)
    if new_services is not None:
        old_services = set(incident.services.all())
        if old_services != set(new_services):
            changed["services"] = (_names(old_services), _names(new_services))
    if not changed:
        return incident
    _save(incident, by=by, reason=reason or "Impact updated")
    if "services" in changed:
        incident.services.set(new_services)
    names = ", ".join(Incident._meta.get_field(f).verbose_name for f in changed)
    timeline_record(
        incident,
        kind=TimelineEntry.Kind.IMPACT,
        by=by,
        text=f"{display_name(by)} updated {names}." + (f" Reason: {reason}" if reason else ""),
        data={f: [str(o), str(n)] for f, (o, n) in changed.items()},
    )
    signals.incident_impact_changed.send(
        sender=Incident, incident=incident, by=by, changed=changed, reason=reason
    )
    return incident


# --- Visibility -----------------------------------------------------------------------------


def participants_add(incident: Incident, users: Iterable, *, reason: str) -> None:
    """Make people participants (they may see the incident while it is restricted). Asking
    again is harmless; the first reason recorded stays."""
    participants_add_many([(incident, users, reason)])


def participants_add_many(additions: Iterable[tuple[Incident, Iterable, str]]) -> None:
    """`participants_add` for many incidents at once: (incident, users, reason) each."""
    now = timezone.now()
    rows = [IncidentParticipant(incident=incident, user=user, reason=reason, added_at=now)
            for incident, users, reason in additions
            for user in {u.pk: u for u in users if u is not None}.values()]
    if rows:
        IncidentParticipant.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def incident_set_visibility(
    incident: Incident, *, by, restricted: bool, groups: Iterable = (), reason: str,
    expected_version: int | None = None,
) -> Incident:
    """Restrict an incident to its participants (and `groups`), or open it to all staff.
    The person restricting it becomes a participant, so nobody locks themselves out."""
    from .selectors import can_see

    require_perm(by, "incidents.change_incident_visibility", "change who can see an incident")
    if not reason.strip():
        raise ActionRefused("Say why the visibility changes.")
    incident = _lock(incident, expected_version)
    if by is not None and not can_see(by, incident):
        raise ActionRefused("You cannot see this incident, so you cannot change who sees it.")
    groups = set(groups) if restricted else set()
    old_groups = set(incident.visible_to_groups.all())
    if incident.is_restricted == restricted and old_groups == groups:
        raise ActionRefused(f"{incident.reference} is already "
                            f"{'restricted that way' if restricted else 'visible to all staff'}.")
    was_restricted = incident.is_restricted
    incident.is_restricted = restricted
    _save(incident, by=by, reason=reason.strip())
    incident.visible_to_groups.set(groups)
    if restricted:
        participants_add(incident, [by], reason=IncidentParticipant.Reason.ADDED)
        names = ", ".join(sorted(group.name for group in groups))
        text = (f"{display_name(by)} restricted the incident to its participants"
                + (f" and {names}" if names else "")
                if not was_restricted else
                f"{display_name(by)} changed the groups that may see the incident to "
                f"{names or 'none (participants only)'}")
    else:
        text = f"{display_name(by)} opened the incident to all staff"
    timeline_record(
        incident, kind=TimelineEntry.Kind.VISIBILITY, by=by, is_key_event=True,
        text=f"{text}. Reason: {reason.strip()}",
        data={"restricted": restricted, "groups": sorted(group.pk for group in groups)},
    )
    return incident


# --- Notes --------------------------------------------------------------------------------


@retry_on_conflict
@transaction.atomic
def timeline_add_note(
    incident: Incident,
    *,
    by,
    text: str,
    occurred_at: datetime | None = None,
    is_key_event: bool = False,
) -> TimelineEntry:
    require_perm(by, "incidents.add_timelineentry", "add notes to the timeline")
    if not text.strip():
        raise ActionRefused("A note needs some text.")
    require_datetime_in_range(occurred_at, "time of the note")
    if occurred_at and occurred_at > timezone.now():
        raise ActionRefused("A note cannot be dated in the future.")
    return timeline_record(
        incident,
        kind=TimelineEntry.Kind.NOTE,
        by=by,
        text=text.strip(),
        occurred_at=occurred_at,
        is_key_event=is_key_event,
    )


@retry_on_conflict
@transaction.atomic
def timeline_entry_update(
    entry: TimelineEntry, *, by, occurred_at: datetime | None = None,
    is_key_event: bool | None = None, text: str | None = None, reason: str = "",
) -> TimelineEntry:
    """Correct a note's time or text, or (for any entry) the key-event flag."""
    require_perm(by, "incidents.change_timelineentry", "correct timeline entries")
    entry = TimelineEntry.objects.select_for_update().get(pk=entry.pk)
    if (text is not None or occurred_at is not None) and entry.kind != TimelineEntry.Kind.NOTE:
        raise ActionRefused("Only manual notes can be edited; automatic entries are a record.")
    if occurred_at is not None:
        require_datetime_in_range(occurred_at, "time of the note")
        if occurred_at > timezone.now():
            raise ActionRefused("A note cannot be dated in the future.")
        entry.occurred_at = occurred_at
    if text is not None:
        if not text.strip():
            raise ActionRefused("A note needs some text.")
        entry.text = text.strip()
    if is_key_event is not None:
        entry.is_key_event = is_key_event
    entry._history_user = by
    entry._change_reason = reason[:100]
    entry.save()
    return entry
