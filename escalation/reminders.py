"""The generic "reminder" deadline: at a set time, tell some people (and optionally the webhooks).

Any area can use it instead of writing its own handler, e.g. a war-room update cadence or a
post-mortem due date:

    reminder_schedule(subject=incident, key="warroom.update", due_at=...,
                      reason="warroom.update_due", title="Status update due for INC-2026-0001",
                      recipients=[incident.incident_manager], incident=incident)

Scheduling again with the same subject and key moves the pending reminder. Each fired reminder
notifies once, even when the reason repeats (the deadline's id is part of the outbox key)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model

from incidents.models import Incident

from . import deadlines, notifications
from .models import Deadline
from .subjects import open_at

REMINDER = "reminder"


def reminder_schedule(
    *,
    subject,
    key: str,
    due_at: datetime,
    reason: str,
    title: str,
    recipients: Iterable,
    body: str = "",
    url: str = "",
    incident=None,
    webhooks: bool = False,
) -> Deadline:
    return deadlines.deadline_schedule(
        subject=subject,
        key=key,
        kind=REMINDER,
        due_at=due_at,
        incident=incident,
        payload={
            "reason": reason,
            "title": title,
            "body": body,
            "url": url,
            "recipient_ids": sorted({user.pk for user in recipients if user is not None}),
            "webhooks": webhooks,
        },
    )


@deadlines.register(REMINDER)
def send_reminder(deadline: Deadline) -> None:
    payload = deadline.payload
    subject = deadline.subject
    if subject is None:
        return  # what the reminder was about has been deleted: nothing left to remind of
    if isinstance(subject, Incident) and not open_at(subject, deadline.acts_at):
        return  # due after the incident ended: nothing to remind of any more
    recipients = get_user_model().objects.filter(
        pk__in=payload.get("recipient_ids", []), is_active=True
    ).select_related("notification_preference")
    notifications.notify(
        subject=subject,
        reason=payload["reason"],
        recipients=recipients,
        title=payload.get("title") or payload["reason"],
        body=payload.get("body", ""),
        url=payload.get("url", ""),
        incident=deadline.incident,
        webhooks=bool(payload.get("webhooks")),
        occurrence=f"deadline{deadline.pk}",
    )
