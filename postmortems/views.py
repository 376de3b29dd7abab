"""Review and action item pages. Views validate input and call services; a refusal comes back
as a message or a form error, and changes nothing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from incidents.errors import ActionRefused
from incidents.selectors import visible_incidents

from . import exports, selectors, services
from .forms import (
    SECTION_FORMS,
    ActionItemFilterForm,
    ActionItemForm,
    CommentsForm,
    FollowUpActionForm,
    PostMortemFilterForm,
    ReasonForm,
    TimelineAddForm,
    TimelineFormSet,
)
from .models import ActionItem, PostMortem

PAGE_SIZE = 25


# What a person reads after each step ("publish done." read like a machine).
TRANSITION_DONE = {
    "start_drafting": "being drafted",
    "submit": "submitted for review",
    "return_to_drafting": "back in drafting",
    "publish": "published",
}


def _postmortem_or_404(reference: str, user) -> PostMortem:
    try:
        return selectors.postmortem_detail(reference, user)
    except PostMortem.DoesNotExist as exc:
        raise Http404(f"No post-mortem for {reference}.") from exc


def _refused(request, exc: ActionRefused) -> None:
    for reason in exc.reasons:
        messages.error(request, reason)


def _next_or(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


# --- Reviews --------------------------------------------------------------------------------


@login_required
@permission_required("postmortems.view_postmortem", raise_exception=True)
def postmortem_list(request):
    form = PostMortemFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.postmortem_list(
        user=request.user, state=filters.get("state", ""), overdue=filters.get("overdue", False),
        owner=request.user if filters.get("mine") else None, search=filters.get("q", ""),
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "postmortems/list.html", {
        "form": form, "page": page, "overdue_count": selectors.overdue_postmortem_count(),
    })


@login_required
@permission_required("postmortems.view_postmortem", raise_exception=True)
def postmortem_detail(request, reference):
    postmortem = _postmortem_or_404(reference, request.user)
    user = request.user
    transitions = [
        {"name": name, "label": services._transition_label(name)}
        for name in services.POSTMORTEM_TRANSITIONS
        if not postmortem.waived and getattr(postmortem, name)._django_fsm.has_transition_perm(
            postmortem, postmortem.state, user)
    ]
    return render(request, "postmortems/detail.html", {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "roi": selectors.postmortem_roi(postmortem),
        "related": selectors.related_incidents(postmortem.incident, request.user)
        if postmortem.is_editable else [],
        "transitions": transitions,
        "sections": SECTION_FORMS,
        "comments_form": CommentsForm(),
        "follow_up_form": FollowUpActionForm(initial={"owner": postmortem.owner_id}),
        "can_edit": postmortem.is_editable and not postmortem.waived
        and user.has_perm("postmortems.change_postmortem"),
        "can_add_items": user.has_perm("postmortems.add_actionitem") and not postmortem.waived,
        "submit_refusals": postmortem.submit_refusals()
        if postmortem.state == PostMortem.State.DRAFTING else [],
    })


@login_required
@permission_required("postmortems.add_postmortem", raise_exception=True)
def postmortem_create(request, reference):
    incident = get_object_or_404(visible_incidents(request.user).select_related("severity"),
                                 reference=reference)
    if PostMortem.objects.filter(incident=incident).exists():
        return redirect("postmortems:detail", reference=reference)
    if request.method == "POST":
        try:
            services.postmortem_create(incident=incident, by=request.user)
        except ActionRefused as exc:
            _refused(request, exc)
        else:
            messages.success(request, f"Post-mortem for {reference} scheduled.")
            return redirect("postmortems:detail", reference=reference)
    return render(request, "postmortems/create.html", {"incident": incident})


@login_required
@permission_required("postmortems.view_postmortem", raise_exception=True)
def postmortem_section_edit(request, reference, section):
    if section not in SECTION_FORMS:
        raise Http404("No such section.")
    perm = ("postmortems.review_postmortem" if section == "planning"
            else "postmortems.change_postmortem")
    postmortem = _postmortem_or_404(reference, request.user)  # hidden or unknown: 404 first
    if not request.user.has_perm(perm):
        messages.error(request, "You do not have permission to edit this section.")
        return redirect("postmortems:detail", reference=reference)
    title, form_class = SECTION_FORMS[section]
    form = form_class(request.POST or None, instance=postmortem)
    if request.method == "POST" and form.is_valid():
        try:
            services.postmortem_update(
                postmortem, by=request.user, section=section,
                expected_version=form.cleaned_data["version"], **form.service_values(),
            )
        except ActionRefused as exc:
            form.add_error(None, exc.reasons)
        else:
            messages.success(request, f"{title} saved.")
            return redirect(reverse("postmortems:detail", args=[reference]) + f"#{section}")
    return render(request, "postmortems/section_form.html", {
        "postmortem": postmortem, "incident": postmortem.incident, "form": form,
        "section": section, "section_title": title,
        "related": selectors.related_incidents(postmortem.incident, request.user)
        if section in ("analysis", "summary") else [],
    })


@login_required
@permission_required("postmortems.change_postmortem", raise_exception=True)
def postmortem_timeline(request, reference):
    postmortem = _postmortem_or_404(reference, request.user)
    queryset = postmortem.timeline.all()
    formset = TimelineFormSet(request.POST or None, queryset=queryset, prefix="items")
    add_form = TimelineAddForm(request.POST or None, prefix="add")
    if request.method == "POST" and formset.is_valid() and add_form.is_valid():
        updates, deletions = {}, set()
        for form in formset.forms:
            if not form.instance.pk:
                continue
            if form.cleaned_data.get("DELETE"):
                deletions.add(form.instance.pk)
            elif form.has_changed():
                updates[form.instance.pk] = {
                    field: form.cleaned_data[field] for field in ("occurred_at", "text", "included")
                }
        try:
            services.postmortem_timeline_edit(postmortem, by=request.user, updates=updates,
                                              delete_ids=deletions, add=add_form.cleaned_data)
        except ActionRefused as exc:
            add_form.add_error(None, exc.reasons)
        else:
            messages.success(request, "Timeline saved.")
            return redirect(reverse("postmortems:detail", args=[reference]) + "#timeline")
    return render(request, "postmortems/timeline_form.html", {
        "postmortem": postmortem, "incident": postmortem.incident, "formset": formset,
        "add_form": add_form,
    })


@login_required
@require_POST
@permission_required("postmortems.change_postmortem", raise_exception=True)
def postmortem_timeline_import(request, reference):
    postmortem = _postmortem_or_404(reference, request.user)
    try:
        count = services.postmortem_timeline_import(postmortem, by=request.user)
    except ActionRefused as exc:
        _refused(request, exc)
    else:
        messages.success(request, f"Imported {count} new timeline entr{'y' if count == 1 else 'ies'}.")
    return redirect(reverse("postmortems:timeline", args=[reference]))


@login_required
@require_POST
@permission_required("postmortems.view_postmortem", raise_exception=True)
def postmortem_transition(request, reference, name):
    postmortem = _postmortem_or_404(reference, request.user)
    comments = ""
    if name == "return_to_drafting":
        form = CommentsForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Say what needs to change before the review can be published.")
            return redirect("postmortems:detail", reference=reference)
        comments = form.cleaned_data["comments"]
    try:
        services.postmortem_transition(postmortem, name, by=request.user, comments=comments)
    except ActionRefused as exc:
        _refused(request, exc)
    else:
        done = TRANSITION_DONE.get(name, "updated")
        messages.success(request, f"The review of {reference} is {done}.")
    return redirect("postmortems:detail", reference=reference)


@login_required
@permission_required("postmortems.waive_postmortem", raise_exception=True)
def postmortem_waive(request, reference):
    incident = get_object_or_404(visible_incidents(request.user).select_related("severity"),
                                 reference=reference)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.postmortem_waive(incident, by=request.user, reason=form.cleaned_data["reason"])
        except ActionRefused as exc:
            form.add_error(None, exc.reasons)
        else:
            messages.success(request, f"The post-mortem for {reference} was waived.")
            return redirect("postmortems:detail", reference=reference)
    return render(request, "postmortems/waive.html", {"incident": incident, "form": form})


# --- Exports --------------------------------------------------------------------------------


def _exportable(request, reference) -> PostMortem | None:
    postmortem = _postmortem_or_404(reference, request.user)
    if postmortem.state != PostMortem.State.PUBLISHED:
        messages.error(request, "Only a published review can be exported.")
        return None
    return postmortem


@login_required
@permission_required("postmortems.view_postmortem", raise_exception=True)
def export_markdown(request, reference):
    postmortem = _exportable(request, reference)
    if postmortem is None:
        return redirect("postmortems:detail", reference=reference)
    response = HttpResponse(exports.postmortem_markdown(postmortem),
                            content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="postmortem-{reference}.md"'
    return response


@login_required
@permission_required("postmortems.view_postmortem", raise_exception=True)
def export_pdf(request, reference):
    postmortem = _exportable(request, reference)
    if postmortem is None:
        return redirect("postmortems:detail", reference=reference)
    response = HttpResponse(exports.postmortem_pdf(postmortem), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="postmortem-{reference}.pdf"'
    return response


# --- Action items ---------------------------------------------------------------------------


@login_required
@permission_required("postmortems.add_actionitem", raise_exception=True)
def action_item_create(request, reference):
    postmortem = _postmortem_or_404(reference, request.user)
    form = ActionItemForm(request.POST or None, initial={"owner": postmortem.owner_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.action_item_create(postmortem, by=request.user, **form.cleaned_data)
        except ActionRefused as exc:
            form.add_error(None, exc.reasons)
        else:
            messages.success(request, "Action item added.")
            return redirect(reverse("postmortems:detail", args=[reference]) + "#action-items")
    return render(request, "postmortems/action_item_form.html", {
        "form": form, "postmortem": postmortem, "incident": postmortem.incident,
    })


@login_required
@require_POST
@permission_required("postmortems.add_actionitem", raise_exception=True)
def action_item_from_follow_up(request, reference):
    postmortem = _postmortem_or_404(reference, request.user)
    form = FollowUpActionForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form[field].label}: {error}"
                               if field in form.fields else error)
    else:
        try:
            services.action_item_create_from_follow_up(postmortem, by=request.user,
                                                       **form.cleaned_data)
        except ActionRefused as exc:
            _refused(request, exc)
        else:
            messages.success(request, "Follow-up task added as an action item.")
    return redirect(reverse("postmortems:detail", args=[reference]) + "#action-items")


@login_required
@permission_required("postmortems.view_actionitem", raise_exception=True)
def action_item_edit(request, pk):
    item = get_object_or_404(selectors.visible_action_items(request.user)
                             .select_related("postmortem__incident", "owner"), pk=pk)
    form = ActionItemForm(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        try:
            services.action_item_update(item, by=request.user, **form.cleaned_data)
        except ActionRefused as exc:
            form.add_error(None, exc.reasons)
        else:
            messages.success(request, "Action item saved.")
            return redirect(_next_or(request, item.postmortem.get_absolute_url()))
    item.refresh_from_db()  # the form wrote unsaved values onto the instance
    return render(request, "postmortems/action_item_form.html", {
        "form": form, "item": item, "postmortem": item.postmortem,
        "incident": item.postmortem.incident, "reason_form": ReasonForm(),
        "history": item.history.select_related("history_user").order_by("-history_date")[:20],
    })


@login_required
@require_POST
@permission_required("postmortems.view_actionitem", raise_exception=True)
def action_item_transition(request, pk, name):
    item = get_object_or_404(selectors.visible_action_items(request.user)
                             .select_related("postmortem__incident"), pk=pk)
    try:
        services.action_item_transition(item, name, by=request.user,
                                        reason=request.POST.get("reason", ""))
    except ActionRefused as exc:
        _refused(request, exc)
    else:
        messages.success(request, f"“{item.title}” updated.")
    return redirect(_next_or(request, item.get_absolute_url()))


def _action_item_page(request, *, mine: bool):
    form = ActionItemFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {"state": "unfinished"}
    owner = request.user if mine else filters.get("owner")
    qs = selectors.action_item_list(user=request.user, owner=owner,
                                    state=filters.get("state", "unfinished"),
                                    overdue=filters.get("overdue", False),
                                    kind=filters.get("kind", ""))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    if mine:
        form.fields.pop("owner")
    return render(request, "postmortems/action_item_list.html", {
        "form": form, "page": page, "mine": mine,
        "counts": selectors.action_item_counts(request.user),
    })


@login_required
def my_action_items(request):
    return _action_item_page(request, mine=True)


@login_required
@permission_required("postmortems.view_actionitem", raise_exception=True)
def action_items(request):
    return _action_item_page(request, mine=False)
