"""Periodic tasks of the incidents app, merged into CELERY_BEAT_SCHEDULE by config/settings/base.py.

Plain data only (no Django imports): settings import this module.

Management summaries: asked for every morning (beat runs in UTC; 06:00/06:15 UTC is after
midnight in Europe), each for the last *whole* week or month. The notification outbox sends a
period's summary to a person once, so the daily ask only matters after a missed run or for a
new subscriber; `expires` drops asks that waited in the queue past the next one."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    "reports.weekly_summary": {
        "task": "incidents.reports.tasks.send_weekly_summary",
        "schedule": crontab(minute=0, hour=6),
        "options": {"expires": 12 * 3600},
    },
    # One-time form tokens' answers are only needed while someone might re-post a form.
    "incidents.form_submissions_purge": {
        "task": "incidents.tasks.form_submissions_purge",
        "schedule": crontab(minute=30, hour=3),
        "options": {"expires": 12 * 3600},
    },
    # Background report exports: ask again for any no worker took up, delete expired ones.
    "reports.tidy_exports": {
        "task": "incidents.reports.tasks.tidy_report_exports",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    "reports.monthly_summary": {
        "task": "incidents.reports.tasks.send_monthly_summary",
        "schedule": crontab(minute=15, hour=6),
        "options": {"expires": 12 * 3600},
    },
}
