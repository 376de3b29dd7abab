"""A person's action that lost a database race is tried again instead of failing.

PostgreSQL may abort one of two transactions that wait on each other (deadlock, SQLSTATE 40P01)
or that cannot both be serialised (40001). The lock order of the services and the timer sweep is
chosen so that this does not happen between them (see `incidents.services._lock` and
`escalation.deadlines`), but other writers may still meet that way. Such an abort changed
nothing, so the whole service call is simply run again; if it keeps losing, the person is told
so in words (a `Conflict`), never shown a server error."""

from __future__ import annotations

import functools
import logging
import random
import time

from django.db import OperationalError, transaction

from .errors import Conflict

logger = logging.getLogger(__name__)

TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
ATTEMPTS = 3
BUSY_MESSAGE = ("Someone else was changing the same records at that very moment, so nothing "
                "was saved. Please try again.")


def is_transient_conflict(exc: BaseException) -> bool:
    """True for an OperationalError that a retry can cure (deadlock or serialization failure)."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code in TRANSIENT_SQLSTATES


def retry_on_conflict(service):
    """Run `service` (a function decorated with `transaction.atomic`) up to three times when the
    database aborts it for a deadlock or serialization failure. Inside an outer transaction it
    runs once: only the outermost caller can roll back and start again."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        if transaction.get_connection().in_atomic_block:
            return service(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return service(*args, **kwargs)
            except OperationalError as exc:
                if not is_transient_conflict(exc):
                    raise
                if attempt == ATTEMPTS:
                    logger.warning("%s lost %d database races in a row; giving up",
                                   service.__name__, attempt)
                    raise Conflict(BUSY_MESSAGE) from exc
                logger.info("%s lost a database race (%s); trying again", service.__name__, exc)
                # A short random pause lets the winner commit before the next try.
                time.sleep(random.uniform(0.02, 0.1) * attempt)
        raise AssertionError("unreachable")

    return wrapper
