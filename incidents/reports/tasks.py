"""Celery tasks of the reports: thin, they call the summary service.

The beat asks every day (incidents/beat.py); the outbox's dedup key sends each period's summary
to each subscriber once, so a missed or repeated run neither drops nor doubles one."""

from __future__ import annotations

from celery import shared_task

from . import background, summaries


@shared_task(name="incidents.reports.tasks.send_weekly_summary", ignore_result=True)
def send_weekly_summary() -> int:
    """Queue last week's management summary for weekly subscribers; returns how many."""
    return summaries.management_summary_send(kind=summaries.WEEKLY)


@shared_task(name="incidents.reports.tasks.send_monthly_summary", ignore_result=True)
def send_monthly_summary() -> int:
    """Queue last month's management summary for monthly subscribers; returns how many."""
    return summaries.management_summary_send(kind=summaries.MONTHLY)


# A workbook of 100,000 incidents takes about a minute to write; far more than the default limit.
@shared_task(name="incidents.reports.tasks.build_report_export", ignore_result=True,
             time_limit=15 * 60, soft_time_limit=14 * 60)
def build_report_export(export_id: str) -> None:
    """Build a queued XLSX report export (incidents.reports.background)."""
    background.export_build(export_id)


@shared_task(name="incidents.reports.tasks.tidy_report_exports", ignore_result=True)
def tidy_report_exports() -> None:
    """Ask again for exports no worker took up; delete expired ones."""
    background.exports_tidy()
