"""The PostgreSQL backend (config/postgresql): datetimes read back exactly as written, through
psycopg's fastest loader."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, connections

from config.postgresql.base import _FAST_LOADER, _TIMESTAMPTZ
from incidents.models import Incident

UTC = datetime.timezone.utc

MOMENTS = [
    datetime.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),  # the hour clocks go forward
    datetime.datetime(2026, 10, 25, 1, 0, 0, 1, tzinfo=UTC),  # the hour they go back
    datetime.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-7))),
]


def test_datetimes_come_back_as_the_same_moments_in_utc(postgres):
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["%s::timestamptz"] * len(MOMENTS)), MOMENTS)
        read = cursor.fetchone()
    assert list(read) == MOMENTS
    assert all(value.tzinfo is UTC for value in read)
    assert read[3] == datetime.datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


def test_a_server_side_cursor_reads_them_the_same_way(postgres, declare):
    incident = declare()
    declared = Incident.objects.filter(pk=incident.pk).values_list("declared_at", flat=True)
    assert list(declared.iterator(chunk_size=10)) == [incident.declared_at]
    assert next(declared.iterator(chunk_size=10)).tzinfo is UTC


def test_each_cursor_reads_datetimes_with_psycopgs_fastest_loader(postgres):
    """The reason for the backend: Django's own loader is pure Python, ten times slower."""
    assert _FAST_LOADER.__module__.startswith("psycopg_"), "psycopg's C extension is installed"
    with connection.cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(_TIMESTAMPTZ, 0) is _FAST_LOADER


def test_with_a_database_time_zone_djangos_loader_stays(postgres):
    """The C loader only knows the session's zone; a database TIME_ZONE other than UTC keeps
    Django's, which gives the same moments in that zone."""
    amsterdam = "Europe/Amsterdam"
    wrapper = type(connections["default"])(
        {**connections["default"].settings_dict, "TIME_ZONE": amsterdam}, alias="amsterdam")
    try:
        with wrapper.cursor() as cursor:
            assert cursor.cursor.adapters.get_loader(_TIMESTAMPTZ, 0) is not _FAST_LOADER
            cursor.execute("SELECT %s::timestamptz", [MOMENTS[0]])
            (read,) = cursor.fetchone()
    finally:
        wrapper.close()
    assert read == MOMENTS[0]
    assert str(read.tzinfo) == amsterdam
