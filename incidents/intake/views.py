"""Staff pages: the alerts list (recent, unmatched, suppressed), one alert, and the similar
incidents shown on the declare form while its title is typed."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render

from . import selectors
from .forms import AlertFilterForm
from incidents.models import Incident, Service

from .similar import similar_incidents

VIEW_ALERT = "intake.view_alert"


@login_required
@permission_required(VIEW_ALERT, raise_exception=True)
def alert_list(request):
    filter_form = AlertFilterForm(request.GET)
    alerts = selectors.alert_list(user=request.user, **filter_form.filters())
    # No count(*) over a million alerts: read one row past the page to know if there is more.
    size = settings.INCIDENTS_PAGE_SIZE
    number = _page_number(request.GET.get("page"))
    rows = list(alerts[(number - 1) * size:number * size + 1])
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "intake/alert_list.html", {
        "filter_form": filter_form, "alerts": rows[:size], "page_number": number,
        "has_next": len(rows) > size, "query": query.urlencode(),
    })


def _page_number(value) -> int:
    try:
        return min(max(int(value), 1), 10_000)
    except (TypeError, ValueError):
        return 1


@login_required
@permission_required(VIEW_ALERT, raise_exception=True)
def alert_detail(request, pk: int):
    alert = get_object_or_404(selectors.visible_alerts(request.user), pk=pk)
    similar = similar_incidents(user=request.user, title=alert.title, labels=alert.labels,
                                description=alert.annotations.get("description", ""),
                                exclude=alert.incident)
    can_mark_duplicate = (alert.incident is not None
                          and alert.incident.state in Incident.EARLY_STATES
                          and request.user.has_perm("incidents.cancel_incident"))
    return render(request, "intake/alert_detail.html", {
        "alert": alert, "similar": similar, "can_mark_duplicate": can_mark_duplicate})


# What a search is asked with is bounded: words past these lengths add nothing to a match.
TYPED_TITLE_LIMIT = 200
TYPED_DESCRIPTION_LIMIT = 2_000


@login_required
@permission_required("incidents.declare_incident", raise_exception=True)
def similar_while_declaring(request):
    """Open possible duplicates (and similar past incidents) of what is being typed on the declare
    form, among the incidents the person may see; asked again as the title or services change."""
    service_ids = [int(value) for value in request.GET.getlist("services")[:50]
                   if value.isdigit() and len(value) < 12]
    similar = similar_incidents(
        user=request.user,
        title=request.GET.get("title", "")[:TYPED_TITLE_LIMIT],
        description=request.GET.get("description", "")[:TYPED_DESCRIPTION_LIMIT],
        services=list(Service.objects.filter(pk__in=service_ids)))
    return render(request, "intake/_declare_similar_list.html", {"similar": similar})
