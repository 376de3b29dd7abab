"""Reads for the alerts page, the alert view and the war room."""

from __future__ import annotations

from django.db.models import QuerySet

from incidents.selectors import restrict_to_visible

from .models import Alert

ALERT_LIST_FIELDS = ("integration", "incident", "incident__severity", "rule")


def visible_alerts(user) -> QuerySet[Alert]:
    """Alerts of incidents `user` may see, and alerts with no incident."""
    return restrict_to_visible(Alert.objects.select_related(*ALERT_LIST_FIELDS), user)


def alert_list(*, user, show: str = "recent", integration: str = "", state: str = "",
               search: str = "") -> QuerySet[Alert]:
    """`show`: recent (everything, newest first), unmatched (no rule matched and no incident),
    suppressed. Ordered by the indexed last_seen_at; the page slices it."""
    alerts = visible_alerts(user)
    if show == "unmatched":
        alerts = alerts.filter(rule__isnull=True, incident__isnull=True, is_suppressed=False)
    elif show == "suppressed":
        alerts = alerts.filter(is_suppressed=True)
    if integration:
        alerts = alerts.filter(integration_id=integration)
    if state:
        alerts = alerts.filter(state=state)
    if search:
        alerts = alerts.filter(title__icontains=search)
    return alerts.order_by("-last_seen_at", "-pk")


def alerts_of_incident(incident, *, limit: int = 50) -> list[Alert]:
    return list(Alert.objects.filter(incident=incident).select_related("integration")
                .order_by("state", "-last_seen_at")[:limit])
