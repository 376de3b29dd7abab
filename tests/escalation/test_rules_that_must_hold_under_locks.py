"""SKIP LOCKED, on real PostgreSQL with two connections (issue 16): while one worker holds a
timer or an outbox row, a second sweep or delivery run goes past it to the rest instead of
waiting behind it. Without SKIP LOCKED the second run would queue behind the first; here a
lock timeout turns that wait into a failure instead of a hang. Each test was seen to fail with
`skip_locked=True` removed."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection, connections, transaction
from django.utils import timezone

from escalation import delivery
from escalation import services as escalation_services
from escalation.deadlines import deadlines_sweep
from escalation.models import PENDING, Deadline, EscalationEvent, Notification
from escalation.notifications import notify
from escalation.reminders import reminder_schedule
from incidents import services
from incidents.models import Incident

from tests.conftest import COMMITTED_DB
from tests.second_connection import meanwhile_a_severity_edit, meanwhile_news_of

WAIT = 20  # seconds; reached only when something is broken


@contextlib.contextmanager
def another_worker_in_a_transaction(work):
    """Another connection (a second worker) runs `work` in a transaction and keeps it open
    until the block ends or the yielded `release` is set; then it commits. Also yields the
    list its error goes to, to check once the block has ended."""
    started, release, failure = threading.Event(), threading.Event(), []

    def run():
        try:
            with transaction.atomic():
                work()
                started.set()
                release.wait(WAIT)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failure.append(exc)
        finally:
            started.set()
            connections.close_all()

    worker = threading.Thread(target=run, name="other worker", daemon=True)
    worker.start()
    try:
        assert started.wait(WAIT) and not failure, f"the other worker failed: {failure}"
        yield release, failure
    finally:
        release.set()
        worker.join(WAIT)


def another_worker_holding(model, pk):
    """Another connection (a second worker) holds the row `pk` locked until the block ends."""
    return another_worker_in_a_transaction(
        lambda: list(model.objects.select_for_update().filter(pk=pk).values_list("pk")))


@contextlib.contextmanager
def waiting_for_a_lock_fails_after(seconds: int):
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{int(seconds)}s'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


@pytest.mark.postgres
@COMMITTED_DB
def test_a_second_sweep_fires_the_other_due_timers_while_one_is_held_by_the_first(
    postgres, make_user
):
    alice, bob = make_user(), make_user()
    now = timezone.now()
    held, free = (reminder_schedule(subject=person, key="test.lock", due_at=now,
                                    reason=f"test.lock.{person.username}", title="Check in",
                                    recipients=[person])
                  for person in (alice, bob))
    with another_worker_holding(Deadline, held.pk), waiting_for_a_lock_fails_after(3):
        fired = deadlines_sweep()
    assert fired == 1
    assert Notification.objects.filter(recipient=bob, reason=f"test.lock.{bob.username}").exists()
    assert not Notification.objects.filter(recipient=alice).exists()
    assert Deadline.objects.filter(PENDING, pk=held.pk).exists(), "left for its own sweep"
    assert not Deadline.objects.filter(PENDING, pk=free.pk).exists()


@pytest.mark.postgres
@COMMITTED_DB
def test_a_second_delivery_run_sends_the_other_messages_while_one_is_held_by_the_first(
    postgres, make_user, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alice, bob = make_user(), make_user()
    for person in (alice, bob):
        notify(subject=person, reason="test.lock", recipients=[person], title="Database down")
    held = Notification.objects.get(recipient=alice, channel="email")
    with another_worker_holding(Notification, held.pk), waiting_for_a_lock_fails_after(3):
        run = delivery.deliver_due()
    assert run.sent == 1
    assert [message.to for message in mail.outbox] == [[bob.email]]
    held.refresh_from_db()
    assert held.status == "pending" and held.attempts == 0


def release_once_a_backend_waits_for_a_lock(release: threading.Event) -> None:
    """Set `release` when some session of this database is waiting for a lock (checked
    every 20 ms, for at most WAIT seconds)."""
    try:
        for _ in range(WAIT * 50):
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                               "current_database() AND wait_event_type = 'Lock'")
                if cursor.fetchone()[0]:
                    break
            release.wait(0.02)
    finally:
        release.set()
        connections.close_all()


@pytest.mark.postgres
@COMMITTED_DB
def test_the_same_news_queued_by_two_workers_at_once_is_sent_once_without_an_error(
    postgres, make_user
):
    """A timer and a retried task queue the same message at the same moment: the second
    waits for the first's row, then skips it (ON CONFLICT DO NOTHING), instead of failing on
    the unique key. Seen to fail with `ignore_conflicts` left out."""
    alice = make_user()
    first = another_worker_in_a_transaction(
        lambda: notify(subject=alice, reason="test.race", recipients=[alice], title="Disk full"))
    with first as (release, failure):
        # The first worker's rows are not committed: this one does not see them, inserts,
        # and waits on their keys; the first commits once this one is seen waiting.
        threading.Thread(target=release_once_a_backend_waits_for_a_lock,
                         args=(release,), daemon=True).start()
        second = notify(subject=alice, reason="test.race", recipients=[alice], title="Disk full")
    assert not failure, failure
    assert second == []
    assert Notification.objects.filter(reason="test.race").count() == 2  # in-app and e-mail


@pytest.mark.postgres
@COMMITTED_DB
def test_a_resolve_waits_for_no_sweep_busy_with_other_incidents_or_other_things(
    postgres, declare, incident_manager, make_user, only_core_guards
):
    """A resolve first locks the incident's own pending timers (a sweep firing one may be
    scheduling more, which the resolve must then cancel too). Timers of another incident, or
    of a person, held by a sweep are none of its business: it must not queue behind them,
    even for a person whose id happens to be the incident's."""
    incident = services.incident_triage(declare(severity="P1"), by=incident_manager,
                                        incident_manager=incident_manager)
    other_incident = declare(severity="P2", title="Search is slow")
    if not User.objects.filter(pk=incident.pk).exists():  # a person with the incident's id
        User.objects.filter(pk=make_user().pk).update(id=incident.pk)
    namesake = User.objects.get(pk=incident.pk)
    soon = timezone.now() + timedelta(hours=1)
    held = [
        Deadline.objects.filter(PENDING, incident=other_incident).first().pk,
        *(reminder_schedule(subject=person, key="test.lock", due_at=soon, reason="test.lock",
                            title="Check in", recipients=[person]).pk
          for person in (incident_manager, namesake)),
    ]
    assert None not in held
    with (another_worker_in_a_transaction(lambda: list(
            Deadline.objects.select_for_update().filter(pk__in=held).values_list("pk"))),
          waiting_for_a_lock_fails_after(3)):
        resolved = services.incident_resolve(incident, by=incident_manager,
                                             summary="Rolled back the release")
    assert resolved.state == Incident.State.RESOLVED
    assert not Deadline.objects.filter(PENDING, incident=incident, kind__startswith="escalation."
                                       ).exists(), "the incident's escalation is called off"
    assert Deadline.objects.filter(PENDING, pk__in=held).count() == 3, "the others are not"


@pytest.mark.postgres
@COMMITTED_DB
def test_an_escalation_under_way_holds_up_neither_news_of_the_incident_nor_its_severity_level(
    postgres, declare, incident_manager, levels, make_user
):
    """Escalating locks the incident's row, FOR NO KEY UPDATE and not its severity's: the
    sweep can still queue news about it and a manager can still edit the level meanwhile."""
    incident = declare(severity="P2")
    watcher = make_user()
    with transaction.atomic():
        escalation_services.incident_escalate(incident, by=incident_manager, level=levels[3],
                                              reason_category="complexity", note="Need the DBA")
        meanwhile_news_of(incident, to=watcher)
        renamed = meanwhile_a_severity_edit(incident)
    assert renamed == 1
    assert Notification.objects.filter(reason="test.meanwhile", recipient=watcher).exists()
    assert EscalationEvent.objects.filter(incident=incident, level=levels[3]).exists()
