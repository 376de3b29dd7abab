"""Staff pages: the alerts list (recent, unmatched, suppressed) and one alert."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render

from . import selectors
from .forms import AlertFilterForm
from incidents.models import Incident

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
