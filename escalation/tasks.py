"""Celery tasks of the escalation app: thin wrappers that call the services.

Both run from the beat every few seconds (escalation/beat.py); the delivery task is also queued
when notifications are created (escalation.delivery.queue_delivery). Running either twice at
once is safe: rows are claimed with SKIP LOCKED."""

from __future__ import annotations

from celery import shared_task

from . import deadlines, delivery
from . import reminders  # noqa: F401 - registers the "reminder" deadline kind in the worker


@shared_task(ignore_result=True)
def deadlines_sweep_task() -> int:
    """Fire every due deadline; returns how many handlers ran."""
    return deadlines.deadlines_sweep()


@shared_task(ignore_result=True)
def deliver_notifications_task() -> dict:
    """Send due email and webhook notifications; returns counts for the worker log."""
    return delivery.deliver_due().as_dict()
