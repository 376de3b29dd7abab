"""Celery tasks of the escalation app: thin wrappers that call the services.

Both run from the beat every few seconds (escalation/beat.py); the delivery task is also queued
when notifications are created (escalation.delivery.queue_delivery). Running either twice at
once is safe: rows are claimed with SKIP LOCKED."""

from __future__ import annotations

import logging

from celery import shared_task

from . import deadlines, delivery
from . import reminders  # noqa: F401 - registers the "reminder" deadline kind in the worker

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def deadlines_sweep_task() -> int:
    """Fire every due deadline; returns how many fired. When its first batch is full (a mass
    breach), it asks for one more sweep, which another worker picks up to share the backlog."""
    return deadlines.deadlines_sweep(on_full_batch=_ask_for_help)


def _ask_for_help() -> None:
    try:
        deadlines_sweep_task.apply_async(retry=False, expires=15)
    except Exception:  # noqa: BLE001 - the beat's next tick sweeps anyway
        logger.warning("Could not queue a helper sweep", exc_info=True)


@shared_task(ignore_result=True)
def deliver_notifications_task() -> dict:
    """Send due email and webhook notifications; returns counts for the worker log."""
    return delivery.deliver_due().as_dict()
