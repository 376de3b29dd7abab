"""Celery tasks of the reports: thin, they call the summary service.

The beat asks every day (incidents/beat.py); the outbox's dedup key sends each period's summary
to each subscriber once, so a missed or repeated run neither drops nor doubles one."""

from __future__ import annotations

from celery import shared_task

from . import summaries


@shared_task(name="incidents.reports.tasks.send_weekly_summary", ignore_result=True)
def send_weekly_summary() -> int:
    """Queue last week's management summary for weekly subscribers; returns how many."""
    return summaries.management_summary_send(kind=summaries.WEEKLY)


@shared_task(name="incidents.reports.tasks.send_monthly_summary", ignore_result=True)
def send_monthly_summary() -> int:
    """Queue last month's management summary for monthly subscribers; returns how many."""
    return summaries.management_summary_send(kind=summaries.MONTHLY)
