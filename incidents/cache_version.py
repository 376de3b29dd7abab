"""A cache version that every change to what a cached page shows moves on, so a cached copy
is never served after such a change (the public status page, the report dashboard).

The version is a PostgreSQL sequence: `nextval` is one cheap statement that takes no row lock
(so concurrent writes never queue behind it) and is seen by every web process at once,
whatever cache each one has. A rolled-back change has moved it on too, which costs one needless
rebuild and is never stale; a committed one moves it on again after the commit, so a copy built
from the data before it is never kept under the newer version. On SQLite (the embedded
single-site portal) there is no version: callers build on each request."""

from __future__ import annotations

from django.db import connection, transaction


class CacheVersion:
    def __init__(self, sequence: str):
        self.sequence = sequence  # created by a migration

    def current(self) -> int | None:
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT last_value FROM {self.sequence}")
            return cursor.fetchone()[0]

    def _next(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s)", [self.sequence])

    def bump(self, **kwargs) -> None:
        """Signal receiver: what the cached copies show may have changed. Moved on now (the
        writing transaction itself never reads a stale copy) and again once the change is
        committed (a copy built meanwhile by another process saw the data from before it)."""
        if connection.vendor == "postgresql":
            self._next()
            transaction.on_commit(self._next)
