"""Periodic tasks of the postmortems app, merged into CELERY_BEAT_SCHEDULE by config/settings/base.py.

Plain data only (no Django imports): settings import this module."""

BEAT_SCHEDULE: dict = {}
