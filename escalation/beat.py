"""Periodic tasks of the escalation app, merged into CELERY_BEAT_SCHEDULE by config/settings.

Plain data only (no Django imports): settings import this module.

Both tasks are cheap when there is nothing to do (an indexed query for due rows), so they run
every 5 s: a timer fires and its notification leaves within seconds of its due time. `expires`
drops ticks that waited in the queue while no worker ran: the next tick does the same work."""

from datetime import timedelta

BEAT_SCHEDULE: dict = {
    "escalation.deadlines_sweep": {
        "task": "escalation.tasks.deadlines_sweep_task",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 15},
    },
    "escalation.deliver_notifications": {
        "task": "escalation.tasks.deliver_notifications_task",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 15},
    },
}
