"""Wiring of the review process into the incident lifecycle, imported by AppConfig.ready():
- a review is scheduled when an incident whose severity requires one is resolved;
- closing such an incident waits for the review to be published (or waived);
- deadline handlers remind and escalate (they run inside the sweep's transaction and only
  queue outbox rows)."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from escalation.deadlines import deadline_cancel, deadline_schedule, register
from escalation.notifications import notify
from incidents import guards, signals
from incidents.models import Incident, TimelineEntry
from incidents.services import timeline_record

from . import services
from .models import ActionItem, PostMortem

# --- Closing guard --------------------------------------------------------------------------


def review_published_before_close(incident: Incident) -> list[str]:
    if not incident.severity.postmortem_required:
        return []
    postmortem = PostMortem.objects.filter(incident_id=incident.pk).only(
        "state", "waived").first()
    if postmortem is None:
        return [f"The post-mortem for {incident.reference} must be published before closing "
                "(none has been scheduled yet)."]
    if postmortem.is_settled:
        return []
    return [f"The post-mortem for {incident.reference} must be published before closing "
            f"(it is {postmortem.get_state_display().lower()})."]


guards.register("close", review_published_before_close)


# --- Incident events ------------------------------------------------------------------------


@receiver(signals.incident_transitioned, dispatch_uid="postmortems.on_transition")
def on_incident_transitioned(sender, incident, by, transition, source, target, **kwargs):
    if target == Incident.State.RESOLVED:
        services.postmortem_ensure_for_resolved(incident, by=by)
    elif transition == "reopen":
        # Work goes on: the review is not due while the incident is open again.
        postmortem = PostMortem.objects.filter(incident=incident).first()
        if postmortem is not None and not postmortem.is_settled:
            deadline_cancel(subject=postmortem, key_prefix="postmortem.")


@receiver(signals.incident_role_changed, dispatch_uid="postmortems.on_role_changed")
def on_incident_role_changed(sender, incident, by, role, old, new, **kwargs):
    """A review owned by the outgoing incident manager follows the role to the new one."""
    if role != "incident_manager" or new is None:
        return
    postmortem = PostMortem.objects.filter(incident=incident).first()
    if postmortem is None or postmortem.is_settled:
        return
    if postmortem.owner_id in (None, getattr(old, "pk", None)):
        postmortem.owner = new
        postmortem._history_user = by
        postmortem._change_reason = "Owner follows the incident manager"
        postmortem.save(update_fields=["owner", "updated_at"])


# --- Timers ---------------------------------------------------------------------------------


def _postmortem_recipients(postmortem: PostMortem) -> list:
    return [user for user in (postmortem.owner, postmortem.incident.incident_manager) if user]


@register("postmortem.reminder")
def remind_postmortem_due(deadline) -> None:
    postmortem = PostMortem.objects.select_related("incident", "owner").get(pk=deadline.object_id)
    if postmortem.is_settled or postmortem.due_at is None:
        return
    incident = postmortem.incident
    notify(
        subject=postmortem, reason=f"postmortem.reminder.{deadline.payload.get('due_at', '')}",
        recipients=_postmortem_recipients(postmortem), incident=incident,
        url=postmortem.get_absolute_url(),
        title=f"Post-mortem for {incident.reference} is due "
              f"{services.format_local(postmortem.due_at)}",
        body=f"The review of {incident} is {postmortem.get_state_display().lower()}.",
    )


@register("postmortem.due")
def escalate_postmortem_overdue(deadline) -> None:
    postmortem = PostMortem.objects.select_related("incident", "owner").get(pk=deadline.object_id)
    if postmortem.is_settled:
        return
    incident = postmortem.incident
    notify(
        subject=postmortem, reason=f"postmortem.overdue.{deadline.payload.get('due_at', '')}",
        recipients=[*_postmortem_recipients(postmortem), *services.managers()],
        incident=incident, url=postmortem.get_absolute_url(),
        title=f"Post-mortem for {incident.reference} is overdue",
        body=f"It was due {services.format_local(postmortem.due_at)} and is "
             f"{postmortem.get_state_display().lower()}.",
    )
    timeline_record(incident, kind=TimelineEntry.Kind.POSTMORTEM,
                    text="The post-mortem is overdue; the incident manager and managers were "
                         "notified.",
                    data={"postmortem": postmortem.pk, "event": "overdue"})


def _unfinished_item(deadline) -> ActionItem | None:
    item = ActionItem.objects.select_related("owner", "postmortem__incident__incident_manager").get(
        pk=deadline.object_id)
    return item if item.is_unfinished else None


@register("action_item.reminder")
def remind_action_item_due(deadline) -> None:
    item = _unfinished_item(deadline)
    if item is None:
        return
    notify(subject=item, reason=f"action_item.reminder.{item.due_date.isoformat()}",
           recipients=[item.owner], incident=item.postmortem.incident,
           url=item.get_absolute_url(),
           title=f"Action item due {item.due_date:%a %d %b %Y}: {item.title}")


@register("action_item.overdue")
def tell_owner_action_item_overdue(deadline) -> None:
    item = _unfinished_item(deadline)
    if item is None:
        return
    incident = item.postmortem.incident
    notify(subject=item, reason=f"action_item.overdue.{item.due_date.isoformat()}",
           recipients=[item.owner], incident=incident, url=item.get_absolute_url(),
           title=f"Action item overdue (was due {item.due_date:%a %d %b %Y}): {item.title}")
    deadline_schedule(subject=item, key="action_item.escalation", kind="action_item.escalation",
                      due_at=timezone.now() + services.ACTION_ITEM_ESCALATE_AFTER,
                      incident=incident, payload=deadline.payload)


@register("action_item.escalation")
def escalate_action_item_overdue(deadline) -> None:
    item = _unfinished_item(deadline)
    if item is None:
        return
    incident = item.postmortem.incident
    recipients = [incident.incident_manager] if incident.incident_manager_id else list(
        services.managers())
    notify(subject=item, reason=f"action_item.escalated.{item.due_date.isoformat()}",
           recipients=recipients, incident=incident, url=item.get_absolute_url(),
           title=f"Overdue action item from {incident.reference}: {item.title}",
           body=f"{services.display_name(item.owner)} owns it; it was due "
                f"{item.due_date:%a %d %b %Y}.")
