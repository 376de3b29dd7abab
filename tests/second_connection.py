"""Someone else acting meanwhile, on a second database connection: for tests of row locks on
real PostgreSQL (mark them `postgres` and `COMMITTED_DB`, since the other connection only sees
committed rows).

`meanwhile(work)` runs `work` in its own thread, connection and transaction while the test's
own transaction stays open, and hands back its result. A lock the test's transaction holds that
`work` needs would make it wait for ever, since the test does not commit until `work` is done:
a lock timeout turns that wait into the error `meanwhile` raises."""

from __future__ import annotations

import threading

from django.db import connection, connections, transaction

LOCK_TIMEOUT = 2  # seconds; waited only when a lock is held that should not be
WAIT = 20  # seconds; the thread's own limit, reached only when something is broken


def meanwhile(work, *, lock_timeout: int = LOCK_TIMEOUT):
    """`work()`'s result, done on another connection; its exception re-raised here."""
    outcome: dict = {}

    def run():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout)}s'")
                outcome["result"] = work()
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc
        finally:
            connections.close_all()

    other = threading.Thread(target=run, name="meanwhile", daemon=True)
    other.start()
    other.join(WAIT)
    if other.is_alive():
        raise AssertionError(f"the other connection was still busy after {WAIT} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def meanwhile_news_of(incident, *, to) -> list:
    """The timer sweep queues news about `incident` for `to` on another connection: its rows
    refer to the incident, so PostgreSQL's key check takes a key-share lock on it."""
    from escalation.notifications import notify

    return meanwhile(lambda: notify(subject=incident, reason="test.meanwhile", incident=incident,
                                    recipients=[to], title="Still watching checkout"))


def meanwhile_a_severity_edit(incident) -> int:
    """A manager renames `incident`'s severity level on another connection: rows updated."""
    from incidents.models import SeverityLevel

    return meanwhile(lambda: SeverityLevel.objects.filter(pk=incident.severity_id)
                     .update(name="Renamed meanwhile"))
