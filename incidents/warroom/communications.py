"""Stakeholder communication: who hears about an incident (people with a login, and contacts
without one who get e-mail only), sending an update through the notification outbox, and the
cadence timers (24x7 or business hours) that remind the communications lead and the incident
manager when an audience is waiting for news."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.urls import reverse
from django.utils import timezone

from escalation import sla
from escalation.deadlines import deadline_cancel, deadline_schedule, register
from escalation.models import Deadline
from escalation.notifications import notify, notify_addresses
from escalation.selectors import default_working_calendar
from incidents.errors import ActionRefused
from incidents.models import (
    Audience,
    AudienceSubscription,
    CommunicationCadence,
    Contact,
    Incident,
    MessageTemplate,
    StatusUpdate,
    TimelineEntry,
)
from incidents.models.communications import Stage
from incidents.people import display_name
from incidents.services import timeline_record

from .rendering import MessageRenderError, format_datetime, message_context, render_text

CADENCE_KIND = "comms.update_due"
CADENCE_KEY_PREFIX = "comms."
STAFF_LINK_REPLACEMENT = "(internal link removed)"


def cadence_key(cadence: CommunicationCadence, audience_slug: str) -> str:
    return f"{CADENCE_KEY_PREFIX}{cadence.slug}.{audience_slug}"


def can_send_updates(user, incident: Incident) -> bool:
    """Managers with the permission, and whoever leads this incident or its communications."""
    return user.has_perm("incidents.add_statusupdate") or user.pk in (
        incident.communications_lead_id, incident.incident_manager_id)


def audience_named(value) -> Audience | None:
    """An active audience from its row or its slug."""
    if isinstance(value, Audience):
        return value
    return Audience.objects.filter(slug=value, is_active=True).first() if value else None


def audience_label(slug: str) -> str:
    audience = Audience.objects.filter(slug=slug).only("name").first()
    return audience.name if audience else slug


# --- Recipients ---------------------------------------------------------------------------


def _subscriptions(incident: Incident, audience: str):
    service_ids = [service.pk for service in incident.services.all()]
    return AudienceSubscription.objects.filter(audience=audience).filter(
        Q(service__isnull=True) | Q(service__in=service_ids)
    ).filter(
        Q(min_severity__isnull=True) | Q(min_severity__rank__gte=incident.severity.rank)
    )


def audience_recipients(incident: Incident, audience) -> list:
    """The active people subscribed to `audience` for this incident (directly or through a
    group; by service and minimum severity), plus the incident's own roster when the
    audience includes it."""
    audience = audience_named(audience)
    if audience is None:
        return []
    User = get_user_model()
    user_ids, group_ids = set(), set()
    for subscription in _subscriptions(incident, audience.slug):
        if subscription.user_id:
            user_ids.add(subscription.user_id)
        if subscription.group_id:
            group_ids.add(subscription.group_id)
    query = Q(pk__in=user_ids) | Q(groups__in=group_ids)
    if audience.includes_incident_team:
        roster = {incident.incident_manager_id, incident.communications_lead_id,
                  incident.scribe_id} - {None}
        query |= Q(pk__in=roster) | Q(incidents_responding=incident)
    return list(User.objects.filter(query, is_active=True).distinct().order_by("username"))


def audience_contacts(incident: Incident, audience) -> list[Contact]:
    """The active contacts (people without a login) subscribed to `audience` for this incident."""
    audience = audience_named(audience)
    if audience is None:
        return []
    contact_ids = _subscriptions(incident, audience.slug).filter(
        contact__isnull=False).values("contact_id")
    return list(Contact.objects.filter(pk__in=contact_ids, is_active=True)
                .order_by("organisation", "name"))


def strip_staff_links(text: str) -> str:
    """Contacts get no link into the staff pages: every address on this site except the
    public status page is replaced (a template's {{ war_room_url }} or a pasted link)."""
    site = re.escape(settings.SITE_URL.rstrip("/"))
    pattern = re.compile(site + r"(?!/status(?:/|\b))[^\s)>\]\"']*")
    return pattern.sub(STAFF_LINK_REPLACEMENT, text)


# --- Cadence ------------------------------------------------------------------------------


def applicable_cadences(incident: Incident) -> list[CommunicationCadence]:
    """The active cadences of the incident's severity, for its type or every type."""
    cadences = (CommunicationCadence.objects.filter(severity=incident.severity_id, is_active=True)
                .filter(Q(incident_type__isnull=True) | Q(incident_type=incident.incident_type_id))
                .prefetch_related("audiences").order_by("slug"))
    return [c for c in cadences if incident.is_customer_facing or not c.only_if_customer_facing]


def _audiences_of(cadence: CommunicationCadence) -> list[Audience]:
    return [audience for audience in cadence.audiences.all() if audience.is_active]


def cadence_for(incident: Incident, audience: str) -> CommunicationCadence | None:
    """The applicable cadence that asks most often for news to `audience`."""
    matching = [c for c in applicable_cadences(incident)
                if any(a.slug == audience for a in _audiences_of(c))]
    return min(matching, key=lambda c: c.interval, default=None)


def cadence_add(cadence: CommunicationCadence, start: datetime, duration: timedelta) -> datetime:
    """`start` plus `duration` on the cadence's clock: real time, or the default business
    calendar's working hours (escalation.sla; a whole day counts as one working day)."""
    if cadence.business_hours_only:
        return sla.add_time(start, duration, clock=sla.BUSINESS_HOURS,
                            calendar=default_working_calendar())
    return start + duration


def next_update_due(incident: Incident, audience: str) -> datetime | None:
    pending = [d for d in Deadline.objects.filter(
        incident=incident, key__startswith=CADENCE_KEY_PREFIX, fired_at__isnull=True,
        cancelled_at__isnull=True).order_by("due_at") if _deadline_audience(d) == audience]
    return pending[0].due_at if pending else None


def _deadline_audience(deadline: Deadline) -> str:
    # Every cadence timer has carried its audience in its payload since the first one.
    return deadline.payload["audience"]


def _schedule(incident: Incident, cadence: CommunicationCadence, audience: str,
              due: datetime, *, replace: bool = True) -> Deadline:
    return deadline_schedule(
        subject=incident, key=cadence_key(cadence, audience), kind=CADENCE_KIND, due_at=due,
        incident=incident, payload={"audience": audience, "cadence": cadence.slug},
        replace=replace,
    )


def cadence_plan(incident: Incident, *, since: datetime | None = None,
                 new_incident: bool = False) -> list[Deadline]:
    """(Re)schedule one reminder per applicable cadence and audience; drop the others.

    An audience's next update is due one interval after the last update it got, or, before
    any, one interval after `since` (the declaration, or a severity change), or its "first
    update within" after detection if that is sooner."""
    since = since or incident.declared_at
    if not new_incident:  # one being declared has no timers and has sent no updates yet
        deadline_cancel(subject=incident, key_prefix=CADENCE_KEY_PREFIX)
    if not incident.is_open:
        return []
    last_sent = {} if new_incident else dict(
        StatusUpdate.objects.filter(incident=incident).values_list("audience")
        .annotate(last=Max("sent_at")).values_list("audience", "last"))
    scheduled = []
    for cadence in applicable_cadences(incident):
        for audience in _audiences_of(cadence):
            if audience.slug in last_sent:
                due = cadence_add(cadence, max(last_sent[audience.slug], since), cadence.interval)
            else:
                due = cadence_add(cadence, since, cadence.interval)
                if cadence.first_update_within is not None:
                    # Counted from detection at declaration (it may already be late then); from
                    # the change when the severity is raised later.
                    start = incident.detected_at if since <= incident.declared_at else since
                    due = min(due, max(cadence_add(cadence, start, cadence.first_update_within),
                                       since))
            scheduled.append(_schedule(incident, cadence, audience.slug, due,
                                       replace=not new_incident))
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
    audience = _deadline_audience(deadline)
    label = audience_label(audience)
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
        data={"audience": audience, "deadline": deadline.pk,
              "cadence": deadline.payload.get("cadence")},
    )


@dataclass
class CadenceState:
    audience: str
    label: str
    due_at: datetime | None
    is_overdue: bool


def cadence_status(incident: Incident, *, now: datetime | None = None) -> list[CadenceState]:
    """Per audience with a cadence timer: when the next update is due and whether it is late
    (the earliest of its cadences decides). One query, whatever the number of timers."""
    now = now or timezone.now()
    latest = {}
    audience_name = Audience.objects.filter(
        slug=KeyTextTransform("audience", OuterRef("payload"))).values("name")[:1]
    for deadline in (Deadline.objects.filter(incident=incident, key__startswith=CADENCE_KEY_PREFIX)
                     .annotate(audience_name=Subquery(audience_name))
                     .order_by("created_at", "id")):
        latest[deadline.key] = deadline
    earliest: dict[str, Deadline] = {}
    for deadline in latest.values():
        if deadline.cancelled_at is not None:
            continue
        audience = _deadline_audience(deadline)
        if audience not in earliest or deadline.due_at < earliest[audience].due_at:
            earliest[audience] = deadline
    states = [CadenceState(audience=audience, label=deadline.audience_name or audience,
                           due_at=deadline.due_at,
                           is_overdue=deadline.fired_at is not None or deadline.due_at <= now)
              for audience, deadline in earliest.items()]
    return sorted(states, key=lambda s: s.due_at)


# --- Compose and send ---------------------------------------------------------------------


def templates_for(incident: Incident):
    """Active templates offered for this incident: of its severity or every severity, and of
    its type or every type."""
    return (MessageTemplate.objects.filter(is_active=True)
            .filter(Q(severity__isnull=True) | Q(severity=incident.severity_id))
            .filter(Q(incident_type__isnull=True) | Q(incident_type=incident.incident_type_id))
            .order_by("audience", "stage", "severity", "name"))


@dataclass
class ResolutionPrompt:
    """Customers still read an update from before the resolution: what they read, and the
    template to tell them it is over."""

    last_public: StatusUpdate | None
    template: MessageTemplate | None


def public_resolution_prompt(incident: Incident) -> ResolutionPrompt | None:
    """For a customer-facing incident that ended without a public resolution update (the
    status page kept saying "Investigating, next update by ..." after it was resolved)."""
    if incident.is_open or not incident.is_customer_facing or \
            incident.state not in (Incident.State.RESOLVED, Incident.State.CLOSED):
        return None
    last = incident.status_updates.filter(is_public=True).order_by("-sent_at", "-id").first()
    if last is not None and last.stage == Stage.RESOLUTION:
        return None
    # The public update is written for an audience whose updates go on the status page.
    template = templates_for(incident).filter(audience__may_publish=True,
                                              stage=Stage.RESOLUTION).first()
    return ResolutionPrompt(last_public=last, template=template)


def incident_message_context(incident: Incident, audience: str) -> dict[str, str]:
    """What a template for `audience` may show: the incident's data and the audience's
    next update time and cadence."""
    cadence = cadence_for(incident, audience)
    return message_context(
        incident,
        next_update=next_update_due(incident, audience),
        update_cadence=cadence.interval if cadence else incident.severity.update_cadence,
        business_hours_only=bool(cadence and cadence.business_hours_only),
    )


def message_render(template: MessageTemplate, incident: Incident, *, audience: str | None = None
                   ) -> tuple[str, str]:
    """Subject and body of `template` filled with the incident's data.
    Raises MessageRenderError (with the reason) when a manager's template is broken."""
    context = incident_message_context(incident, audience or template.audience_id)
    subject = " ".join(render_text(template.subject, context).split())
    body = render_text(template.body, context).strip()
    return subject, body


@transaction.atomic
def status_update_send(
    incident: Incident, *, by, audience, stage: str, subject: str, body: str,
    template: MessageTemplate | None = None, is_public: bool = False,
) -> StatusUpdate:
    """Keep the update with its recipients, queue one notification per recipient and
    channel (contacts: one e-mail each, without staff links), put it on the timeline and
    restart the audience's cadences."""
    incident = (Incident.objects.select_for_update(no_key=True, of=("self",))
                .select_related("severity").get(pk=incident.pk))
    if not can_send_updates(by, incident):
        raise ActionRefused("Only the incident manager, the communications lead or a manager "
                            "may send status updates.")
    audience = audience_named(audience)
    reasons = []
    if audience is None:
        reasons.append("Choose an audience.")
    if not subject.strip():
        reasons.append("The message needs a subject.")
    if not body.strip():
        reasons.append("The message needs a body.")
    if is_public and audience is not None and not audience.may_publish:
        reasons.append(f"Updates for {audience.name.lower()} cannot be published on the status "
                       "page; choose an audience that may publish (customers).")
    if reasons:
        raise ActionRefused(reasons)
    recipients = audience_recipients(incident, audience)
    contacts = audience_contacts(incident, audience)
    update = StatusUpdate.objects.create(
        incident=incident, audience=audience, stage=stage, template=template,
        subject=subject.strip()[:255], body=body.strip(), sent_by=by, is_public=is_public,
    )
    update.recipients.set(recipients)
    update.contacts.set(contacts)
    notify(
        subject=update, reason="comms.status_update", recipients=recipients,
        title=update.subject, body=update.body,
        url=reverse("warroom:room", kwargs={"reference": incident.reference}), incident=incident,
    )
    notify_addresses(
        subject=update, reason="comms.status_update",
        addresses=[(contact.name, contact.email) for contact in contacts],
        title=strip_staff_links(update.subject), body=strip_staff_links(update.body),
        incident=incident,
    )
    count = len(recipients) + len(contacts)
    text = (f"{display_name(by)} sent the {audience.name.lower()} "
            f"{update.get_stage_display().lower()} “{update.subject}” to {count} "
            f"{'recipient' if count == 1 else 'recipients'}")
    if contacts:
        text += f" ({len(contacts)} by e-mail to contacts)"
    timeline_record(
        incident, kind=TimelineEntry.Kind.MESSAGE, by=by, occurred_at=update.sent_at,
        text=text + (", published on the status page." if is_public else "."),
        is_key_event=stage != "update",
        data={"status_update": update.pk, "audience": audience.slug, "stage": stage,
              "public": is_public},
    )
    if incident.is_open:
        for cadence in applicable_cadences(incident):
            if any(a.slug == audience.slug for a in _audiences_of(cadence)):
                _schedule(incident, cadence, audience.slug,
                          cadence_add(cadence, update.sent_at, cadence.interval))
    return update


__all__ = [
    "MessageRenderError", "audience_contacts", "audience_recipients", "cadence_plan",
    "cadence_status", "cadence_stop", "can_send_updates", "message_render",
    "status_update_send", "strip_staff_links", "templates_for",
]
