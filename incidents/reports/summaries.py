"""Weekly and monthly management summaries (seed 004 "Weekly management summary" / "Monthly
management reporting"): the report figures for the last whole week or month, sent to the
managers who subscribed (NotificationPreference.weekly_summary / monthly_summary).

Sent through the notification outbox, whose unique key (subject = the person, reason =
"summary.weekly.2026-W47") makes a period's summary go to each person once, however often the
beat runs or retries. That is why the beat asks every day: a missed run only delays a summary."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from escalation.notifications import notify

from . import metrics, tables
from .periods import ReportPeriod, month_period_before, week_period_before

WEEKLY, MONTHLY = "weekly", "monthly"
PREFERENCE_FIELD = {WEEKLY: "weekly_summary", MONTHLY: "monthly_summary"}


def summary_period(kind: str, today: date | None = None) -> ReportPeriod:
    """The last whole ISO week, or the last whole calendar month, before `today`."""
    today = today or timezone.localdate()
    return week_period_before(today) if kind == WEEKLY else month_period_before(today)


def summary_reason(kind: str, period: ReportPeriod) -> str:
    if kind == WEEKLY:
        year, week, _ = period.start.isocalendar()
        return f"summary.weekly.{year}-W{week:02d}"
    return f"summary.monthly.{period.start:%Y-%m}"


def summary_recipients(kind: str) -> list:
    """Active people who subscribed and may see reports (a lapsed manager gets nothing)."""
    field = PREFERENCE_FIELD[kind]
    users = get_user_model().objects.filter(
        is_active=True, **{f"notification_preference__{field}": True}
    ).select_related("notification_preference").order_by("pk")
    return [user for user in users if user.has_perm("incidents.view_reports")]


def summary_text(kind: str, summary: metrics.Summary) -> str:
    return render_to_string("reports/management_summary.txt", {
        "kind": kind,
        "summary": summary,
        "figures": [(figure.label, tables.as_text(figure.type, figure.value) or "—", figure.note)
                    for figure in tables.summary_figures(summary)],
        "by_severity": [
            {**row, "mtta_hours": tables.typed(tables.HOURS, row["mtta_seconds"])}
            for row in summary.by_severity
        ],
    })


@transaction.atomic
def management_summary_send(*, kind: str, period: ReportPeriod | None = None,
                            now: datetime | None = None) -> int:
    """Queue the summary for `period` (default: the last whole week / month) to every
    subscriber who has not had it yet. Returns the number of notifications queued now."""
    if kind not in PREFERENCE_FIELD:
        raise ValueError(f"Unknown summary kind {kind!r}.")
    now = now or timezone.now()
    period = period or summary_period(kind, timezone.localdate(now))
    recipients = summary_recipients(kind)
    if not recipients:
        return 0
    summary = metrics.report_summary(period, now=now)
    title = f"{kind.capitalize()} incident summary, {period.label}"
    body = summary_text(kind, summary)
    url = f"{reverse('reports:dashboard')}?{urlencode(period.as_query())}"
    reason = summary_reason(kind, period)
    queued = 0
    for user in recipients:
        queued += len(notify(subject=user, reason=reason, recipients=[user], title=title,
                             body=body, url=url))
    return queued
