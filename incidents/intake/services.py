"""Every write of the alert intake.

The hot path has two steps. First, the repeats of a request (an alert still firing, with
its incident open or the alert suppressed, and the same content as stored) are counted in
one statement for the whole request (`_repeats_count`): nothing else about such an event
changes, so the rules, groups and incidents are not read. Every other event then goes through
`alert_event_apply`, one transaction per alert: insert the alert row if its identity is new
(the unique constraint decides, never a read-then-write), lock it, count the event with F(),
and only when the alert starts firing run the rules and attach it to an incident or declare
one through the incident services. Locks are always taken in the order alert -> group ->
incident, and several alerts only in the order of their ids, so concurrent senders queue
instead of deadlocking."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from escalation.notifications import notify
from escalation.roles import roles_page
from escalation.selectors import on_call_now
from escalation.services import incident_url
from incidents import services as incident_services
from incidents.errors import ActionRefused
from incidents.roles import holder as role_holder
from incidents.models import Incident, IncidentParticipant, SeverityLevel, TimelineEntry

from . import rules
from .formats import AlertEvent, digest
from .models import Alert, AlertGroup, Integration, RateWindow

# What an integration's account may do on the incidents it opens; nothing else.
ACCOUNT_PERMISSIONS = ("declare_incident", "work_incident", "reopen_incident",
                       "add_timelineentry", "change_incident_visibility",
                       "change_incident_severity")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(integration: Integration) -> str:
    secret = secrets.token_urlsafe(24)
    integration.secret_hash = secret_hash(secret)
    integration.secret_hint = secret[:6]
    integration.secret_rotated_at = timezone.now()
    return secret


def integration_prepare(integration: Integration) -> str:
    """Give an unsaved integration its account and secret; returns the secret, which is not
    stored anywhere and must be shown to the manager now."""
    User = get_user_model()
    account = User(username=f"integration-{integration.public_id.hex[:16]}",
                   first_name=integration.name[:150], is_active=True)
    account.set_unusable_password()
    account.save()
    account.user_permissions.set(Permission.objects.filter(
        content_type__app_label="incidents", codename__in=ACCOUNT_PERMISSIONS))
    integration.account = account
    return _new_secret(integration)


def integration_prepare_from_file(integration: Integration) -> str:
    """An integration a procedure file creates: files carry no secrets, so it gets a fresh one
    that nobody knows and starts switched off; a manager rotates its secret in the admin (and
    sees it then) before switching it on."""
    integration_prepare(integration)
    integration.is_enabled = False
    return "created switched off with a new secret: rotate it in the admin, then switch it on"


@transaction.atomic
def integration_create(*, by, name: str, kind: str, **fields) -> tuple[Integration, str]:
    """A new integration and its secret (returned once)."""
    services = fields.pop("default_services", ())
    integration = Integration(name=name, kind=kind, **fields)
    secret = integration_prepare(integration)
    integration.full_clean(exclude=["account"])
    integration._history_user = by
    integration._change_reason = "Created"
    integration.save()
    integration.default_services.set(services)
    return integration, secret


@transaction.atomic
def integration_rotate_secret(integration: Integration, *, by) -> str:
    """A new secret replaces the old one at once; returns it (shown once)."""
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    secret = _new_secret(integration)
    integration._history_user = by
    integration._change_reason = "Secret rotated"
    integration.save()
    return secret


def rate_limit_wait(integration: Integration, *, now: datetime | None = None) -> int:
    """Count one request; 0 if it may proceed, else the seconds until the next minute.

    One UPDATE in the common case; the row is created on an integration's first request."""
    now = now or timezone.now()
    minute = int(now.timestamp() // 60)
    limit = integration.rate_limit_per_minute
    wait = max(60 - now.second, 1)
    if limit == 0:
        return wait
    rows = RateWindow.objects.filter(pk=integration.pk)
    for _ in range(2):
        if rows.filter(window_start=minute, count__lt=limit).update(count=F("count") + 1):
            return 0
        if rows.exclude(window_start=minute).update(window_start=minute, count=1):
            return 0
        # No row yet (or this minute is used up): create it; if another request just did,
        # count against its row on the second pass.
        _, created = RateWindow.objects.get_or_create(
            integration=integration, defaults={"window_start": minute, "count": 1})
        if created:
            return 0
    return wait


# --- Receiving alerts ---------------------------------------------------------------------


@dataclass
class Outcome:
    identity: str
    action: str  # declared | joined | repeat | suppressed | acknowledged | resolved | recorded
    incident_reference: str | None  # the alert's incident after the event, if it has one


def _outcome(alert: Alert, action: str) -> Outcome:
    return Outcome(alert.identity, action, alert.incident.reference if alert.incident else None)


def alerts_receive(integration: Integration, events: list[AlertEvent]) -> list[Outcome]:
    """Apply each event of one request, in order for each alert: its leading repeats are
    counted together first (one statement), then every other event is its own transaction
    (holding several alert locks for a whole declaration could deadlock two senders)."""
    counted = _repeats_count(integration, events)
    return [counted.get(index) or alert_event_apply(integration, event)
            for index, event in enumerate(events)]


def _content(event: AlertEvent) -> tuple:
    return (event.title, event.labels, event.annotations, {**event.values, **event.details},
            event.links)


def _leading_repeats(events: list[AlertEvent]) -> dict[str, list[int]]:
    """For each alert, the positions of its first firing events in the request while their
    content stays the same: those may be counted together if the alert is a firing repeat.
    Whatever follows for that alert (a resolve, new content) is applied after them, in order."""
    runs: dict[str, list[int]] = {}
    contents: dict[str, tuple] = {}
    closed: set[str] = set()
    for index, event in enumerate(events):
        identity = event.identity
        if identity in closed:
            continue
        if event.status == Alert.State.FIRING and contents.get(identity, _content(event)) \
                == _content(event):
            contents[identity] = _content(event)
            runs.setdefault(identity, []).append(index)
        else:
            closed.add(identity)
    return runs


# A firing repeat changes only the count and last seen time: the row must already be counted
# (count > 0: committed by the event that created it), not resolved, with the content this
# event carries (an empty title or links keep the stored ones, as `alert_event_apply` does),
# and either suppressed or with an open incident. Rows are locked in id order, so two requests
# with overlapping alerts queue instead of deadlocking. A row locked after waiting is
# rechecked at its newest version; the incident is read from the statement's snapshot, so an
# incident declared meanwhile is not seen and that alert takes the full path, never a stale
# one. Every row this does not count takes the full path.
_REPEATS_SQL = """
WITH event(identity, n, title, labels, annotations, details, links) AS (VALUES {values}),
counted AS (
    SELECT alert.id, event.n FROM intake_alert alert JOIN event USING (identity)
    WHERE alert.integration_id = %s AND alert.count > 0 AND alert.state <> 'resolved'
      AND (event.title = '' OR alert.title = event.title)
      AND alert.labels = event.labels AND alert.annotations = event.annotations
      AND alert.details = event.details
      AND (event.links = '[]'::jsonb OR alert.links = event.links)
      AND (alert.is_suppressed OR EXISTS (
          SELECT 1 FROM incidents_incident incident
          WHERE incident.id = alert.incident_id AND incident.state IN ({open_states})))
    ORDER BY alert.id FOR UPDATE OF alert
)
UPDATE intake_alert alert SET count = alert.count + counted.n, last_seen_at = %s
FROM counted WHERE alert.id = counted.id
RETURNING alert.identity,
    (SELECT reference FROM incidents_incident WHERE id = alert.incident_id)
"""


def _repeats_count(integration: Integration, events: list[AlertEvent],
                   *, now: datetime | None = None) -> dict[int, Outcome]:
    """Count the leading firing repeats of each alert of a request in one statement; returns
    the outcomes of the events it counted, by their position in the request."""
    runs = _leading_repeats(events)
    if not runs:
        return {}
    now = now or timezone.now()
    rows, params = [], []
    for identity, positions in runs.items():
        title, labels, annotations, details, links = _content(events[positions[0]])
        rows.append("(%s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s::jsonb)")
        params += [identity, len(positions), title, json.dumps(labels), json.dumps(annotations),
                   json.dumps(details), json.dumps(links)]
    open_states = ", ".join(["%s"] * len(Incident.OPEN_STATES))
    sql = _REPEATS_SQL.format(values=", ".join(rows), open_states=open_states)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, integration.pk, *Incident.OPEN_STATES, now])
        counted = cursor.fetchall()
    outcomes = {}
    for identity, reference in counted:
        for index in runs[identity]:
            outcomes[index] = Outcome(identity, "repeat", reference)
    return outcomes


@transaction.atomic
def alert_event_apply(integration: Integration, event: AlertEvent,
                      *, now: datetime | None = None) -> Outcome:
    now = now or timezone.now()
    alert = _locked_alert(integration, event.identity)
    if alert is None:
        # New identity: the unique constraint lets exactly one concurrent insert win; the
        # others (and this one) then wait on the row lock and see it.
        Alert.objects.bulk_create(
            [Alert(integration=integration, identity=event.identity, state=Alert.State.RESOLVED,
                   title=event.title, first_seen_at=now, last_seen_at=now)],
            ignore_conflicts=True,
        )
        alert = _locked_alert(integration, event.identity)
    previous_count, previous = alert.count, alert.state
    is_new = previous_count == 0
    changes = {"count": F("count") + 1, "last_seen_at": now}
    if is_new or event.status != Alert.State.RESOLVED or previous != Alert.State.RESOLVED:
        content = {"title": event.title or alert.title, "labels": event.labels,
                   "annotations": event.annotations,
                   "details": {**event.values, **event.details},
                   "links": event.links or alert.links}
        # A repeat usually carries the same content: write only what changed.
        changes.update({name: value for name, value in content.items()
                        if is_new or getattr(alert, name) != value})
    Alert.objects.filter(pk=alert.pk).update(**changes)
    # Exact without re-reading: the row lock is held until commit.
    for name, value in changes.items():
        setattr(alert, name, value)
    alert.count = previous_count + 1

    if event.status == Alert.State.RESOLVED:
        return _resolve(integration, alert, event, previous, now)
    if event.status == Alert.State.ACKNOWLEDGED:
        return _acknowledge(integration, alert, now)
    still_firing = not is_new and previous != Alert.State.RESOLVED
    if still_firing and (alert.is_suppressed or (alert.incident and alert.incident.is_open)):
        return _outcome(alert, "repeat")
    return _fire(integration, alert, event, refire=previous == Alert.State.RESOLVED
                 and not is_new, now=now)


def _locked_alert(integration: Integration, identity: str) -> Alert | None:
    # No select_related here: a row lock waited for is re-read at its newest version, but
    # rows joined to it are not, so a joined incident could be the stale "none" of before the
    # other sender declared one. The incident is read after the lock, by a new statement.
    try:
        return Alert.objects.select_for_update().get(integration=integration, identity=identity)
    except Alert.DoesNotExist:
        return None


def _set(alert: Alert, **fields) -> None:
    for name, value in fields.items():
        setattr(alert, name, value)
    Alert.objects.filter(pk=alert.pk).update(**fields)


def _alert_text(alert: Alert, verb: str) -> str:
    return f"Alert {verb}: {alert.title or alert.identity}"


def _alert_data(alert: Alert, event: str, integration: Integration) -> dict:
    return {"alert": alert.pk, "event": event, "integration": integration.name,
            "url": alert.source_url}


def _fire(integration: Integration, alert: Alert, event: AlertEvent, *, refire: bool,
          now: datetime) -> Outcome:
    decision = rules.decide(integration, event.view())
    last_resolved_at = alert.resolved_at
    _set(alert, state=Alert.State.FIRING, resolved_at=None, rule=decision.rule,
         is_suppressed=decision.suppress, starts_at=event.starts_at or now)
    if decision.suppress:
        return _outcome(alert, "suppressed")

    incident, how = _recent_incident(integration, alert, now=now,
                                     resolved_at=last_resolved_at if refire else None)
    group = _group_for(integration, event, now)
    if incident is None and group is not None and _group_is_current(integration, group, event,
                                                                    now):
        incident, how = group.incident, "joined (same alert group)"
    action = "joined"
    if incident is None:
        incident = _declare(integration, alert, event, decision, now)
        how, action = "", "declared"
    else:
        incident = _raise_to_rule_severity(integration, alert, incident, decision, now)
    if group is not None:
        if action == "declared" or group.incident is None or not group.incident.is_open:
            group.incident = incident
        group.last_alert_at = now
        group.save(update_fields=["incident", "last_alert_at"])
    _set(alert, incident=incident, group=group)
    incident_services.timeline_record(
        incident, kind=TimelineEntry.Kind.ALERT, by=integration.account,
        text=_alert_text(alert, "fired") + (f" — {how}" if how else ""),
        occurred_at=min(event.starts_at or now, now), is_key_event=action == "declared",
        data=_alert_data(alert, "fired", integration),
    )
    return _outcome(alert, action)


def _recent_incident(integration: Integration, alert: Alert, *, now: datetime,
                     resolved_at: datetime | None):
    """The alert's own incident if it is still open; if a person resolved it and the alert,
    resolved at `resolved_at`, fires again within the flap window, that incident reopened."""
    incident = alert.incident
    if incident is None:
        return None, ""
    if incident.is_open:
        return incident, "fired again while its incident is open"
    flapping = (incident.state == Incident.State.RESOLVED and resolved_at is not None
                and resolved_at >= now - integration.flap_window)
    if not flapping:
        return None, ""
    try:
        incident = incident_services.incident_reopen(
            incident, by=integration.account,
            reason=f"Alert “{alert.title}” fired again within "
                   f"{int(integration.flap_window.total_seconds() // 60)} min of resolving.")
    except ActionRefused:
        return None, ""
    return incident, "fired again soon after resolving (flapping)"


def _group_key(integration: Integration, event: AlertEvent) -> str:
    names = integration.group_labels
    if names:
        values = [event.labels.get(name, "") for name in names]
        return "labels:" + ",".join(f"{n}={v}" for n, v in zip(names, values)) \
            if any(values) else ""
    return f"group:{event.group_key}" if event.group_key else ""


def _group_for(integration: Integration, event: AlertEvent, now: datetime) -> AlertGroup | None:
    key = _group_key(integration, event)
    if not key:
        return None
    key_hash = digest(key)
    AlertGroup.objects.bulk_create(
        [AlertGroup(integration=integration, key_hash=key_hash, key=key, last_alert_at=now)],
        ignore_conflicts=True,
    )
    # Locked without a join, for the same reason as _locked_alert.
    return AlertGroup.objects.select_for_update().get(integration=integration, key_hash=key_hash)


def _group_is_current(integration: Integration, group: AlertGroup, event: AlertEvent,
                      now: datetime) -> bool:
    """Alertmanager's own groups last as long as their incident is open; label groups only
    within the integration's grouping window of the group's last alert."""
    if group.incident is None or not group.incident.is_open:
        return False
    if group.key.startswith("group:"):
        return True
    return group.last_alert_at >= now - integration.group_window


def _declare(integration: Integration, alert: Alert, event: AlertEvent,
             decision: rules.Decision, now: datetime) -> Incident:
    severity = decision.severity or integration.default_severity
    if severity is None or not severity.is_active:  # none set, or retired by a procedure switch
        severity = SeverityLevel.objects.active().order_by("-rank").first()
    incident_type = decision.incident_type or integration.default_type
    typed = {"incident_type": incident_type} if incident_type and incident_type.is_active else {}
    services = decision.services or list(integration.default_services.all())
    description = "\n\n".join(filter(None, [
        event.annotations.get("description", ""),
        f"Opened by {integration.name} from alert {alert.identity}.",
        alert.source_url,
    ]))
    incident = incident_services.incident_declare(
        by=integration.account, title=(decision.title or event.title or "Alert")[:200],
        severity=severity, description=description, services=services,
        detected_at=min(event.starts_at or now, now), **typed,
    )
    if decision.restrict:
        incident = incident_services.incident_set_visibility(
            incident, by=integration.account, restricted=True,
            groups=decision.restrict_to_groups,
            reason=f"Auto-triage rule “{decision.rule}” restricts it.")
    _page_as_the_rule_says(integration, decision, incident, now)
    return incident


def _raise_to_rule_severity(integration: Integration, alert: Alert, incident: Incident,
                            decision: rules.Decision, now: datetime) -> Incident:
    """A worse alert joining an open incident raises it to the severity its rule sets, and pages
    whom the rule pages, as if it had come first. Never lowers it: a milder alert says nothing
    about the rest, and a person may have raised it on purpose."""
    wanted = decision.severity
    if wanted is None or not wanted.is_active or wanted.rank >= incident.severity.rank:
        return incident
    incident = incident_services.incident_change_severity(
        incident, by=integration.account, severity=wanted,
        reason=f"Alert “{alert.title or alert.identity}” joined; the auto-triage rule "
               f"“{decision.rule}” sets {wanted.code}.")
    _page_as_the_rule_says(integration, decision, incident, now)
    return incident


def _page_as_the_rule_says(integration: Integration, decision: rules.Decision,
                           incident: Incident, now: datetime) -> None:
    """Page the rule's rotas and groups, and the roles it names that nobody holds yet."""
    people = _paged_people(decision, now)
    if incident.is_restricted:
        # Whoever is paged must be able to open what they are paged about.
        incident_services.participants_add(incident, people,
                                           reason=IncidentParticipant.Reason.PAGED)
    _page(decision, incident, people)
    unheld = [role for role in decision.page_roles if role_holder(incident, role) is None]
    if unheld:
        roles_page(incident, unheld, now=now, by=integration.account,
                   why=f"auto-triage rule “{decision.rule}”")


def _paged_people(decision: rules.Decision, now: datetime) -> list:
    people = [on_call_now(rota, now) for rota in decision.page_rotas]
    for group in decision.page_groups:
        people.extend(group.user_set.filter(is_active=True))
    return [person for person in people if person is not None]


def _page(decision: rules.Decision, incident: Incident, people: list) -> None:
    if people:
        notify(subject=incident, reason="intake.page", recipients=people,
               title=f"[{incident.severity.code}] {incident.reference}: {incident.title}",
               body=f"Paged by the auto-triage rule “{decision.rule}”.",
               url=incident_url(incident), incident=incident)


def _acknowledge(integration: Integration, alert: Alert, now: datetime) -> Outcome:
    _set(alert, state=Alert.State.ACKNOWLEDGED)
    if alert.incident is not None and alert.incident.is_open:
        incident_services.incident_acknowledge(
            alert.incident, by=integration.account,
            reason=f"Acknowledged at the source ({integration.name}).")
    return _outcome(alert, "acknowledged")


def _resolve(integration: Integration, alert: Alert, event: AlertEvent, previous: str,
             now: datetime) -> Outcome:
    if previous == Alert.State.RESOLVED:
        return _outcome(alert, "recorded")
    _set(alert, state=Alert.State.RESOLVED, resolved_at=min(event.ends_at or now, now))
    if alert.incident is None or not alert.incident.is_open:
        return _outcome(alert, "resolved")
    # The incident lock serialises the last alerts of an incident resolving at once: whoever
    # locks second sees the first one's commit and is the one that finds none still firing.
    incident = Incident.objects.select_for_update(no_key=True).get(pk=alert.incident_id)
    incident_services.timeline_record(
        incident, kind=TimelineEntry.Kind.ALERT, by=integration.account,
        text=f"{_alert_text(alert, 'resolved')} (received {alert.count} times)",
        occurred_at=alert.resolved_at, data=_alert_data(alert, "resolved", integration),
    )
    if not Alert.objects.filter(incident=incident).exclude(state=Alert.State.RESOLVED).exists():
        _all_resolved(integration, incident)
    return _outcome(alert, "resolved")


def _all_resolved(integration: Integration, incident: Incident) -> None:
    reason = "Every alert of this incident is resolved."
    if (integration.when_all_resolved == Integration.WhenAllResolved.MITIGATE
            and incident.state in (Incident.State.TRIAGED, Incident.State.INVESTIGATING)):
        try:
            incident_services.incident_mitigate(incident, by=integration.account, reason=reason)
            return
        except ActionRefused as refused:
            reason += " Not marked mitigated: " + " ".join(refused.reasons)
    elif integration.when_all_resolved == Integration.WhenAllResolved.MITIGATE:
        reason += (f" Not marked mitigated: it is {incident.get_state_display().lower()}; "
                   "a person triages it first.")
    incident_services.timeline_record(
        incident, kind=TimelineEntry.Kind.ALERT, by=integration.account, text=reason,
        is_key_event=True, data={"all_alerts_resolved": True},
    )
