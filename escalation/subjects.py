"""The state of a timer's subject at the timer's due time.

Timers act as at their due time, however late the sweep runs: a late sweep must decide what an
on-time one would have (a step due before the resolve still fires; one due after never does)."""

from __future__ import annotations

from datetime import datetime

from incidents.models import Incident


def open_at(incident: Incident, moment: datetime) -> bool:
    """Was the incident open at `moment`? (Open now, or ended, resolved or closed, after it.)"""
    if incident.is_open:
        return True
    ended = [t for t in (incident.resolved_at, incident.closed_at) if t is not None]
    return bool(ended) and min(ended) > moment
