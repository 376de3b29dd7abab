"""Staff pages that read: dashboard, incident list, incident detail; and the declare form."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers

from .. import selectors, services
from ..errors import ActionRefused
from ..forms import (
    TRANSITION_FORMS,
    ImpactForm,
    IncidentDeclareForm,
    IncidentFilterForm,
    NoteForm,
    RoleAssignForm,
    SeverityChangeForm,
    VisibilityForm,
)
from ..models import Incident
from . import panels

VIEW_INCIDENT = "incidents.view_incident"


def get_incident_or_404(reference: str, user) -> Incident:
    try:
        return selectors.incident_detail(reference, user)
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None


@login_required
def dashboard(request):
    context = {"can_view": request.user.has_perm(VIEW_INCIDENT)}
    if context["can_view"]:
        context.update(
            open_counts=selectors.open_counts_by_severity_and_state(request.user),
            open_states=[Incident.State(state) for state in Incident.OPEN_STATES],
            mine=selectors.incidents_with_role(request.user),
            recently_resolved=selectors.recently_resolved(request.user),
        )
        templates, panel_context = panels.collect(panels.DASHBOARD_PANELS, request)
        context.update(panel_context, panel_templates=templates)
    return render(request, "incidents/dashboard.html", context)


@login_required
@permission_required(VIEW_INCIDENT, raise_exception=True)
def incident_list(request):
    filter_form = IncidentFilterForm(request.GET)
    incidents = selectors.incident_list(user=request.user, **filter_form.filters())
    page = selectors.incident_list_page(
        incidents, user=request.user, size=settings.INCIDENTS_PAGE_SIZE,
        before=_positive_id(request.GET.get("before")),
        after=_positive_id(request.GET.get("after")))
    context = {"filter_form": filter_form, "page": page, "incidents": page.incidents,
               "count_cap": f"{selectors.LIST_COUNT_CAP:,}"}
    if request.htmx and not request.htmx.boosted:
        response = render(request, "incidents/_incident_table.html", context)
    else:
        response = render(request, "incidents/incident_list.html", context)
    # The same URL answers with a fragment or a page; caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@permission_required("incidents.declare_incident", raise_exception=True)
def incident_declare(request):
    form = IncidentDeclareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.incident_declare(by=request.user, **form.service_kwargs())
        except ActionRefused as exc:
            for reason in exc.reasons:
                form.add_error(None, reason)
        else:
            messages.success(request, f"{incident.reference} declared as {incident.severity}.")
            return redirect(incident)
    status = 400 if form.is_bound else 200
    templates, panel_context = panels.collect(panels.DECLARE_PANELS, request)
    return render(request, "incidents/incident_declare.html",
                  {"form": form, "panel_templates": templates, **panel_context}, status=status)


@login_required
@permission_required(VIEW_INCIDENT, raise_exception=True)
def incident_detail(request, reference: str):
    return render_incident_detail(request, get_incident_or_404(reference, request.user))


def _positive_id(value: str | None) -> int | None:
    """A page anchor (`?before=`, `?after=`); anything but a positive number is ignored."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


def render_incident_detail(request, incident: Incident, *, bound: dict | None = None,
                           status: int = 200):
    """The incident page. `bound` replaces blank forms with the user's submitted ones (keys:
    "note", "severity", "role", "impact", or a transition name), so a refused or invalid
    submission is shown again with everything the user typed."""
    bound = bound or {}
    user = request.user
    transitions = []
    for choice in selectors.transition_choices(incident, user):
        name = choice["name"]
        form = bound.get(name) or TRANSITION_FORMS[name](incident=incident, prefix=name)
        transitions.append({**choice, "form": form})

    can = {
        "note": user.has_perm("incidents.add_timelineentry"),
        "work": user.has_perm("incidents.work_incident"),
        "severity": incident.is_open and user.has_perm("incidents.change_incident_severity"),
        "roles": user.has_perm("incidents.assign_incident_roles"),
        "visibility": user.has_perm("incidents.change_incident_visibility"),
    }
    responders = list(incident.responders.all())
    context = {
        "incident": incident,
        "responders": responders,
        "is_responder": any(person.pk == user.pk for person in responders),
        "timeline": selectors.incident_timeline(
            incident, before=_positive_id(request.GET.get("before"))),
        "transitions": [t for t in transitions if not t["blocked_by"]],
        "blocked_transitions": [t for t in transitions if t["blocked_by"]],
        "can": can,
        "note_form": bound.get("note") or (NoteForm(prefix="note") if can["note"] else None),
        "severity_form": bound.get("severity") or (
            SeverityChangeForm(incident=incident, prefix="severity") if can["severity"] else None),
        "role_form": bound.get("role") or (
            RoleAssignForm(incident=incident, prefix="role") if can["roles"] else None),
        "impact_form": bound.get("impact") or (
            ImpactForm(incident=incident, prefix="impact") if can["work"] else None),
        "visibility_form": bound.get("visibility") or (
            VisibilityForm(incident=incident, prefix="visibility") if can["visibility"] else None),
        # Named only if the viewer may see it too (a restricted original stays unnamed).
        "duplicate_of": incident.duplicate_of if incident.duplicate_of and selectors.can_see(
            user, incident.duplicate_of) else None,
        "participants": list(incident.participants.select_related("user").order_by("added_at"))
        if incident.is_restricted else [],
    }
    templates, panel_context = panels.collect(panels.INCIDENT_PANELS, request, incident)
    context.update(panel_context, panel_templates=templates)
    return render(request, "incidents/incident_detail.html", context, status=status)
