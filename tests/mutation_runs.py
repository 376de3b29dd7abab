"""What changes when mutmut runs one mutant's tests (scripts/mutation.sh).

mutmut forks a fresh pytest session for every mutant, from a process that has already run the
selection once (its "stats" run, which created and migrated the test database with
--reuse-db). Two costs of that session do nothing for a mutant and are skipped:
- pytest-django's `--reuse-db` still runs `migrate` (the migration graph, 87 migrations'
  states) and serializes the seeded rows: about 0.4 s, on a mutant whose tests may take less;
- its tests run in mutmut's order, which is a set's: the fastest first means a killed mutant
  usually stops (`-x`) after its cheapest failing test.
The set-up stays as always when a selected test commits (it needs the seeded rows' snapshot),
and outside a mutant's run: the full suite and mutmut's own runs ("stats", the forced
failure, the clean run)."""

from __future__ import annotations

import json
import os
from pathlib import Path

# mutmut's own runs, which set up the database and time the tests like any other run.
_MUTMUT_OWN_RUNS = {"", "stats", "fail", "list_all_tests"}


def running_a_mutant() -> bool:
    return os.environ.get("MUTANT_UNDER_TEST", "") not in _MUTMUT_OWN_RUNS


def commits(item) -> bool:
    """A test whose transactions really commit needs the seeded rows' snapshot, taken when
    the database is set up: with one selected, the set-up is left as it is."""
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("serialized_rollback")):
        return True
    return bool({"transactional_db", "live_server", "committed_db"} & set(item.fixturenames))


def reuse_the_migrated_test_database() -> None:
    """Point the connections at the test database the stats run migrated, without migrating
    or serializing it again (what `create_test_db(keepdb=True)` does, minus both)."""
    from django.conf import settings
    from django.db import OperationalError
    from django.db.backends.base.creation import BaseDatabaseCreation

    create_and_migrate = BaseDatabaseCreation.create_test_db

    def use(connection, name: str) -> None:
        connection.close()
        settings.DATABASES[connection.alias]["NAME"] = name
        connection.settings_dict["NAME"] = name

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        name, configured = self._get_test_db_name(), self.connection.settings_dict["NAME"]
        use(self.connection, name)
        try:
            self.connection.ensure_connection()
        except OperationalError:  # not there: set it up as usual rather than fail every test
            use(self.connection, configured)
            return create_and_migrate(self, verbosity, autoclobber, serialize, keepdb)
        return name

    BaseDatabaseCreation.create_test_db = create_test_db


def fastest_first(items: list) -> None:
    """Order the tests by the time each took in mutmut's stats run (its mutmut-stats.json,
    in the folder the tests run from); tests it did not time go last, in their own order."""
    stats = Path("mutmut-stats.json")
    if not stats.exists():
        return
    duration = json.loads(stats.read_text()).get("duration_by_test", {})
    items.sort(key=lambda item: duration.get(item.nodeid, float("inf")))
