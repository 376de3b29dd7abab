"""Queue notifications in the outbox, and the in-app inbox and preferences that go with them.

Call `notify` inside the transaction that makes the news: the rows commit with it or not at all,
and the unique dedup key makes asking twice harmless. Email and webhook rows are delivered by
workers (escalation/delivery.py), nudged on commit; in-app rows are delivered by existing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from incidents.selectors import people_who_may_see, with_viewer_may_see

from .models import Notification, NotificationPreference, WebhookEndpoint


def redacted_title(incident) -> str:
    """What someone not allowed to see a restricted incident is told: that there is news, and
    its severity, never the reference, title or details."""
    return (f"[{incident.severity.code}] News about a restricted incident; only its participants "
            "see the details")


def channels_for(user) -> list[str]:
    """The channels a person receives on. In-app always; email when they have an address
    and have not turned it off (see NotificationPreference, when present)."""
    channels = [Notification.Channel.INAPP]
    preference = getattr(user, "notification_preference", None)
    wants_email = preference.email if preference is not None else True
    if user.email and wants_email:
        channels.append(Notification.Channel.EMAIL)
    return channels


@dataclass
class Message:
    """One piece of news for `notify_many`; the fields are those of `notify`."""

    subject: Any
    reason: str
    recipients: Iterable
    title: str
    body: str = ""
    url: str = ""
    incident: Any = None
    webhooks: bool = False
    occurrence: str = ""


def notify(
    *,
    subject,
    reason: str,
    recipients: Iterable,
    title: str,
    body: str = "",
    url: str = "",
    incident=None,
    webhooks: bool = False,
    occurrence: str = "",
) -> list[Notification]:
    """Queue one notification per recipient and channel (and per active webhook if `webhooks`).

    `subject` is the model instance the news is about; `reason` names the event, e.g.
    "sla.response.breached" or "escalation.step.3". `occurrence` tells apart repeats of the same
    reason about the same subject that must each be sent (e.g. a reminder's deadline id). Returns
    the rows created now (rows that already existed for the same key are skipped)."""
    return notify_many([Message(subject=subject, reason=reason, recipients=recipients,
                                title=title, body=body, url=url, incident=incident,
                                webhooks=webhooks, occurrence=occurrence)])


def notify_many(messages: Iterable[Message]) -> list[Notification]:
    """`notify` for many pieces of news at once (a sweep batch): the same rows, written with one
    look-up of existing keys, one insert and one read-back for all of them."""
    now = timezone.now()
    messages = [replace(m, recipients=[u for u in m.recipients if u is not None])
                for m in messages]
    _load_preferences([user for m in messages for user in m.recipients])
    endpoints = None
    rows = []
    for message in messages:
        if message.webhooks and endpoints is None:
            endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
        rows.extend(_rows_for(message, endpoints or [], now))
    return _insert(rows)


def _insert(rows: list[Notification]) -> list[Notification]:
    if not rows:
        return []
    # Set-based, so a breach that tells twenty people costs three queries, not forty savepoints.
    # ignore_conflicts covers a concurrent writer of the same key; the rows we really inserted
    # are the ones carrying the idempotency ids generated here.
    existing = set(
        Notification.objects.filter(dedup_key__in=[r.dedup_key for r in rows])
        .values_list("dedup_key", flat=True)
    )
    fresh = list({row.dedup_key: row for row in rows if row.dedup_key not in existing}.values())
    created = []
    if fresh:
        Notification.objects.bulk_create(fresh, ignore_conflicts=True)
        created = list(
            Notification.objects.filter(idempotency_id__in=[r.idempotency_id for r in fresh])
        )
    if any(row.channel != Notification.Channel.INAPP for row in created):
        from .delivery import queue_delivery

        queue_delivery()
    return created


def _load_preferences(users: list) -> None:
    """Everyone's notification preference in one query (`channels_for` reads it), instead of
    one per person per message."""
    unloaded = list({id(u): u for u in users
                     if not NotificationPreference.user.field.remote_field.is_cached(u)
                     }.values())
    if unloaded:
        prefetch_related_objects(unloaded, "notification_preference")


def _rows_for(message: Message, endpoints: list, now) -> list[Notification]:
    subject, incident = message.subject, message.incident
    content_type = ContentType.objects.get_for_model(subject)
    base = f"{content_type.pk}:{subject.pk}:{message.reason}"
    if message.occurrence:
        base = f"{base}@{message.occurrence}"
    rows = []
    people = list({u.pk: u for u in message.recipients if u is not None and u.is_active}.values())
    restricted = incident is not None and incident.is_restricted
    allowed = {person.pk for person in people_who_may_see(incident, people)} if restricted else None
    for user in people:
        for channel in channels_for(user):
            row = Notification(dedup_key=f"{base}:user{user.pk}:{channel}", channel=channel,
                               recipient=user)
            if channel == Notification.Channel.INAPP:
                row.status, row.sent_at = Notification.Status.SENT, now
            row.redacted = restricted and user.pk not in allowed
            rows.append(row)
    if message.webhooks:
        for endpoint in endpoints:
            if incident is not None and endpoint.min_severity_rank < incident.severity.rank:
                continue
            row = Notification(dedup_key=f"{base}:hook{endpoint.pk}:webhook",
                               channel=Notification.Channel.WEBHOOK, webhook=endpoint)
            row.redacted = restricted  # a channel is read by people we cannot check
            rows.append(row)
    for row in rows:
        row.content_type = content_type
        row.object_id = subject.pk
        row.reason = message.reason
        if row.redacted:
            row.title, row.body, row.url = redacted_title(incident), "", ""
        else:
            row.title, row.body, row.url = message.title[:255], message.body, message.url
        row.incident = incident
        row.created_at = now
        row.next_attempt_at = now
    return rows


def notify_addresses(
    *,
    subject,
    reason: str,
    addresses: Iterable[tuple[str, str]],
    title: str,
    body: str,
    incident=None,
) -> list[Notification]:
    """Queue one e-mail per (name, address) for people without a login. They get the title
    and body only: no link into the portal (the caller keeps staff links out of the body).
    About a restricted incident they get the redacted title only, as webhooks do: nobody
    without a login may see it. An address is mailed once, whatever its case or spaces."""
    content_type = ContentType.objects.get_for_model(subject)
    base = f"{content_type.pk}:{subject.pk}:{reason}"
    redacted = incident is not None and incident.is_restricted
    names_by_address = {}
    for name, raw in addresses:
        address = (raw or "").strip().lower()
        if address:
            names_by_address[address] = name
    rows = [
        Notification(
            dedup_key=f"{base}:addr:{address}:email"[:255],
            channel=Notification.Channel.EMAIL, to_address=address, to_name=name[:120],
            content_type=content_type, object_id=subject.pk, reason=reason,
            title=redacted_title(incident) if redacted else title[:255],
            body="" if redacted else body, incident=incident,
        )
        for address, name in names_by_address.items()
    ]
    return _insert(rows)


# --- In-app inbox ----------------------------------------------------------------------------

def inbox_notifications(user):
    """The person's in-app notifications, newest first; `viewer_may_see` is false for those about
    an incident they may not see (now), whose title and details the inbox then leaves out."""
    return with_viewer_may_see(
        Notification.objects.filter(recipient=user, channel=Notification.Channel.INAPP)
        .select_related("incident__severity")
        .order_by("-created_at", "-pk"), user, via="incident")


def inbox_unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(
        recipient=user, channel=Notification.Channel.INAPP, read_at__isnull=True
    ).count()


def inbox_mark_read(*, user, notification_ids: Iterable[int]) -> int:
    """Mark some of the person's own notifications read; others' ids are ignored."""
    return Notification.objects.filter(
        recipient=user, channel=Notification.Channel.INAPP, read_at__isnull=True,
        pk__in=list(notification_ids),
    ).update(read_at=timezone.now())


def inbox_mark_all_read(*, user) -> int:
    return Notification.objects.filter(
        recipient=user, channel=Notification.Channel.INAPP, read_at__isnull=True
    ).update(read_at=timezone.now())


# --- Preferences -----------------------------------------------------------------------------

def notification_preference_for(user) -> NotificationPreference:
    """The person's preferences; the defaults (unsaved, saved only through
    `notification_preference_update`) when they never chose."""
    try:
        return NotificationPreference.objects.get(user=user)
    except NotificationPreference.DoesNotExist:
        return NotificationPreference()


def notification_preference_update(
    *, user, email: bool, weekly_summary: bool, monthly_summary: bool
) -> NotificationPreference:
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        preference.email = email
        preference.weekly_summary = weekly_summary
        preference.monthly_summary = monthly_summary
        preference._history_user = user
        preference.save()
    return preference


# Registers the generic "reminder" deadline kind wherever notifications are used.
from . import reminders  # noqa: E402, F401
