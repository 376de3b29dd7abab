"""References, and two people acting on one incident at once on real PostgreSQL row locks:
one wins, the other is told why in words, and neither history nor timeline loses or doubles
anything.

Each worker thread has its own database connection (Django connections are per thread) and
closes it when done. The races commit for real (`COMMITTED_DB`) and need PostgreSQL; the
stale-copy tests run on any database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone as dt_timezone

import pytest
import time_machine
from django.db import connection, connections, transaction

from incidents import services, signals
from incidents.errors import ActionRefused, Conflict
from incidents.models import Incident, TimelineEntry

from tests.conftest import COMMITTED_DB

from .conftest import walk

pytestmark = pytest.mark.django_db

State = Incident.State
LOCK_WAIT_TIMEOUT = 15  # seconds; only reached when something is broken


def run_in_thread(name: str, fn: Callable, results: dict) -> threading.Thread:
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


def wait_until_a_backend_waits_for_a_lock() -> None:
    """Block until some other connection is waiting on a row lock (the second actor)."""
    gave_up = threading.Event()
    timer = threading.Timer(LOCK_WAIT_TIMEOUT, gave_up.set)
    timer.start()
    try:
        with connection.cursor() as cursor:
            while not gave_up.is_set():
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    return
                gave_up.wait(0.02)
    finally:
        timer.cancel()
    raise AssertionError("the second actor never waited for the row lock")


def race(first: Callable, second: Callable, *, hold_signal) -> dict:
    """Run `first` until it holds the incident's row lock (it pauses inside `hold_signal`),
    start `second` so that it queues on that lock, then let `first` commit."""
    first_holds_lock, second_is_waiting = threading.Event(), threading.Event()

    def pause_inside_first(**kwargs):
        if threading.current_thread().name == "first":
            first_holds_lock.set()
            second_is_waiting.wait(LOCK_WAIT_TIMEOUT)

    hold_signal.connect(pause_inside_first, weak=False)
    results: dict = {}
    try:
        one = run_in_thread("first", first, results)
        assert first_holds_lock.wait(LOCK_WAIT_TIMEOUT), "first actor never took the lock"
        two = run_in_thread("second", second, results)
        wait_until_a_backend_waits_for_a_lock()
        second_is_waiting.set()
        one.join(LOCK_WAIT_TIMEOUT)
        two.join(LOCK_WAIT_TIMEOUT)
    finally:
        hold_signal.disconnect(pause_inside_first)
        second_is_waiting.set()
    assert set(results) == {"first", "second"}, "an actor did not finish"
    return results


@pytest.mark.postgres
@COMMITTED_DB  # the closest marker wins over the module's
def test_two_managers_triaging_at_once_triage_it_once(
    postgres, declare, incident_manager, make_user
):
    incident = declare()
    incident = services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)
    colleague = make_user("Incident manager")
    results = race(
        lambda: services.incident_triage(Incident.objects.get(pk=incident.pk), by=incident_manager),
        lambda: services.incident_triage(Incident.objects.get(pk=incident.pk), by=colleague),
        hold_signal=signals.incident_transitioned,
    )
    assert isinstance(results["first"], Incident)
    assert isinstance(results["second"], ActionRefused)
    assert results["second"].reasons == [
        f"{incident.reference} is triaged; it cannot be triaged from there."
    ]
    incident.refresh_from_db()
    assert incident.state == State.TRIAGED
    assert incident.history.filter(state=State.TRIAGED).count() == 1
    assert incident.timeline.filter(data__transition="triage").count() == 1


@pytest.mark.postgres
@COMMITTED_DB  # the closest marker wins over the module's
def test_resolving_and_cancelling_at_once_keeps_the_winner_and_refuses_the_other(
    postgres, declare, incident_manager, responder
):
    incident = walk(declare(severity="P3"), ["triage"], by=incident_manager)
    results = race(
        lambda: services.incident_resolve(Incident.objects.get(pk=incident.pk), by=responder,
                                          summary="Restarted the workers"),
        lambda: services.incident_cancel(Incident.objects.get(pk=incident.pk),
                                         by=incident_manager, reason="Not an incident"),
        hold_signal=signals.incident_transitioned,
    )
    assert isinstance(results["first"], Incident)
    assert isinstance(results["second"], ActionRefused)
    assert "is resolved; it cannot be cancelled from there" in str(results["second"])
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED
    assert incident.resolution_summary == "Restarted the workers"
    kinds = list(incident.timeline.filter(kind=TimelineEntry.Kind.TRANSITION)
                 .values_list("data__transition", flat=True))
    assert kinds == ["triage", "resolve"]
    assert list(incident.history.values_list("state", flat=True)[:2]) == [
        State.RESOLVED, State.TRIAGED]


@pytest.mark.postgres
@COMMITTED_DB  # the closest marker wins over the module's
def test_two_stale_impact_edits_at_once_save_the_first_and_report_a_conflict_for_the_second(
    postgres, declare, incident_manager, responder
):
    incident = walk(declare(), ["triage"], by=incident_manager)
    loaded_version = incident.version
    results = race(
        lambda: services.incident_update_impact(
            Incident.objects.get(pk=incident.pk), by=responder, customers_affected=500,
            expected_version=loaded_version),
        lambda: services.incident_update_impact(
            Incident.objects.get(pk=incident.pk), by=incident_manager, customers_affected=80,
            expected_version=loaded_version),
        hold_signal=signals.incident_impact_changed,
    )
    assert isinstance(results["second"], Conflict)
    assert "was changed by someone else while you were editing" in str(results["second"])
    incident.refresh_from_db()
    assert incident.customers_affected == 500
    assert incident.version == loaded_version + 1
    assert incident.timeline.filter(kind=TimelineEntry.Kind.IMPACT).count() == 1


@pytest.mark.postgres
@COMMITTED_DB  # the closest marker wins over the module's
def test_concurrent_declarations_get_unique_sequential_references(
    postgres, severities, make_user
):
    reporters = [make_user("Responder") for _ in range(8)]
    start = threading.Barrier(len(reporters))
    results: dict = {}

    def declare_as(user):
        def run():
            start.wait(LOCK_WAIT_TIMEOUT)
            return services.incident_declare(by=user, title=f"Alert from {user.username}",
                                             severity=severities["P2"]).reference
        return run

    threads = [run_in_thread(f"reporter-{i}", declare_as(user), results)
               for i, user in enumerate(reporters)]
    for thread in threads:
        thread.join(LOCK_WAIT_TIMEOUT)
    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert not errors
    year = datetime.now(dt_timezone.utc).year
    assert sorted(results.values()) == [f"INC-{year}-{n:04d}" for n in range(1, 9)]
    assert Incident.objects.count() == 8


def test_references_are_sequential_and_restart_each_year(declare):
    with time_machine.travel("2026-12-31 12:00:00+00:00", tick=False):
        last_of_year = [declare().reference for _ in range(2)]
    with time_machine.travel("2027-01-01 12:00:00+00:00", tick=False):
        first_of_next = declare().reference
    assert last_of_year == ["INC-2026-0001", "INC-2026-0002"]
    assert first_of_next == "INC-2027-0001"


def test_the_reference_year_is_the_organisations_local_year(declare, settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel("2026-12-31 23:30:00+00:00", tick=False):  # 00:30 on 1 Jan 2027
        assert declare().reference == "INC-2027-0001"


def test_a_stale_in_memory_copy_cannot_overwrite_a_newer_state(declare, incident_manager):
    """The services re-read under a lock; an object loaded earlier and saved directly (as a
    careless admin action would) is stopped by the FSM's concurrent-transition check and
    reported as a Conflict by the service layer, writing nothing."""
    incident = walk(declare(severity="P3"), ["triage"], by=incident_manager)
    stale = Incident.objects.get(pk=incident.pk)
    services.incident_investigate(incident, by=incident_manager)
    stale.title = "Overwritten by a stale copy"
    before = stale.history.count()
    with pytest.raises(Conflict, match="changed state while you were looking at it"):
        with transaction.atomic():  # as in every service
            services._save(stale, by=incident_manager, reason="Stale edit")
    incident.refresh_from_db()
    assert incident.state == State.INVESTIGATING
    assert incident.title != "Overwritten by a stale copy"
    assert incident.history.count() == before


def test_a_stale_impact_edit_is_refused_and_changes_nothing(declare, incident_manager, responder):
    incident = walk(declare(), ["triage"], by=incident_manager)
    loaded_version = incident.version
    services.incident_update_impact(incident, by=incident_manager, customers_affected=10)
    before = (incident.history.count(), incident.timeline.count())
    with pytest.raises(Conflict, match="your change was not saved"):
        services.incident_update_impact(incident, by=responder, customers_affected=99,
                                        is_security=True, expected_version=loaded_version)
    incident.refresh_from_db()
    assert (incident.customers_affected, incident.is_security) == (10, False)
    assert (incident.history.count(), incident.timeline.count()) == before


def test_a_stale_severity_change_is_refused(declare, incident_manager, severities):
    incident = walk(declare(severity="P2"), ["triage"], by=incident_manager)
    loaded_version = incident.version
    services.incident_update_impact(incident, by=incident_manager, customers_affected=10)
    with pytest.raises(Conflict):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P1"], reason="Worse",
                                          expected_version=loaded_version)
    incident.refresh_from_db()
    assert incident.severity.code == "P2"
