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
from .models import ActionItem, PostMortem, ReviewReminder

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


def _people(rule_recipients: str, *, owner, incident) -> list:
    """The people a ReviewReminder's `recipients` choice names."""
    Recipients = ReviewReminder.Recipients
    if rule_recipients == Recipients.OWNER:
        return [owner]
    if rule_recipients == Recipients.OWNER_AND_INCIDENT_MANAGER:
        return [owner, incident.incident_manager]
    if rule_recipients == Recipients.INCIDENT_MANAGER_OR_MANAGERS:
        if incident.incident_manager_id:
            return [incident.incident_manager]
        return list(services.managers())
    return list(services.managers())


def _rule_reason(deadline) -> str:
    rule = deadline.payload.get("rule")
    return f".{rule}" if rule else ""


def _postmortem_recipients(postmortem: PostMortem) -> list:
    return [user for user in (postmortem.owner, postmortem.incident.incident_manager) if user]


def _open_postmortem(deadline) -> PostMortem | None:
    postmortem = PostMortem.objects.select_related(
        "incident__incident_manager", "owner").get(pk=deadline.object_id)
    return None if postmortem.is_settled or postmortem.due_at is None else postmortem


@register("postmortem.reminder")
def remind_postmortem_due(deadline) -> None:
    postmortem = _open_postmortem(deadline)
    if postmortem is None:
        return
    incident = postmortem.incident
    recipients = _people(deadline.payload.get("recipients", "owner_and_incident_manager"),
                         owner=postmortem.owner, incident=incident)
    notify(
        subject=postmortem,
        reason=f"postmortem.reminder.{deadline.payload.get('due_at', '')}{_rule_reason(deadline)}",
        recipients=recipients, incident=incident, url=postmortem.get_absolute_url(),
        title=f"Post-mortem for {incident.reference} is due "
              f"{services.format_local(postmortem.due_at)}",
        body=f"The review of {incident} is {postmortem.get_state_display().lower()}.",
    )


@register("postmortem.escalation")
def escalate_postmortem_still_overdue(deadline) -> None:
    postmortem = _open_postmortem(deadline)
    if postmortem is None:
        return
    incident = postmortem.incident
    recipients = _people(deadline.payload.get("recipients", "managers"),
                         owner=postmortem.owner, incident=incident)
    notify(
        subject=postmortem,
        reason=f"postmortem.escalated.{deadline.payload.get('due_at', '')}{_rule_reason(deadline)}",
        recipients=recipients, incident=incident, url=postmortem.get_absolute_url(),
        title=f"Post-mortem for {incident.reference} is still not published",
        body=f"It was due {services.format_local(postmortem.due_at)} and is "
             f"{postmortem.get_state_display().lower()}.",
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
    incident = item.postmortem.incident
    notify(subject=item,
           reason=f"action_item.reminder.{item.due_date.isoformat()}{_rule_reason(deadline)}",
           recipients=_people(deadline.payload.get("recipients", "owner"), owner=item.owner,
                              incident=incident),
           incident=incident, url=item.get_absolute_url(),
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
    if not deadline.payload.get("escalations_scheduled"):
        # Timers scheduled before escalations were data: schedule them now, from the rules.
        for rule in ReviewReminder.objects.filter(
                subject=ReviewReminder.Subject.ACTION_ITEM,
                direction=ReviewReminder.Direction.AFTER, is_active=True):
            deadline_schedule(
                subject=item, key=f"action_item.escalation.{rule.slug}",
                kind="action_item.escalation",
                due_at=max(services.reminder_moment(rule, deadline.due_at), timezone.now()),
                incident=incident, payload={**deadline.payload, "rule": rule.slug,
                                            "recipients": rule.recipients})


@register("action_item.escalation")
def escalate_action_item_overdue(deadline) -> None:
    item = _unfinished_item(deadline)
    if item is None:
        return
    incident = item.postmortem.incident
    recipients = _people(deadline.payload.get("recipients", "incident_manager_or_managers"),
                         owner=item.owner, incident=incident)
    notify(subject=item,
           reason=f"action_item.escalated.{item.due_date.isoformat()}{_rule_reason(deadline)}",
           recipients=recipients, incident=incident, url=item.get_absolute_url(),
           title=f"Overdue action item from {incident.reference}: {item.title}",
           body=f"{services.display_name(item.owner)} owns it; it was due "
                f"{item.due_date:%a %d %b %Y}.")
