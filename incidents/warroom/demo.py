"""Demo data for the war room: who hears about incidents (audience subscriptions), the P0's
first checklist phase ticked by the people who did the work, and its first updates: one to
internal stakeholders and one public customer update, so the status page (/status/) shows it.

Ticks and updates go through `incidents.warroom.services` and `.communications`, so the
timeline says who did what and the cadence timers restart. Subscriptions are configuration that
managers edit in the admin (no service), written with the history user and a reason.
Idempotent: every row is looked up before it is created, and an item ticked once (even if
unticked later) is not ticked again."""

from __future__ import annotations

from incidents.models import Audience as AudienceModel
from incidents.models import (
    AudienceSubscription,
    Contact,
    Incident,
    IncidentChecklistItem,
    MessageTemplate,
    StatusUpdate,
)
from incidents.models.communications import DefaultAudience as Audience
from incidents.models.communications import Stage

from . import communications, services

ORDER = 20

# (audience, username, minimum severity code or None)
SUBSCRIPTIONS = [
    (Audience.EXECUTIVES, "manager", "P1"),
    (Audience.STAKEHOLDERS, "manager", "P1"),
    (Audience.STAKEHOLDERS, "product-manager", None),
]

# People without a login who hear about incidents by e-mail (seed 002: clients).
CONTACTS = [
    (Audience.CUSTOMER, "Amira Haddad", "amira.haddad@example.org", "Example Aid (client)"),
]

# P0 "Initial Response" items and who ticked them, in order.
P0_TICKS_BEFORE_UPDATES = [
    ("Issue reproduced and confirmed", "responder"),
    ("Business impact quantified (revenue loss per hour)", "incident-manager"),
    ("Emergency team assembled", "incident-manager"),
    ("War room established (if needed)", "incident-manager"),
]
P0_TICKS_AFTER_UPDATES = [("Stakeholders notified", "manager")]

STAKEHOLDER_TEMPLATE = "Stakeholders: initial issue notification"
CUSTOMER_TEMPLATE = "Customers: we are investigating an issue"
STAKEHOLDER_FALLBACK = (
    "[CRITICAL] Payments distribution batch stuck at the bank gateway",
    "The 10:00 payout batch has not left the bank gateway since a certificate rotation; about "
    "1,840 recipients (12.5%) are waiting for their payout. The team is working on it; next "
    "update within 30 minutes.",
)
CUSTOMER_FALLBACK = (
    "Payouts delayed: Payments distribution",
    "Hello,\n\nToday's payout batch is delayed: our bank gateway is not accepting payments. "
    "Your payout is safe and will be sent as soon as the gateway accepts payments again.\n\n"
    "We will post the next update within the hour on this page.",
)


def _in_procedure(audience: str) -> bool:
    """Whether the active procedure has this audience (seed 002 has clients, not customers)."""
    return AudienceModel.objects.filter(slug=audience, is_active=True).exists()


def seed_subscriptions(demo) -> None:
    by = demo.users["manager"]
    for audience, username, min_code in SUBSCRIPTIONS:
        if not _in_procedure(audience):
            continue
        user = demo.users[username]
        if AudienceSubscription.objects.filter(audience_id=audience, user=user, group=None,
                                               service=None).exists():
            continue
        subscription = AudienceSubscription(
            audience_id=audience, user=user,
            min_severity=demo.severity(min_code) if min_code else None,
        )
        subscription._history_user = by
        subscription._change_reason = "Demo data"
        subscription.save()
        demo.log(f"Subscribed {user.get_full_name()} to {audience.label.lower()} updates.")
    for audience, name, email, organisation in CONTACTS:
        if not _in_procedure(audience):
            continue
        contact, _ = Contact.objects.get_or_create(
            email=email, defaults={"name": name, "organisation": organisation})
        if AudienceSubscription.objects.filter(audience=audience, contact=contact).exists():
            continue
        subscription = AudienceSubscription(audience_id=audience, contact=contact)
        subscription._history_user = by
        subscription._change_reason = "Demo data"
        subscription.save()
        demo.log(f"Subscribed the contact {contact} to {Audience(audience).label.lower()} "
                 "updates (e-mail only).")


def _tick(demo, incident: Incident, ticks: list[tuple[str, str]]) -> None:
    for text, username in ticks:
        item = IncidentChecklistItem.objects.filter(incident=incident, text=text).first()
        if item is None or item.done_at is not None:
            continue
        if item.history.filter(done_at__isnull=False).exists():
            continue  # ticked before and unticked since: someone decided, leave it
        services.checklist_item_set_done(item, by=demo.users[username], done=True)
        demo.log(f"{demo.users[username].get_full_name()} ticked “{text}” on "
                 f"{incident.reference}.")


def _send(demo, incident: Incident, *, audience: str, template_name: str,
          fallback: tuple[str, str], is_public: bool = False) -> None:
    if not _in_procedure(audience):
        return
    if StatusUpdate.objects.filter(incident=incident, audience_id=audience).exists():
        return
    by = demo.users["manager"]  # the P0's communications lead
    template = MessageTemplate.objects.filter(name=template_name, is_active=True).first()
    subject = body = ""
    if template is not None:
        try:
            subject, body = communications.message_render(template, incident, audience=audience)
        except communications.MessageRenderError:
            template = None
    if template is None:
        subject, body = fallback
    update = communications.status_update_send(
        incident, by=by, audience=audience, stage=Stage.INITIAL, subject=subject, body=body,
        template=template, is_public=is_public,
    )
    where = " (published on the status page)" if is_public else ""
    demo.log(f"Sent the {Audience(audience).label.lower()} update “{update.subject}” for "
             f"{incident.reference}{where}.")


def seed_p0(demo) -> None:
    incident = demo.incidents.get("payments-stuck")
    if incident is None:
        return
    incident = Incident.objects.select_related("severity").get(pk=incident.pk)
    if not incident.is_open:
        return  # closed since: its checklist and updates are a record now
    _tick(demo, incident, P0_TICKS_BEFORE_UPDATES)
    _send(demo, incident, audience=Audience.STAKEHOLDERS, template_name=STAKEHOLDER_TEMPLATE,
          fallback=STAKEHOLDER_FALLBACK)
    _send(demo, incident, audience=Audience.CUSTOMER, template_name=CUSTOMER_TEMPLATE,
          fallback=CUSTOMER_FALLBACK, is_public=True)
    _tick(demo, incident, P0_TICKS_AFTER_UPDATES)


def seed(demo) -> None:
    seed_subscriptions(demo)
    seed_p0(demo)
