"""Celery tasks of the incidents app. Celery's autodiscovery imports `<app>.tasks`, so tasks that
live in the app's sub-packages are imported here to be registered in the worker."""

from .reports.tasks import send_monthly_summary, send_weekly_summary  # noqa: F401

from celery import shared_task  # noqa: E402


@shared_task
def form_submissions_purge() -> int:
    from .once import submissions_purge

    return submissions_purge()
