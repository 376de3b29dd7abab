"""The timer sweep and people acting on the same incident at the same moment, on real PostgreSQL
row locks: neither waits for the other in a circle (no deadlock), a step that was due before the
resolve fires once, and no timer of the resolved incident is left behind.

The reproduction: a full sweep batch whose last timer is an escalation step of incident X, and
X resolved while the sweep holds that batch. The sweep writes rows referring to X (escalation
event, timeline entry, outbox rows, a reminder timer); at COMMIT PostgreSQL's foreign-key checks
take KEY SHARE on X. The resolve locks X, then waits for X's timers, which the sweep holds. With
the incident locked FOR UPDATE this deadlocked every time; with FOR NO KEY UPDATE it must not.

Each actor runs in its own thread with its own database connection."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from escalation import deadlines
from escalation.models import PENDING, Deadline, EscalationEvent
from escalation.reminders import reminder_schedule
from incidents import services, transactions
from incidents.models import Incident

from tests.conftest import COMMITTED_DB

BATCH = 50
WAIT = 20  # seconds; reached only when something is broken
DETERMINISTIC_RUNS = 6
FREE_RUNS = 10


def run_in_thread(name: str, fn, results: dict) -> threading.Thread:
    def target():
        try:
            results[name] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def another_backend_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps showing the activity it read first.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0] > 0


def wait_for(condition, what: str) -> None:
    gave_up = threading.Event()
    timer = threading.Timer(WAIT, gave_up.set)
    timer.start()
    try:
        while not gave_up.is_set():
            if condition():
                return
            gave_up.wait(0.01)
    finally:
        timer.cancel()
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(autouse=True)
def no_retries(monkeypatch):
    """A person's action that loses a deadlock is retried in production, which would hide one
    here: in these tests a single deadlock fails the resolve."""
    monkeypatch.setattr(transactions, "ATTEMPTS", 1)


@pytest.fixture
def stage(declare, incident_manager, staffed_levels, only_core_guards, make_user):
    """stage() -> an open P1 incident whose first escalation step is due now, last in a full
    batch behind 49 reminders of another incident that fell due just before it."""
    filler_incident = declare(severity="P3", title="Noise")
    listener = make_user("Responder")

    def make() -> Incident:
        incident = declare(severity="P1")
        incident = services.incident_triage(incident, by=incident_manager,
                                            incident_manager=incident_manager)
        now = timezone.now()
        step = (Deadline.objects.filter(PENDING, incident=incident, kind="escalation.step")
                .order_by("due_at").first())
        assert step is not None, "the P1 policy has a timed step"
        step.due_at = now - timedelta(seconds=1)
        step.save(update_fields=["due_at"])
        for i in range(BATCH - 1):
            reminder_schedule(subject=filler_incident, key=f"noise.{incident.pk}.{i}",
                              due_at=now - timedelta(seconds=60 - i), reason="noise",
                              title="Noise", recipients=[listener], incident=filler_incident)
        return incident

    return make


def resolve(incident: Incident, by) -> Incident:
    return services.incident_resolve(Incident.objects.get(pk=incident.pk), by=by,
                                     summary="Rolled back the release")


def assert_both_won(results: dict, incident: Incident) -> None:
    assert set(results) == {"sweep", "resolve"}, "an actor did not finish"
    errors = {name: result for name, result in results.items() if isinstance(result, Exception)}
    assert not errors, f"an actor failed: {errors!r}, caused by " + repr(
        [error.__cause__ for error in errors.values()])
    assert results["sweep"] == BATCH
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED
    # The step was due before the resolve: it fired, once.
    assert EscalationEvent.objects.filter(incident=incident, step__isnull=False).count() == 1
    # Nothing of the incident's escalation is left to fire: the reminder the sweep scheduled
    # for that escalation was cancelled by the resolve that waited for the sweep.
    assert not Deadline.objects.filter(PENDING, incident=incident,
                                       kind__startswith="escalation.").exists()


@pytest.mark.postgres
@COMMITTED_DB
def test_a_resolve_while_the_sweep_holds_the_incidents_step_waits_and_never_deadlocks(
    postgres, stage, incident_manager, monkeypatch
):
    """Deterministic interleaving: the sweep pauses right after its last handler (the step of
    the incident, so just before COMMIT) until the resolve is queued on the sweep's rows."""
    fire_step = deadlines._handlers["escalation.step"]
    resolve_started = threading.Event()

    def fire_step_then_wait_for_the_resolve(batch):
        fire_step(batch)
        resolve_started.set()
        wait_for(another_backend_waits_for_a_lock, "the resolve to wait on the sweep's rows")

    monkeypatch.setitem(deadlines._handlers, "escalation.step", fire_step_then_wait_for_the_resolve)
    for _ in range(DETERMINISTIC_RUNS):
        incident = stage()
        resolve_started.clear()
        results: dict = {}
        sweep = run_in_thread("sweep", lambda: deadlines.deadlines_sweep(batch_size=BATCH),
                              results)
        assert resolve_started.wait(WAIT), "the sweep never reached the incident's step"
        person = run_in_thread("resolve", lambda: resolve(incident, incident_manager), results)
        sweep.join(WAIT)
        person.join(WAIT)
        assert_both_won(results, incident)


@pytest.mark.postgres
@COMMITTED_DB
def test_a_resolve_racing_a_full_sweep_batch_many_times_never_deadlocks(
    postgres, stage, incident_manager, monkeypatch
):
    """Free-running: the resolve starts while the sweep works through its batch, wherever the
    scheduler takes each thread."""
    remind = deadlines._handlers["reminder"]
    sweep_busy = threading.Event()

    def remind_and_say_the_sweep_is_busy(batch):
        sweep_busy.set()
        remind(batch)

    monkeypatch.setitem(deadlines._handlers, "reminder", remind_and_say_the_sweep_is_busy)
    for _ in range(FREE_RUNS):
        incident = stage()
        sweep_busy.clear()
        results: dict = {}
        sweep = run_in_thread("sweep", lambda: deadlines.deadlines_sweep(batch_size=BATCH),
                              results)
        assert sweep_busy.wait(WAIT), "the sweep never started its batch"
        person = run_in_thread("resolve", lambda: resolve(incident, incident_manager), results)
        sweep.join(WAIT)
        person.join(WAIT)
        assert_both_won(results, incident)
