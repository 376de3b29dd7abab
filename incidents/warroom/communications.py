"""Stakeholder communication: who hears about an incident, sending an update through the
notification outbox, and the cadence timers that remind the communications lead and the
incident manager when an audience is waiting for news."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from escalation.deadlines import deadline_cancel, deadline_schedule, register
from escalation.models import Deadline
from escalation.notifications import notify
from incidents.errors import ActionRefused
from incidents.models import (
    AudienceSubscription,
    CommunicationCadence,
    Incident,
    MessageTemplate,
    StatusUpdate,
    TimelineEntry,
)
from incidents.models.communications import Audience
from incidents.people import display_name
from incidents.services import timeline_record

from .rendering import MessageRenderError, format_datetime, message_context, render_text

CADENCE_KIND = "comms.update_due"
CADENCE_KEY_PREFIX = "comms."


def cadence_key(audience: str) -> str:
    return f"{CADENCE_KEY_PREFIX}{audience}"


def can_send_updates(user, incident: Incident) -> bool:
    """Managers with the permission, and whoever leads this incident or its communications."""
    return user.has_perm("incidents.add_statusupdate") or user.pk in (
        incident.communications_lead_id, incident.incident_manager_id)


# --- Recipients ---------------------------------------------------------------------------


def audience_recipients(incident: Incident, audience: str) -> list:
    """The active people subscribed to `audience` for this incident (directly or through a
    group; by service and minimum severity), plus the incident's own roster for the team."""
    User = get_user_model()
    service_ids = [service.pk for service in incident.services.all()]
    subscriptions = AudienceSubscription.objects.filter(audience=audience).filter(
        Q(service__isnull=True) | Q(service__in=service_ids)
    ).filter(
        Q(min_severity__isnull=True) | Q(min_severity__rank__gte=incident.severity.rank)
    )
    user_ids = set()
    group_ids = set()
    for subscription in subscriptions:
        if subscription.user_id:
            user_ids.add(subscription.user_id)
        if subscription.group_id:
            group_ids.add(subscription.group_id)
    query = Q(pk__in=user_ids) | Q(groups__in=group_ids)
    if audience == Audience.TEAM:
        roster = {incident.incident_manager_id, incident.communications_lead_id,
                  incident.scribe_id} - {None}
        query |= Q(pk__in=roster) | Q(incidents_responding=incident)
    return list(User.objects.filter(query, is_active=True).distinct().order_by("username"))


# --- Cadence ------------------------------------------------------------------------------


def applicable_cadences(incident: Incident) -> list[CommunicationCadence]:
    cadences = CommunicationCadence.objects.filter(severity=incident.severity_id, is_active=True)
    return [c for c in cadences if incident.is_customer_facing or not c.only_if_customer_facing]


def cadence_for(incident: Incident, audience: str) -> CommunicationCadence | None:
    return next((c for c in applicable_cadences(incident) if c.audience == audience), None)


def next_update_due(incident: Incident, audience: str) -> datetime | None:
    deadline = (Deadline.objects.filter(incident=incident, key=cadence_key(audience),
                                        fired_at__isnull=True, cancelled_at__isnull=True)
                .order_by("due_at").first())
    return deadline.due_at if deadline else None


def cadence_plan(incident: Incident, *, since: datetime | None = None) -> list[Deadline]:
    """(Re)schedule one reminder per applicable cadence; drop those no longer applicable.

    An audience's next update is due one interval after the last update it got, or, before
    any, one interval after `since` (the declaration, or a severity change), or its "first
    update within" after detection if that is sooner."""
    since = since or incident.declared_at
    deadline_cancel(subject=incident, key_prefix=CADENCE_KEY_PREFIX)
    if not incident.is_open:
        return []
    last_sent = {}
    for audience, sent_at in (StatusUpdate.objects.filter(incident=incident)
                              .order_by("sent_at").values_list("audience", "sent_at")):
        last_sent[audience] = sent_at
    scheduled = []
    for cadence in applicable_cadences(incident):
        if cadence.audience in last_sent:
            due = max(last_sent[cadence.audience], since) + cadence.interval
        else:
            due = since + cadence.interval
            if cadence.first_update_within is not None:
                # Counted from detection at declaration (it may already be late then); from
                # the change when the severity is raised later.
                start = incident.detected_at if since <= incident.declared_at else since
                due = min(due, max(start + cadence.first_update_within, since))
        scheduled.append(deadline_schedule(
            subject=incident, key=cadence_key(cadence.audience), kind=CADENCE_KIND,
            due_at=due, incident=incident, payload={"audience": cadence.audience},
        ))
    return scheduled


def cadence_stop(incident: Incident) -> int:
    return deadline_cancel(subject=incident, key_prefix=CADENCE_KEY_PREFIX)


@register(CADENCE_KIND)
def remind_update_overdue(deadline: Deadline) -> None:
    """An audience waited a whole interval without news: remind the people responsible.
    Fires once; the next reminder is scheduled only when an update is sent."""
    incident = Incident.objects.select_related(
        "severity", "incident_manager", "communications_lead").get(pk=deadline.object_id)
    if not incident.is_open:
        return
    audience = deadline.payload.get("audience", deadline.key.removeprefix(CADENCE_KEY_PREFIX))
    label = Audience(audience).label if audience in Audience.values else audience
    recipients = [u for u in (incident.communications_lead, incident.incident_manager) if u]
    title = f"{incident.reference}: the update for {label.lower()} is overdue"
    body = (f"An update for {label.lower()} on {incident.reference} “{incident.title}” was due "
            f"at {format_datetime(deadline.due_at)}. Send one from the war room.")
    notify(
        subject=incident, reason=f"comms.update_overdue.{audience}.{deadline.pk}",
        recipients=recipients, title=title, body=body,
        url=reverse("warroom:room", kwargs={"reference": incident.reference}), incident=incident,
    )
    timeline_record(
        incident, kind=TimelineEntry.Kind.SLA,
        text=f"The update for {label.lower()} was due at {format_datetime(deadline.due_at)} "
             "and has not been sent; the communications lead and incident manager were reminded.",
        data={"audience": audience, "deadline": deadline.pk},
    )


@dataclass
class CadenceState:
    audience: str
    label: str
    due_at: datetime | None
    is_overdue: bool


def cadence_status(incident: Incident, *, now: datetime | None = None) -> list[CadenceState]:
    """Per audience with a cadence timer: when the next update is due and whether it is late.
    One query: the newest comms timer per audience decides."""
    now = now or timezone.now()
    latest = {}
    for deadline in (Deadline.objects.filter(incident=incident, key__startswith=CADENCE_KEY_PREFIX)
                     .order_by("created_at", "id")):
        latest[deadline.key] = deadline
    states = []
    for key, deadline in latest.items():
        if deadline.cancelled_at is not None:
            continue
        audience = key.removeprefix(CADENCE_KEY_PREFIX)
        states.append(CadenceState(
            audience=audience,
            label=Audience(audience).label if audience in Audience.values else audience,
            due_at=deadline.due_at,
            is_overdue=deadline.fired_at is not None or deadline.due_at <= now,
        ))
    return sorted(states, key=lambda s: s.due_at)


# --- Compose and send ---------------------------------------------------------------------


def templates_for(incident: Incident):
    """Active templates offered for this incident: its severity's first, then general ones."""
    return (MessageTemplate.objects.filter(is_active=True)
            .filter(Q(severity__isnull=True) | Q(severity=incident.severity_id))
            .order_by("audience", "stage", "severity", "name"))


def incident_message_context(incident: Incident, audience: str) -> dict[str, str]:
    """What a template for `audience` may show: the incident's data and the audience's
    next update time and cadence."""
    cadence = cadence_for(incident, audience)
    return message_context(
        incident,
        next_update=next_update_due(incident, audience),
        update_cadence=cadence.interval if cadence else incident.severity.update_cadence,
    )


def message_render(template: MessageTemplate, incident: Incident, *, audience: str | None = None
                   ) -> tuple[str, str]:
    """Subject and body of `template` filled with the incident's data.
    Raises MessageRenderError (with the reason) when a manager's template is broken."""
    context = incident_message_context(incident, audience or template.audience)
    subject = " ".join(render_text(template.subject, context).split())
    body = render_text(template.body, context).strip()
    return subject, body


@transaction.atomic
def status_update_send(
    incident: Incident, *, by, audience: str, stage: str, subject: str, body: str,
    template: MessageTemplate | None = None, is_public: bool = False,
) -> StatusUpdate:
    """Keep the update with its recipients, queue one notification per recipient and
    channel, put it on the timeline and restart the audience's cadence."""
    incident = (Incident.objects.select_for_update(no_key=True, of=("self",))
                .select_related("severity").get(pk=incident.pk))
    if not can_send_updates(by, incident):
        raise ActionRefused("Only the incident manager, the communications lead or a manager "
                            "may send status updates.")
    reasons = []
    if audience not in Audience.values:
        reasons.append("Choose an audience.")
    if not subject.strip():
        reasons.append("The message needs a subject.")
    if not body.strip():
        reasons.append("The message needs a body.")
    if is_public and audience != Audience.CUSTOMER:
        reasons.append("Only customer updates can be published on the status page.")
    if reasons:
        raise ActionRefused(reasons)
    recipients = audience_recipients(incident, audience)
    update = StatusUpdate.objects.create(
        incident=incident, audience=audience, stage=stage, template=template,
        subject=subject.strip()[:255], body=body.strip(), sent_by=by, is_public=is_public,
    )
    update.recipients.set(recipients)
    notify(
        subject=update, reason="comms.status_update", recipients=recipients,
        title=update.subject, body=update.body,
        url=reverse("warroom:room", kwargs={"reference": incident.reference}), incident=incident,
    )
    label = Audience(audience).label.lower()
    text = (f"{display_name(by)} sent the {label} {update.get_stage_display().lower()} "
            f"“{update.subject}” to {len(recipients)} "
            f"{'recipient' if len(recipients) == 1 else 'recipients'}")
    timeline_record(
        incident, kind=TimelineEntry.Kind.MESSAGE, by=by, occurred_at=update.sent_at,
        text=text + (", published on the status page." if is_public else "."),
        is_key_event=stage != "update",
        data={"status_update": update.pk, "audience": audience, "stage": stage,
              "public": is_public},
    )
    cadence = cadence_for(incident, audience)
    if cadence and incident.is_open:
        deadline_schedule(
            subject=incident, key=cadence_key(audience), kind=CADENCE_KIND,
            due_at=update.sent_at + cadence.interval, incident=incident,
            payload={"audience": audience},
        )
    return update


__all__ = [
    "MessageRenderError", "audience_recipients", "cadence_plan", "cadence_status", "cadence_stop",
    "can_send_updates", "message_render", "status_update_send", "templates_for",
]
