"""Reads for the review and action item pages, each with what its page needs joined in."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from incidents.models import Incident
from incidents.selectors import restrict_to_visible, visible_incidents

from . import roi
from .models import ActionItem, PostMortem


def postmortem_list(*, user, state: str = "", overdue: bool = False, owner=None,
                    search: str = "") -> QuerySet[PostMortem]:
    qs = restrict_to_visible(PostMortem.objects.all(), user).select_related(
        "incident", "incident__severity", "owner").annotate(
        open_action_items=Count("action_items",
                                filter=Q(action_items__state__in=ActionItem.UNFINISHED_STATES)),
    )
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(due_at__lt=timezone.now(), waived=False).exclude(
            state=PostMortem.State.PUBLISHED)
    if owner is not None:
        qs = qs.filter(owner=owner)
    if search:
        qs = qs.filter(Q(incident__reference__icontains=search) | Q(title__icontains=search))
    return qs.order_by("-created_at")


def postmortem_detail(reference: str, user) -> PostMortem:
    """Raises PostMortem.DoesNotExist also when `user` may not see its incident."""
    return (
        restrict_to_visible(PostMortem.objects.all(), user).select_related(
            "incident", "incident__severity", "incident__incident_manager", "owner",
            "waived_by", "published_by",
        )
        .prefetch_related("services_affected", "attendees", "timeline",
                          "action_items__owner")
        .get(incident__reference=reference)
    )


def related_incidents(incident: Incident, user, *, limit: int = 10) -> list[Incident]:
    """Earlier incidents on the same service(s) and of the same type that `user` may see:
    is this recurring?"""
    service_ids = [service.pk for service in incident.services.all()]
    if not service_ids:
        return []
    return list(
        visible_incidents(user).filter(services__in=service_ids,
                                       incident_type=incident.incident_type_id,
                                declared_at__lt=incident.declared_at)
        .exclude(pk=incident.pk).select_related("severity").distinct()
        .order_by("-declared_at")[:limit]
    )


def visible_action_items(user) -> QuerySet[ActionItem]:
    return restrict_to_visible(ActionItem.objects.all(), user, via="postmortem__incident")


def action_item_list(*, user, owner=None, state: str = "unfinished", overdue: bool = False,
                     kind: str = "", postmortem=None) -> QuerySet[ActionItem]:
    qs = visible_action_items(user).select_related("owner", "postmortem__incident__severity")
    if state == "unfinished":
        qs = qs.unfinished()
    elif state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.overdue()
    if owner is not None:
        qs = qs.filter(owner=owner)
    if kind:
        qs = qs.filter(kind=kind)
    if postmortem is not None:
        qs = qs.filter(postmortem=postmortem)
    return qs.order_by("due_date", "id")


def action_item_counts(user=None) -> dict[str, int]:
    """Open and overdue action items, overall and the user's own, in one query (dashboard)."""
    today = timezone.localdate()
    unfinished = Q(state__in=ActionItem.UNFINISHED_STATES)
    overdue = unfinished & Q(due_date__lt=today)
    mine = Q(owner=user) if user is not None and user.is_authenticated else Q(pk__in=[])
    return ActionItem.objects.aggregate(
        open=Count("pk", filter=unfinished),
        overdue=Count("pk", filter=overdue),
        mine_open=Count("pk", filter=unfinished & mine),
        mine_overdue=Count("pk", filter=overdue & mine),
    )


def overdue_postmortem_count() -> int:
    return PostMortem.objects.filter(due_at__lt=timezone.now(), waived=False).exclude(
        state=PostMortem.State.PUBLISHED).count()


def postmortem_roi(postmortem: PostMortem) -> roi.RoiResult:
    return roi.compute(roi.inputs_for(postmortem.incident, postmortem))
