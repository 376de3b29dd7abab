"""Every write to a post-mortem or an action item. One transaction each: lock the row, check
permission and state, change it, record history (user and reason), note it on the incident's
timeline where people follow the incident, and (re)schedule the timers that chase it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed

from escalation.deadlines import deadline_cancel, deadline_schedule
from escalation.notifications import notify
from incidents import services as incident_services
from incidents.errors import ActionRefused, Conflict
from incidents.models import Incident, IncidentParticipant, TimelineEntry
from incidents.people import display_name
from incidents.services import participants_add, require_perm, timeline_record
from incidents.validation import require_datetime_in_range

from .models import (
    ActionItem,
    FollowUpTask,
    PostMortem,
    PostMortemTimelineItem,
    ReviewAgendaItem,
    ReviewReminder,
)

# Who the reminders and escalations tell is data (ReviewReminder); the kinds of timer they use:
REMINDER_KINDS = {
    (ReviewReminder.Subject.POSTMORTEM, ReviewReminder.Direction.BEFORE): "postmortem.reminder",
    (ReviewReminder.Subject.POSTMORTEM, ReviewReminder.Direction.AFTER): "postmortem.escalation",
    (ReviewReminder.Subject.ACTION_ITEM, ReviewReminder.Direction.BEFORE): "action_item.reminder",
    (ReviewReminder.Subject.ACTION_ITEM, ReviewReminder.Direction.AFTER): "action_item.escalation",
}

SECTION_FIELDS = {
    "summary": ("title", "summary", "started_at", "ended_at", "users_affected",
                "impact_description", "services_affected"),
    "analysis": ("root_cause", "contributing_factors", "five_whys"),
    "resolution": ("resolution", "prevention_measures"),
    "lessons": ("went_well", "could_improve"),
    "follow_ups": ("follow_ups_done",),
    "meeting": ("meeting_at", "attendees", "agenda_done", "meeting_notes"),
    "business_impact": (
        "before_revenue_impact", "before_customer_access_pct", "before_error_rate",
        "before_functionality", "after_revenue_impact", "after_customer_access_pct",
        "after_error_rate", "after_functionality", "duration_hours_override",
        "revenue_lost_override", "resolution_hours", "hourly_rate", "revenue_restored",
        "revenue_restored_period",
    ),
    "planning": ("owner", "due_at"),
}
M2M_FIELDS = {"services_affected", "attendees"}
POSTMORTEM_TRANSITIONS = ("start_drafting", "submit", "return_to_drafting", "publish")
PERMISSION_WORDS = {
    "start_drafting": "edit post-mortems",
    "submit": "submit post-mortems for review",
    "return_to_drafting": "review post-mortems",
    "publish": "publish post-mortems",
}
ACTION_ITEM_TRANSITIONS = ("start", "complete", "wont_do", "reopen")
ACTION_ITEM_FIELDS = ("title", "description", "owner", "due_date", "priority", "kind",
                      "ticket_url")


def _lock(postmortem: PostMortem, expected_version: int | None = None) -> PostMortem:
    locked = PostMortem.objects.select_for_update(of=("self",)).select_related(
        "incident", "incident__severity").get(pk=postmortem.pk)
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(
            f"The post-mortem for {locked.incident.reference} was changed by someone else while "
            "you were editing (reload to see the change); your change was not saved."
        )
    return locked


def _save(obj, *, by, reason: str) -> None:
    if hasattr(obj, "version"):
        obj.version += 1
    obj._history_user = by
    obj._change_reason = reason[:100]
    try:
        obj.save()
    except ConcurrentTransition as exc:
        raise Conflict(f"“{obj}” changed state while you were looking at it; reload and try "
                       "again.") from exc


def format_local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%a %d %b %Y, %H:%M %Z")


def managers():
    return get_user_model().objects.filter(groups__name="Manager", is_active=True).distinct()


# --- Post-mortem timers -------------------------------------------------------------------


def _due_at_for(incident: Incident) -> datetime | None:
    window = incident.severity.postmortem_due_within
    if window is None:
        return None
    return (incident.resolved_at or timezone.now()) + window


def reminder_moment(rule: ReviewReminder, due: datetime,
                    window: timedelta | None = None) -> datetime:
    """When `rule` fires for something due at `due` (a review's window may move a "before"
    reminder earlier: at least `window_share` of it)."""
    if rule.direction == ReviewReminder.Direction.AFTER:
        return due + rule.offset
    lead = rule.offset
    if rule.window_share is not None and window:
        lead = max(lead, window * float(rule.window_share))
    return due - lead


def _schedule_reminders(subject, *, kind_of: str, due: datetime, incident,
                        payload: dict, window: timedelta | None = None) -> None:
    """One timer per active rule for this kind of subject, in the future only."""
    now = timezone.now()
    for rule in ReviewReminder.objects.filter(subject=kind_of, is_active=True):
        moment = reminder_moment(rule, due, window)
        if moment <= now:
            continue
        kind = REMINDER_KINDS[(rule.subject, rule.direction)]
        deadline_schedule(subject=subject, key=f"{kind}.{rule.slug}", kind=kind, due_at=moment,
                          incident=incident,
                          payload={**payload, "rule": rule.slug, "recipients": rule.recipients})


def postmortem_schedule_timers(postmortem: PostMortem) -> None:
    """Replace the review's reminder and due timers to match its due time (or drop them)."""
    deadline_cancel(subject=postmortem, key_prefix="postmortem.")
    if postmortem.due_at is None or postmortem.is_settled:
        return
    incident = postmortem.incident
    payload = {"due_at": postmortem.due_at.isoformat()}
    _schedule_reminders(postmortem, kind_of=ReviewReminder.Subject.POSTMORTEM,
                        due=postmortem.due_at, incident=incident, payload=payload,
                        window=incident.severity.postmortem_due_within)
    deadline_schedule(subject=postmortem, key="postmortem.due", kind="postmortem.due",
                      due_at=postmortem.due_at, incident=incident, payload=payload)


# --- Creating and editing a review ----------------------------------------------------------


@transaction.atomic
def postmortem_create(*, incident: Incident, by, owner=None) -> PostMortem:
    """Schedule the review of `incident`, prefilled from it, with its timeline imported."""
    require_perm(by, "postmortems.add_postmortem", "create post-mortems")
    incident = (Incident.objects.select_for_update(no_key=True, of=("self",))
                .select_related("severity").get(pk=incident.pk))
    if PostMortem.objects.filter(incident=incident).exists():
        raise ActionRefused(f"{incident.reference} already has a post-mortem.")
    if incident.state in (Incident.State.CANCELLED, Incident.State.DUPLICATE):
        raise ActionRefused(f"{incident.reference} is {incident.get_state_display().lower()}; "
                            "it needs no post-mortem.")
    accessibility = None
    if incident.customers_affected_pct is not None:
        accessibility = 100 - incident.customers_affected_pct
    postmortem = PostMortem(
        incident=incident,
        is_required=incident.severity.postmortem_required,
        owner=owner or incident.incident_manager,
        due_at=_due_at_for(incident),
        title=incident.title,
        summary=incident.description,
        started_at=incident.detected_at,
        ended_at=incident.resolved_at,
        users_affected=incident.customers_affected,
        resolution=incident.resolution_summary,
        before_revenue_impact=incident.revenue_impact_per_hour,
        before_customer_access_pct=accessibility,
    )
    _save(postmortem, by=by, reason="Scheduled")
    participants_add(incident, [postmortem.owner], reason=IncidentParticipant.Reason.ADDED)
    postmortem.services_affected.set(incident.services.all())
    _import_timeline(postmortem)
    postmortem_schedule_timers(postmortem)
    due = f", due {format_local(postmortem.due_at)}" if postmortem.due_at else ""
    timeline_record(incident, kind=TimelineEntry.Kind.POSTMORTEM, by=by,
                    text=f"Post-mortem scheduled{due}; owner: {display_name(postmortem.owner)}.",
                    data={"postmortem": postmortem.pk, "event": "scheduled"})
    return postmortem


@transaction.atomic
def postmortem_ensure_for_resolved(incident: Incident, *, by=None) -> PostMortem | None:
    """On resolve: schedule the required review, or restart the timers of an existing one
    (an incident resolved again after a reopen is due again from the new resolution time)."""
    existing = PostMortem.objects.filter(incident=incident).first()
    if existing is None:
        if not incident.severity.postmortem_required:
            return None
        return postmortem_create(incident=incident, by=None)
    postmortem = _lock(existing)
    if postmortem.is_settled:
        return postmortem
    postmortem.due_at = _due_at_for(postmortem.incident)
    postmortem.ended_at = postmortem.incident.resolved_at
    _save(postmortem, by=by, reason="Incident resolved again")
    postmortem_schedule_timers(postmortem)
    return postmortem


def _ensure_editable(postmortem: PostMortem) -> None:
    if postmortem.waived:
        raise ActionRefused(f"The post-mortem for {postmortem.incident.reference} was waived.")
    if not postmortem.is_editable:
        raise ActionRefused(
            f"The post-mortem for {postmortem.incident.reference} is "
            f"{postmortem.get_state_display().lower()}; "
            + ("return it to drafting to change it." if postmortem.state == "in_review"
               else "it can no longer change.")
        )


def _begin_drafting(postmortem: PostMortem) -> None:
    """The first edit of a scheduled review starts the draft."""
    if postmortem.state == PostMortem.State.SCHEDULED:
        postmortem.start_drafting()


@transaction.atomic
def postmortem_update(
    postmortem: PostMortem, *, by, section: str, expected_version: int | None = None,
    **values: Any,
) -> PostMortem:
    """Change one section of the review (SECTION_FIELDS lists what each holds)."""
    if section not in SECTION_FIELDS:
        raise ActionRefused(f"Unknown section “{section}”.")
    unknown = set(values) - set(SECTION_FIELDS[section]) - (
        {"root_cause_category"} if section == "analysis" else set())
    if unknown:
        raise TypeError(f"Fields not in section {section}: {sorted(unknown)}")
    if section == "planning":
        require_perm(by, "postmortems.review_postmortem", "change a review's owner or due time")
    else:
        require_perm(by, "postmortems.change_postmortem", "edit post-mortems")
    postmortem = _lock(postmortem, expected_version)
    if section != "planning":
        _ensure_editable(postmortem)
    # Retired tasks and agenda points a review already ticked stay valid for it.
    _validate_keys(values, "follow_ups_done", set(
        FollowUpTask.objects.filter(is_active=True).values_list("slug", flat=True))
        | set(postmortem.follow_ups_done))
    _validate_keys(values, "agenda_done", set(
        ReviewAgendaItem.objects.filter(is_active=True).values_list("slug", flat=True))
        | set(postmortem.agenda_done))
    if "five_whys" in values:
        values["five_whys"] = [why.strip() for why in values["five_whys"] if why and why.strip()]
    for field, value in values.items():
        if isinstance(value, date):  # datetimes too
            require_datetime_in_range(value, PostMortem._meta.get_field(field).verbose_name)
    m2m = {field: values.pop(field) for field in list(values) if field in M2M_FIELDS}
    # The category belongs to the incident (its page, reports and exports show it).
    category = values.pop("root_cause_category", None)
    for field, value in values.items():
        setattr(postmortem, field, value.strip() if isinstance(value, str) else value)
    if section != "planning":
        _begin_drafting(postmortem)
    _save(postmortem, by=by, reason=f"Edited {section.replace('_', ' ')}")
    for field, value in m2m.items():
        getattr(postmortem, field).set(value)
    if section == "planning":
        postmortem_schedule_timers(postmortem)
        participants_add(postmortem.incident, [postmortem.owner],
                         reason=IncidentParticipant.Reason.ADDED)
    incident = postmortem.incident
    if category is not None and category != incident.root_cause_category:
        incident_services.incident_update_impact(
            incident, by=by, root_cause_category=category,
            reason="Root cause category from the post-incident review")
    return postmortem


def _validate_keys(values: dict, field: str, allowed: set[str]) -> None:
    if field in values:
        values[field] = sorted(set(values[field]))
        if not set(values[field]) <= allowed:
            raise ActionRefused(f"Unknown choices: {sorted(set(values[field]) - allowed)}.")


# --- The review's timeline ------------------------------------------------------------------


def _import_timeline(postmortem: PostMortem) -> int:
    """Copy incident timeline entries not imported yet; key events are included by default."""
    already = set(postmortem.timeline.exclude(source_entry=None).values_list("source_entry_id",
                                                                             flat=True))
    new_items = [
        PostMortemTimelineItem(postmortem=postmortem, source_entry=entry,
                               occurred_at=entry.occurred_at, text=entry.text,
                               included=entry.is_key_event)
        for entry in postmortem.incident.timeline.order_by("occurred_at", "id")
        if entry.pk not in already and entry.kind != TimelineEntry.Kind.POSTMORTEM
    ]
    PostMortemTimelineItem.objects.bulk_create(new_items)
    return len(new_items)


@transaction.atomic
def postmortem_timeline_import(postmortem: PostMortem, *, by) -> int:
    """Bring in incident timeline entries written since the last import. Returns how many."""
    require_perm(by, "postmortems.change_postmortem", "edit post-mortems")
    postmortem = _lock(postmortem)
    _ensure_editable(postmortem)
    count = _import_timeline(postmortem)
    _begin_drafting(postmortem)
    _save(postmortem, by=by, reason=f"Imported {count} timeline entries")
    return count


@transaction.atomic
def postmortem_timeline_edit(
    postmortem: PostMortem, *, by, updates: dict[int, dict] | None = None,
    delete_ids: set[int] | frozenset = frozenset(), add: dict | None = None,
) -> PostMortem:
    """Edit, drop and add lines of the review's timeline in one go.

    `updates` maps item id to {occurred_at, text, included}; `add` is {occurred_at, text}."""
    require_perm(by, "postmortems.change_postmortem", "edit post-mortems")
    postmortem = _lock(postmortem)
    _ensure_editable(postmortem)
    items = {item.pk: item for item in postmortem.timeline.select_for_update()}
    unknown = (set(updates or {}) | set(delete_ids)) - set(items)
    if unknown:
        raise ActionRefused("Some timeline lines no longer exist; reload the page.")
    for pk, fields in (updates or {}).items():
        if pk in delete_ids:
            continue
        item = items[pk]
        changed = False
        for field in ("occurred_at", "text", "included"):
            if field in fields and getattr(item, field) != fields[field]:
                setattr(item, field, fields[field])
                changed = True
        if changed:
            _check_timeline_line(item.occurred_at, item.text)
            _save(item, by=by, reason="Edited in review")
    for pk in delete_ids:
        items[pk]._history_user = by
        items[pk].delete()
    if add and (add.get("text") or "").strip():
        _check_timeline_line(add.get("occurred_at"), add["text"])
        item = PostMortemTimelineItem(postmortem=postmortem, occurred_at=add["occurred_at"],
                                      text=add["text"].strip(), included=True)
        _save(item, by=by, reason="Added in review")
    _begin_drafting(postmortem)
    _save(postmortem, by=by, reason="Edited timeline")
    return postmortem


def _check_timeline_line(occurred_at, text: str) -> None:
    if occurred_at is None:
        raise ActionRefused("Each timeline line needs a date and time.")
    require_datetime_in_range(occurred_at, "time of a timeline line")
    if not text.strip():
        raise ActionRefused("Each timeline line needs some text.")


# --- Review lifecycle -----------------------------------------------------------------------


@transaction.atomic
def postmortem_transition(
    postmortem: PostMortem, name: str, *, by, comments: str = "",
    expected_version: int | None = None,
) -> PostMortem:
    """start_drafting, submit, return_to_drafting (needs comments) or publish."""
    if name not in POSTMORTEM_TRANSITIONS:
        raise ActionRefused(f"Unknown action “{name}”.")
    postmortem = _lock(postmortem, expected_version)
    reference = postmortem.incident.reference
    method = getattr(postmortem, name)
    if postmortem.waived:
        raise ActionRefused(f"The post-mortem for {reference} was waived.")
    if method._django_fsm.get_transition(postmortem.state) is None:
        raise ActionRefused(f"The post-mortem for {reference} is "
                            f"{postmortem.get_state_display().lower()}; you cannot "
                            f"{_transition_label(name).lower()} it now.")
    if by is not None and not method._django_fsm.has_transition_perm(postmortem, postmortem.state,
                                                                      by):
        raise ActionRefused(f"You do not have permission to {PERMISSION_WORDS[name]}.")
    if name == "submit":
        reasons = postmortem.submit_refusals()
        if reasons:
            raise ActionRefused(reasons)
    if name == "return_to_drafting":
        if not comments.strip():
            raise ActionRefused("Say what needs to change before the review can be published.")
        postmortem.review_comments = comments.strip()
    if not can_proceed(method):
        raise ActionRefused(f"You cannot {_transition_label(name).lower()} it now.")
    method()
    if name == "publish":
        postmortem.published_by = by
    _save(postmortem, by=by, reason=_transition_label(name))
    _after_transition(postmortem, name, by=by, comments=comments.strip())
    return postmortem


def _transition_label(name: str) -> str:
    return next(iter(getattr(PostMortem, name)._django_fsm.transitions.values())).custom["label"]


def _after_transition(postmortem: PostMortem, name: str, *, by, comments: str) -> None:
    incident = postmortem.incident
    url = postmortem.get_absolute_url()
    if name == "submit":
        reviewers = [incident.incident_manager] if incident.incident_manager_id else list(managers())
        notify(subject=postmortem, reason=f"postmortem.submitted.{postmortem.version}",
               recipients=[u for u in reviewers if u != by], incident=incident, url=url,
               title=f"Post-mortem for {incident.reference} is ready for review")
    elif name == "return_to_drafting":
        notify(subject=postmortem, reason=f"postmortem.returned.{postmortem.version}",
               recipients=[u for u in [postmortem.owner] if u != by], incident=incident, url=url,
               title=f"Post-mortem for {incident.reference} needs changes", body=comments)
    elif name == "publish":
        postmortem_schedule_timers(postmortem)  # settled: drops the reminder and due timers
        timeline_record(incident, kind=TimelineEntry.Kind.POSTMORTEM, by=by, is_key_event=True,
                        text=f"{display_name(by)} published the post-mortem.",
                        data={"postmortem": postmortem.pk, "event": "published"})


@transaction.atomic
def postmortem_waive(incident: Incident, *, by, reason: str) -> PostMortem:
    """A Manager decides this incident needs no (further) review: closing is then allowed."""
    require_perm(by, "postmortems.waive_postmortem", "waive post-mortems")
    if not reason.strip():
        raise ActionRefused("Say why the post-mortem is waived.")
    existing = PostMortem.objects.filter(incident=incident).first()
    if existing is None:
        incident = Incident.objects.select_related("severity").get(pk=incident.pk)
        existing = postmortem_create(incident=incident, by=None, owner=None)
    postmortem = _lock(existing)
    if postmortem.state == PostMortem.State.PUBLISHED:
        raise ActionRefused(f"The post-mortem for {incident.reference} is already published.")
    if postmortem.waived:
        raise ActionRefused(f"The post-mortem for {incident.reference} is already waived.")
    postmortem.waived = True
    postmortem.waived_reason = reason.strip()
    postmortem.waived_by = by
    postmortem.waived_at = timezone.now()
    _save(postmortem, by=by, reason=f"Waived: {reason.strip()}")
    postmortem_schedule_timers(postmortem)
    timeline_record(postmortem.incident, kind=TimelineEntry.Kind.POSTMORTEM, by=by,
                    is_key_event=True,
                    text=f"{display_name(by)} waived the post-mortem. Reason: {reason.strip()}",
                    data={"postmortem": postmortem.pk, "event": "waived"})
    return postmortem


# --- Action items ---------------------------------------------------------------------------


def action_item_schedule_timers(item: ActionItem) -> None:
    """Remind before the due date and escalate after it, as the ReviewReminder rows say, and
    tell the owner when it passes."""
    deadline_cancel(subject=item, key_prefix="action_item.")
    if not item.is_unfinished:
        return
    incident = item.postmortem.incident
    payload = {"due_date": item.due_date.isoformat()}
    _schedule_reminders(item, kind_of=ReviewReminder.Subject.ACTION_ITEM, due=item.due_moment,
                        incident=incident, payload=payload)
    deadline_schedule(subject=item, key="action_item.overdue", kind="action_item.overdue",
                      due_at=item.due_moment, incident=incident,
                      payload={**payload, "escalations_scheduled": True})


def _may_edit_item(user, item: ActionItem) -> bool:
    if user is None or user.has_perm("postmortems.manage_action_items"):
        return True
    return item.owner_id == user.pk and user.has_perm("postmortems.change_actionitem")


def _validate_item(item: ActionItem) -> None:
    try:
        item.full_clean(exclude=["postmortem", "owner", "created_by", "state"])
    except ValidationError as exc:
        raise ActionRefused([f"{field.replace('_', ' ').capitalize()}: {message}"
                             for field, messages in exc.message_dict.items()
                             for message in messages]) from exc


def _check_item_fields(fields: dict) -> None:
    if "title" in fields and not (fields["title"] or "").strip():
        raise ActionRefused("An action item needs a title.")
    if "owner" in fields and fields["owner"] is None:
        raise ActionRefused("An action item needs an owner.")
    due = fields.get("due_date")
    if "due_date" in fields and not isinstance(due, date):
        raise ActionRefused("An action item needs a due date.")
    require_datetime_in_range(due, "due date")


@transaction.atomic
def action_item_create(
    postmortem: PostMortem, *, by, title: str, owner, due_date: date,
    priority: str = ActionItem.Priority.MEDIUM, kind: str = ActionItem.Kind.PREVENTION,
    description: str = "", ticket_url: str = "", follow_up: str = "",
) -> ActionItem:
    require_perm(by, "postmortems.add_actionitem", "add action items")
    _check_item_fields({"title": title, "owner": owner, "due_date": due_date})
    if due_date < timezone.localdate():
        raise ActionRefused("The due date cannot be in the past.")
    postmortem = _lock(postmortem)
    if postmortem.waived:
        raise ActionRefused(f"The post-mortem for {postmortem.incident.reference} was waived.")
    item = ActionItem(postmortem=postmortem, title=title.strip(), owner=owner, due_date=due_date,
                      priority=priority, kind=kind, description=description.strip(),
                      ticket_url=ticket_url.strip(), follow_up=follow_up, created_by=by)
    _validate_item(item)
    _save(item, by=by, reason="Created")
    # Whoever owns a follow-up may read the incident it comes from, restricted or not.
    participants_add(postmortem.incident, [owner], reason=IncidentParticipant.Reason.ADDED)
    action_item_schedule_timers(item)
    if owner != by:
        notify(subject=item, reason="action_item.assigned", recipients=[owner],
               incident=postmortem.incident, url=item.get_absolute_url(),
               title=f"New action item for you: {item.title} (due {item.due_date:%a %d %b %Y})")
    return item


@transaction.atomic
def action_item_create_from_follow_up(
    postmortem: PostMortem, *, by, follow_up: str, owner, due_date: date,
) -> ActionItem:
    """Turn one of the review's follow-up tasks (FollowUpTask) into a tracked action item."""
    task = FollowUpTask.objects.filter(slug=follow_up, is_active=True).first()
    if task is None:
        raise ActionRefused(f"Unknown follow-up task “{follow_up}”.")
    if postmortem.action_items.filter(follow_up=follow_up).exists():
        raise ActionRefused(f"“{task.label}” already has an action item.")
    return action_item_create(postmortem, by=by, title=task.label, owner=owner,
                              due_date=due_date, kind=task.kind, follow_up=follow_up)


def _lock_item(item: ActionItem) -> ActionItem:
    return ActionItem.objects.select_for_update(of=("self",)).select_related(
        "postmortem__incident").get(pk=item.pk)


@transaction.atomic
def action_item_update(item: ActionItem, *, by, **fields: Any) -> ActionItem:
    unknown = set(fields) - set(ACTION_ITEM_FIELDS)
    if unknown:
        raise TypeError(f"Unknown action item fields: {sorted(unknown)}")
    item = _lock_item(item)
    if not _may_edit_item(by, item):
        raise ActionRefused("Only the owner or an incident manager can change this action item.")
    if "owner" in fields and fields["owner"] != item.owner and by is not None \
            and not by.has_perm("postmortems.manage_action_items"):
        raise ActionRefused("Only an incident manager can give an action item to someone else.")
    if not item.is_unfinished:
        raise ActionRefused(f"“{item.title}” is {item.get_state_display().lower()}; reopen it "
                            "to change it.")
    _check_item_fields(fields)
    old_owner, old_due = item.owner, item.due_date
    for field, value in fields.items():
        setattr(item, field, value.strip() if isinstance(value, str) else value)
    if item.due_date != old_due and item.due_date < timezone.localdate():
        raise ActionRefused("The due date cannot be in the past.")
    _validate_item(item)
    _save(item, by=by, reason="Edited")
    if item.due_date != old_due or item.owner != old_owner:
        action_item_schedule_timers(item)
    if item.owner != old_owner:
        participants_add(item.postmortem.incident, [item.owner],
                         reason=IncidentParticipant.Reason.ADDED)
    if item.owner != old_owner and item.owner != by:
        notify(subject=item, reason=f"action_item.assigned.{item.owner.pk}",
               recipients=[item.owner], incident=item.postmortem.incident,
               url=item.get_absolute_url(), title=f"Action item given to you: {item.title}")
    return item


@transaction.atomic
def action_item_transition(item: ActionItem, name: str, *, by, reason: str = "") -> ActionItem:
    """start, complete, wont_do (needs a reason) or reopen."""
    if name not in ACTION_ITEM_TRANSITIONS:
        raise ActionRefused(f"Unknown action “{name}”.")
    item = _lock_item(item)
    if not _may_edit_item(by, item):
        raise ActionRefused("Only the owner or an incident manager can change this action item.")
    if name == "reopen" and by is not None and not by.has_perm("postmortems.manage_action_items") \
            and item.state == ActionItem.State.WONT_DO:
        raise ActionRefused("Only an incident manager can reopen an item that was declined.")
    method = getattr(item, name)
    label = next(iter(method._django_fsm.transitions.values())).custom["label"]
    if method._django_fsm.get_transition(item.state) is None:
        raise ActionRefused(f"“{item.title}” is {item.get_state_display().lower()}; "
                            f"“{label}” does not apply.")
    if name == "wont_do":
        if not reason.strip():
            raise ActionRefused("Say why this action item will not be done.")
        item.wont_do_reason = reason.strip()
    if not can_proceed(method):
        raise ActionRefused(f"“{label}” is not possible now.")
    method()
    _save(item, by=by, reason=f"{label}: {reason.strip()}" if reason.strip() else label)
    action_item_schedule_timers(item)
    return item
