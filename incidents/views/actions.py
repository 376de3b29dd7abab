"""POST handlers on the incident page. Each validates a form and calls one service. Success
redirects back to the page; invalid input (400) or a refusal (409) shows the page again with
the user's input kept and every reason listed, and nothing is changed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .. import services
from ..errors import ActionRefused, Conflict
from ..forms import (
    TRANSITION_FORMS,
    ImpactForm,
    NoteForm,
    RoleAssignForm,
    SeverityChangeForm,
    VisibilityForm,
)
from .pages import VIEW_INCIDENT, get_incident_or_404, render_incident_detail


def _refused(request, incident, exc: ActionRefused, bound: dict):
    for reason in exc.reasons:
        messages.error(request, reason)
    # Show the page as it is now (someone else's change included), with the user's input.
    fresh = get_incident_or_404(incident.reference, request.user)
    if isinstance(exc, Conflict):
        bound = {key: _rebase(form, fresh) for key, form in bound.items()}
        messages.info(request, "Your input is kept below. Check the current values on this page "
                               "and save again to apply it.")
    return render_incident_detail(request, fresh, bound=bound, status=409)


def _rebase(form, fresh):
    """The same input, now based on the current version, so saving again is a deliberate
    overwrite of the change the user has just been shown."""
    if "version" not in form.fields:
        return form
    data = form.data.copy()
    data[form.add_prefix("version")] = fresh.version
    rebased = type(form)(data, incident=fresh, prefix=form.prefix)
    rebased.is_valid()
    return rebased


def _invalid(request, incident, bound: dict):
    messages.error(request, "Nothing was changed: please correct the form below.")
    return render_incident_detail(request, incident, bound=bound, status=400)


def staff_action(view):
    return login_required(permission_required(VIEW_INCIDENT, raise_exception=True)(
        require_POST(view)))


@staff_action
def incident_transition(request, reference: str, name: str):
    if name not in services.TRANSITION_SERVICES:
        raise Http404(f"No action “{name}”.")
    incident = get_incident_or_404(reference, request.user)
    form = TRANSITION_FORMS[name](request.POST, incident=incident, prefix=name,
                                   user=request.user)
    if not form.is_valid():
        return _invalid(request, incident, {name: form})
    try:
        incident = services.TRANSITION_SERVICES[name](
            incident, by=request.user, **form.service_kwargs()
        )
    except ActionRefused as exc:
        return _refused(request, incident, exc, {name: form})
    messages.success(request, f"{incident.reference} is now {incident.get_state_display().lower()}.")
    return redirect(incident)


@staff_action
@permission_required("incidents.add_timelineentry", raise_exception=True)
def incident_add_note(request, reference: str):
    incident = get_incident_or_404(reference, request.user)
    form = NoteForm(request.POST, prefix="note")
    if not form.is_valid():
        return _invalid(request, incident, {"note": form})
    try:
        services.timeline_add_note(
            incident,
            by=request.user,
            text=form.cleaned_data["text"],
            occurred_at=form.cleaned_data["occurred_at"],
            is_key_event=form.cleaned_data["is_key_event"],
        )
    except ActionRefused as exc:
        return _refused(request, incident, exc, {"note": form})
    messages.success(request, "Note added to the timeline.")
    return redirect(incident)


@staff_action
def incident_change_severity(request, reference: str):
    incident = get_incident_or_404(reference, request.user)
    form = SeverityChangeForm(request.POST, incident=incident, prefix="severity")
    if not form.is_valid():
        return _invalid(request, incident, {"severity": form})
    try:
        incident = services.incident_change_severity(
            incident,
            by=request.user,
            severity=form.cleaned_data["severity"],
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except ActionRefused as exc:
        return _refused(request, incident, exc, {"severity": form})
    messages.success(request, f"Severity is now {incident.severity}.")
    return redirect(incident)


@staff_action
def incident_assign_role(request, reference: str):
    incident = get_incident_or_404(reference, request.user)
    form = RoleAssignForm(request.POST, incident=incident, prefix="role")
    if not form.is_valid():
        return _invalid(request, incident, {"role": form})
    try:
        incident = services.incident_assign_role(
            incident,
            by=request.user,
            role=form.cleaned_data["role"],
            user=form.cleaned_data["user"],
            reason=form.cleaned_data["reason"].strip(),
            expected_version=form.cleaned_data["version"],
        )
    except ActionRefused as exc:
        return _refused(request, incident, exc, {"role": form})
    label = dict(form.fields["role"].choices).get(form.cleaned_data["role"], "Role")
    messages.success(request, f"{label} updated.")
    return redirect(incident)


@staff_action
@permission_required("incidents.work_incident", raise_exception=True)
def incident_responder(request, reference: str):
    """Join or leave the response yourself."""
    incident = get_incident_or_404(reference, request.user)
    joined = request.POST.get("action") == "join"
    try:
        services.incident_set_responder(incident, by=request.user, user=request.user,
                                        joined=joined)
    except ActionRefused as exc:
        return _refused(request, incident, exc, {})
    messages.success(request, "You joined the response." if joined else "You left the response.")
    return redirect(incident)


@staff_action
def incident_update_impact(request, reference: str):
    incident = get_incident_or_404(reference, request.user)
    form = ImpactForm(request.POST, incident=incident, prefix="impact")
    if not form.is_valid():
        return _invalid(request, incident, {"impact": form})
    try:
        services.incident_update_impact(
            incident,
            by=request.user,
            reason=form.cleaned_data["reason"].strip(),
            expected_version=form.cleaned_data["version"],
            **form.changes(),
        )
    except ActionRefused as exc:
        return _refused(request, incident, exc, {"impact": form})
    messages.success(request, "Impact updated.")
    return redirect(incident)


@staff_action
@permission_required("incidents.change_incident_visibility", raise_exception=True)
def incident_change_visibility(request, reference: str):
    incident = get_incident_or_404(reference, request.user)
    form = VisibilityForm(request.POST, incident=incident, prefix="visibility")
    if not form.is_valid():
        return _invalid(request, incident, {"visibility": form})
    try:
        incident = services.incident_set_visibility(
            incident,
            by=request.user,
            restricted=form.cleaned_data["restricted"],
            groups=form.cleaned_data["groups"],
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except ActionRefused as exc:
        return _refused(request, incident, exc, {"visibility": form})
    messages.success(request, f"{incident.reference} is now "
                              f"{'restricted' if incident.is_restricted else 'visible to all staff'}.")
    return redirect(incident)
