"""PostgreSQL as Django's own backend, reading `timestamptz` values with psycopg's C loader.

Django registers a pure-Python loader for `timestamptz` (a subclass of psycopg's Python one, so
that it can set the time zone it wants), even where psycopg's C extension is installed. Every
datetime the portal reads goes through it: 400,000 values took 2.5 s that way against 0.2 s
through the C loader, most of a year's CSV export (README, "Pages at scale").

When the connection's time zone is UTC, as Django keeps it unless a database `TIME_ZONE` is
set, the C loader returns the very same values: aware datetimes in `datetime.timezone.utc`,
which it takes from the session's TimeZone, which Django sets to UTC. So each cursor gets the
C loader then; in any other set-up Django's own loader stays."""

from __future__ import annotations

import datetime

import psycopg.postgres
from django.db.backends.postgresql import base
from psycopg.pq import Format

_TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid
# psycopg's fastest loader for the type: the C one with psycopg[binary] or [c], else Python's.
_FAST_LOADER = psycopg.postgres.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        cursor = super().create_cursor(name)
        if self.timezone is datetime.timezone.utc and self.timezone_name == "UTC":
            cursor.adapters.register_loader(_TIMESTAMPTZ, _FAST_LOADER)
        return cursor
