"""The war room: one page per incident with header, roster, transitions, live timeline,
checklists and communications. Views validate input and call services; refusals become
messages (or form errors), never a 500 and never a half-made change."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from incidents import roles as incident_roles
from incidents import selectors as incident_selectors
from incidents import services as incident_services
from incidents.errors import ActionRefused
from incidents.forms import TRANSITION_FORMS
from incidents.models import Incident, IncidentChecklistItem, MessageTemplate, TimelineEntry

from . import communications, selectors, services
from .forms import ComposeForm, QuickNoteForm, RosterForm, TimelineFilterForm
from .rendering import VARIABLES, MessageRenderError

VIEW_INCIDENT = "incidents.view_incident"
TIMELINE_LIMIT = 300
OPTIONAL_PARTS = {
    "sla_clocks_template": "escalation/_sla_clocks.html",
    "escalation_status_template": "escalation/_escalation_status.html",
    "alerts_template": "intake/_incident_alerts.html",
}


def staff_view(view):
    """Login, then the incident-viewing permission (403 otherwise), then the incident."""

    @login_required
    @wraps(view)
    def wrapper(request, reference, *args, **kwargs):
        if not request.user.has_perm(VIEW_INCIDENT):
            raise PermissionDenied
        try:
            incident = selectors.warroom_incident(reference, request.user)
        except Incident.DoesNotExist:
            raise Http404(f"No incident {reference}.") from None
        return view(request, incident, *args, **kwargs)

    return wrapper


def _room_url(incident) -> str:
    return reverse("warroom:room", kwargs={"reference": incident.reference})


def _due(incident, target):
    """When a severity target falls due (counted 24x7 from declaration, as a quick guide; the SLA
    panel has the real clocks), or None for no SLA."""
    return None if target is None else incident.declared_at + target


def _optional_templates() -> dict[str, str]:
    """Parts other areas provide (SLA clocks, escalation level), included once they exist."""
    found = {}
    for key, name in OPTIONAL_PARTS.items():
        try:
            get_template(name)
        except TemplateDoesNotExist:
            continue
        found[key] = name
    return found


def _refuse(request, incident, exc: ActionRefused):
    for reason in exc.reasons:
        messages.error(request, reason)
    return redirect(_room_url(incident))


# --- The page -----------------------------------------------------------------------------


@require_GET
@staff_view
def room(request, incident, *, bound: dict | None = None, status: int = 200):
    return render_room(request, incident, bound=bound, status=status)


def render_room(request, incident, *, bound: dict | None = None, status: int = 200):
    bound = bound or {}
    user = request.user
    now = timezone.now()
    filter_form = TimelineFilterForm(request.GET or None)
    kind = filter_form.cleaned_data.get("kind", "") if filter_form.is_valid() else ""
    entries, older_than = selectors.latest_timeline_entries(incident, kind=kind,
                                                            limit=TIMELINE_LIMIT)
    transitions = []
    for choice in incident_selectors.transition_choices(incident, user):
        name = choice["name"]
        form = bound.get(name) or TRANSITION_FORMS[name](incident=incident, prefix=name)
        transitions.append({**choice, "form": form})
    responders = list(incident.responders.all())
    can = {
        "note": user.has_perm("incidents.add_timelineentry"),
        "tick": services.can_tick(user, incident),
        "roles": user.has_perm("incidents.assign_incident_roles"),
        "send": communications.can_send_updates(user, incident),
    }
    cadence = communications.cadence_status(incident, now=now)
    context = {
        "incident": incident,
        "now": now,
        "responders": responders,
        "is_responder": any(person.pk == user.pk for person in responders),
        "entries": entries,
        "older_than": older_than,
        "last_entry_id": selectors.last_timeline_id(incident),
        "key_events": selectors.key_events(incident),
        "kind": kind,
        "kinds": TimelineEntry.Kind.choices,
        "transitions": transitions,
        "checklist": selectors.checklist_groups(incident, now=now),
        "team": services.incident_team(incident),
        "roster": incident_roles.roster(incident),
        "updates": selectors.status_updates(incident),
        "cadence": cadence,
        "next_update": next((c for c in cadence if not c.is_overdue), None),
        "overdue_updates": [c for c in cadence if c.is_overdue],
        "message_templates": list(communications.templates_for(incident)
                                  .select_related("severity", "audience")),
        "resolution_prompt": communications.public_resolution_prompt(incident),
        "can": can,
        "note_form": bound.get("note") or (QuickNoteForm(prefix="note") if can["note"] else None),
        "roster_form": bound.get("roster") or (RosterForm(prefix="roster") if can["roles"] else None),
        "resolution_target": _due(incident, incident.severity.resolution_target),
        "response_target": _due(incident, incident.severity.response_target),
        **_optional_templates(),
    }
    return render(request, "warroom/room.html", context, status=status)


# --- Live timeline ------------------------------------------------------------------------


@require_GET
@staff_view
def timeline_fragment(request, incident):
    """When anything was added after the page's newest entry (`after`), the timeline and key
    events as a reload would show them, plus an out-of-band poller carrying the new cursor;
    204 when nothing is new, so htmx leaves the page alone. The whole (bounded) list, not only
    the new entries: a backdated note belongs below newer ones, never on top."""
    form = TimelineFilterForm(request.GET)
    if not form.is_valid() or form.cleaned_data.get("after") is None:
        return HttpResponseBadRequest("Give `after` as the id of the newest entry shown.")
    last_entry_id = selectors.last_timeline_id(incident)
    if last_entry_id <= form.cleaned_data["after"]:
        return HttpResponse(status=204)
    kind = form.cleaned_data.get("kind") or ""
    entries, older_than = selectors.latest_timeline_entries(incident, kind=kind,
                                                            limit=TIMELINE_LIMIT)
    context = {
        "incident": incident,
        "entries": entries,
        "older_than": older_than,
        "key_events": selectors.key_events(incident),
        "last_entry_id": last_entry_id,
        "kind": kind,
    }
    return render(request, "warroom/_timeline_fragment.html", context)


@require_POST
@staff_view
def add_note(request, incident):
    if not request.user.has_perm("incidents.add_timelineentry"):
        raise PermissionDenied
    form = QuickNoteForm(request.POST, prefix="note")
    if form.is_valid():
        try:
            incident_services.timeline_add_note(
                incident, by=request.user, text=form.cleaned_data["text"],
                occurred_at=form.cleaned_data["occurred_at"],
                is_key_event=form.cleaned_data["is_key_event"],
            )
        except ActionRefused as exc:
            for reason in exc.reasons:
                form.add_error(None, reason)
    if request.htmx:
        response = render(request, "warroom/_note_form.html", {
            "incident": incident, "note_form": form if form.errors else QuickNoteForm(prefix="note"),
        })
        if not form.errors:
            response["HX-Trigger"] = "timeline-refresh"
        return response
    if form.errors:
        messages.error(request, "The note was not added: please correct the form below.")
        return render_room(request, incident, bound={"note": form}, status=400)
    messages.success(request, "Note added to the timeline.")
    return redirect(_room_url(incident))


# --- Roster and transitions ---------------------------------------------------------------


@require_POST
@staff_view
def join_or_leave(request, incident):
    joined = request.POST.get("action") == "join"
    try:
        incident_services.incident_set_responder(incident, by=request.user, user=request.user,
                                                 joined=joined)
    except ActionRefused as exc:
        return _refuse(request, incident, exc)
    messages.success(request, "You joined the response." if joined else "You left the response.")
    return redirect(_room_url(incident))


@require_POST
@staff_view
def assign_role(request, incident):
    form = RosterForm(request.POST, prefix="roster")
    if not form.is_valid():
        messages.error(request, "Nothing was changed: please correct the form below.")
        return render_room(request, incident, bound={"roster": form}, status=400)
    role, person = form.cleaned_data["role"], form.cleaned_data["user"]
    try:
        if role == "responder":
            incident_services.incident_set_responder(incident, by=request.user, user=person,
                                                     joined=True)
        else:
            incident_services.incident_assign_role(
                incident, by=request.user, role=role, user=person,
                reason=form.cleaned_data["reason"].strip(),
            )
    except ActionRefused as exc:
        return _refuse(request, incident, exc)
    messages.success(request, "Roster updated.")
    return redirect(_room_url(incident))


@require_POST
@staff_view
def remove_responder(request, incident, user_id: int):
    person = next((p for p in incident.responders.all() if p.pk == user_id), None)
    if person is None:
        raise Http404("That person is not a responder on this incident.")
    try:
        incident_services.incident_set_responder(incident, by=request.user, user=person,
                                                 joined=False)
    except ActionRefused as exc:
        return _refuse(request, incident, exc)
    messages.success(request, "Responder removed.")
    return redirect(_room_url(incident))


@require_POST
@staff_view
def transition(request, incident, name: str):
    if name not in incident_services.TRANSITION_SERVICES:
        raise Http404(f"No action “{name}”.")
    form = TRANSITION_FORMS[name](request.POST, incident=incident, prefix=name,
                                   user=request.user)
    if not form.is_valid():
        messages.error(request, "Nothing was changed: please correct the form below.")
        return render_room(request, incident, bound={name: form}, status=400)
    try:
        incident = incident_services.TRANSITION_SERVICES[name](
            incident, by=request.user, **form.service_kwargs())
    except ActionRefused as exc:
        return _refuse(request, incident, exc)
    messages.success(request, f"{incident.reference} is now {incident.get_state_display().lower()}.")
    return redirect(_room_url(incident))


# --- Checklist ----------------------------------------------------------------------------


@require_POST
@staff_view
def tick_item(request, incident, item_id: int):
    item = get_object_or_404(IncidentChecklistItem, pk=item_id, incident=incident)
    done = request.POST.get("done") == "1"
    try:
        item = services.checklist_item_set_done(item, by=request.user, done=done)
    except ActionRefused as exc:
        if request.htmx:
            return HttpResponse(" ".join(exc.reasons), status=409)
        return _refuse(request, incident, exc)
    if request.htmx:
        # The whole card, so the phase headers' "n/m done" count the tick as a reload would.
        response = render(request, "warroom/_checklist.html", {
            "incident": incident, "can": {"tick": True}, "team": services.incident_team(incident),
            "checklist": selectors.checklist_groups(incident, now=timezone.now()),
        })
        response["HX-Trigger"] = "timeline-refresh"
        return response
    return redirect(_room_url(incident) + "#checklist")


@require_POST
@staff_view
def assign_item(request, incident, item_id: int):
    item = get_object_or_404(IncidentChecklistItem, pk=item_id, incident=incident)
    team = {str(person.pk): person for person in services.incident_team(incident)}
    choice = request.POST.get("assignee", "")
    if choice and choice not in team:
        messages.error(request, "Choose someone on the incident's team.")
        return redirect(_room_url(incident) + "#checklist")
    try:
        services.checklist_item_assign(item, by=request.user, assignee=team.get(choice))
    except ActionRefused as exc:
        return _refuse(request, incident, exc)
    return redirect(_room_url(incident) + f"#item-{item.pk}")


# --- Communications -----------------------------------------------------------------------


@staff_view
def compose(request, incident):
    """Start from a template (?template=id), edit, preview, send."""
    if not communications.can_send_updates(request.user, incident):
        raise PermissionDenied
    preview = None
    template = None
    render_error = ""
    if request.method == "POST":
        form = ComposeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if request.POST.get("action") == "send":
                try:
                    communications.status_update_send(
                        incident, by=request.user, audience=data["audience"], stage=data["stage"],
                        subject=data["subject"], body=data["body"], template=data["template"],
                        is_public=data["is_public"],
                    )
                except ActionRefused as exc:
                    for reason in exc.reasons:
                        form.add_error(None, reason)
                else:
                    messages.success(request, "Update sent.")
                    if request.htmx:
                        response = HttpResponse(status=204)
                        response["HX-Redirect"] = _room_url(incident)
                        return response
                    return redirect(_room_url(incident))
            else:
                preview = {"subject": data["subject"], "body": data["body"]}
    else:
        initial = {}
        template_id = request.GET.get("template")
        if template_id:
            if not template_id.isdigit():
                return HttpResponseBadRequest("`template` is the id of a message template.")
            template = get_object_or_404(MessageTemplate, pk=template_id, is_active=True)
            initial = {"template": template.pk, "audience": template.audience_id,
                       "stage": template.stage, "is_public": template.audience.may_publish}
        form = ComposeForm(initial=initial)
        if template is not None:
            try:
                subject, body = communications.message_render(template, incident)
            except MessageRenderError as exc:
                render_error = (f"The template “{template.name}” cannot be used: {exc} "
                                "A manager can fix it in the admin.")
            else:
                form.initial.update(subject=subject, body=body)
    audience = form["audience"].value()
    context = {
        "incident": incident,
        "form": form,
        "template": template,
        "preview": preview,
        "render_error": render_error,
        "recipients": communications.audience_recipients(incident, audience) if audience else [],
        "contacts": communications.audience_contacts(incident, audience) if audience else [],
        "variables": VARIABLES,
    }
    if request.htmx:  # htmx swaps only 2xx answers; the errors are in the fragment
        return render(request, "warroom/_compose.html", context)
    failed = form.errors or render_error
    return render(request, "warroom/compose.html", context, status=400 if failed else 200)
