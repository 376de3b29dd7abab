"""Queue notifications in the outbox. Delivery (email, webhooks, retries) is done by workers.

Call `notify` inside the transaction that makes the news: the rows commit with it or not at all,
and the unique dedup key makes asking twice harmless."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction

from .models import Notification, WebhookEndpoint


def channels_for(user) -> list[str]:
    """The channels a person receives on. In-app always; email when they have an address
    and have not turned it off (see NotificationPreference, when present)."""
    channels = [Notification.Channel.INAPP]
    preference = getattr(user, "notification_preference", None)
    wants_email = preference.email if preference is not None else True
    if user.email and wants_email:
        channels.append(Notification.Channel.EMAIL)
    return channels


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
) -> list[Notification]:
    """Queue one notification per recipient and channel (and per active webhook if `webhooks`).

    `subject` is the model instance the news is about; `reason` names the event, e.g.
    "sla.response.breached" or "escalation.step.3". Returns the rows created now (rows that
    already existed for the same key are skipped)."""
    content_type = ContentType.objects.get_for_model(subject)
    base = f"{content_type.pk}:{subject.pk}:{reason}"
    rows = []
    for user in {u.pk: u for u in recipients if u is not None and u.is_active}.values():
        for channel in channels_for(user):
            rows.append(Notification(dedup_key=f"{base}:user{user.pk}:{channel}", channel=channel,
                                     recipient=user))
    if webhooks:
        endpoints = WebhookEndpoint.objects.filter(is_active=True)
        if incident is not None:
            endpoints = endpoints.filter(min_severity_rank__gte=incident.severity.rank)
        for endpoint in endpoints:
            rows.append(Notification(dedup_key=f"{base}:hook{endpoint.pk}:webhook",
                                     channel=Notification.Channel.WEBHOOK, webhook=endpoint))
    created = []
    for row in rows:
        row.content_type = content_type
        row.object_id = subject.pk
        row.reason = reason
        row.title = title[:255]
        row.body = body
        row.url = url
        row.incident = incident
        try:
            with transaction.atomic():  # a savepoint, so a duplicate does not spoil the caller
                row.save()
        except IntegrityError:
            if not Notification.objects.filter(dedup_key=row.dedup_key).exists():
                raise
            continue
        created.append(row)
    return created
