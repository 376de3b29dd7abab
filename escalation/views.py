"""Escalation pages: manual escalation and acknowledgement from the incident page, and who is on
call now. Views validate input and call escalation.services; refusals become form errors or
messages, never a 500."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from incidents.errors import ActionRefused
from incidents.models import Incident
from incidents.selectors import visible_incidents

from . import selectors, services
from .forms import EscalateForm
from .models import EscalationEvent


def _incident(reference: str, user) -> Incident:
    try:
        return (visible_incidents(user).select_related("severity", "incident_manager", "reporter")
                .get(reference=reference))
    except Incident.DoesNotExist:
        raise Http404(f"No incident {reference}.") from None


def _back(request, incident: Incident):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(services.incident_url(incident))


@login_required
def escalate(request, reference: str):
    """GET shows the form and the escalation history; POST escalates. With htmx, only the form
    part is returned, so the incident page or war room swaps it in place."""
    if not request.user.has_perm("escalation.escalate_incident"):
        raise PermissionDenied
    incident = _incident(reference, request.user)
    form = EscalateForm(request.POST or None, incident=incident)
    if request.method == "POST" and form.is_valid():
        try:
            event = services.incident_escalate(
                incident, by=request.user, level=form.cleaned_data["level"],
                reason_category=form.cleaned_data["reason_category"],
                note=form.cleaned_data["note"])
        except ActionRefused as exc:
            for reason in exc.reasons:
                form.add_error(None, reason)
        else:
            messages.success(request, f"{incident.reference} escalated to L{event.level.number} "
                                      f"{event.level.name}; they have been notified.")
            if request.htmx:
                form = EscalateForm(incident=incident)
            else:
                return _back(request, incident)
    context = {"incident": incident, "escalate_form": form}
    if request.htmx:
        return render(request, "escalation/_escalate_form.html", context)
    return render(request, "escalation/escalate.html", context)


@login_required
@require_POST
def acknowledge(request, reference: str, pk: int):
    incident = _incident(reference, request.user)
    event = get_object_or_404(EscalationEvent.objects.select_related("level"), pk=pk,
                              incident=incident)
    try:
        services.escalation_acknowledge(event, by=request.user)
    except ActionRefused as exc:
        for reason in exc.reasons:
            messages.error(request, reason)
    else:
        messages.success(request, f"You acknowledged the escalation to L{event.level.number} "
                                  f"{event.level.name}.")
    return _back(request, incident)


@login_required
@permission_required("incidents.view_incident", raise_exception=True)
def oncall(request):
    """Who is on call: staff only (a signed-in account without a group sees nothing here)."""
    return render(request, "escalation/oncall.html",
                  {"rotas": selectors.oncall_overview(), "levels": selectors.escalation_levels()
                   .select_related("rota").prefetch_related("users", "groups")})
