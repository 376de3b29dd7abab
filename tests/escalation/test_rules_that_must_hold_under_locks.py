"""SKIP LOCKED, on real PostgreSQL with two connections (issue 16): while one worker holds a
timer or an outbox row, a second sweep or delivery run goes past it to the rest instead of
waiting behind it. Without SKIP LOCKED the second run would queue behind the first; here a
lock timeout turns that wait into a failure instead of a hang. Each test was seen to fail with
`skip_locked=True` removed."""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.core import mail
from django.db import connection, connections, transaction
from django.utils import timezone

from escalation import delivery
from escalation.deadlines import deadlines_sweep
from escalation.models import PENDING, Deadline, Notification
from escalation.notifications import notify
from escalation.reminders import reminder_schedule

from tests.conftest import COMMITTED_DB

WAIT = 20  # seconds; reached only when something is broken


@contextlib.contextmanager
def another_worker_holding(model, pk):
    """Another connection (a second worker) holds the row `pk` locked until the block ends."""
    locked, release, failure = threading.Event(), threading.Event(), []

    def hold():
        try:
            with transaction.atomic():
                list(model.objects.select_for_update().filter(pk=pk).values_list("pk"))
                locked.set()
                release.wait(WAIT)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failure.append(exc)
        finally:
            locked.set()
            connections.close_all()

    worker = threading.Thread(target=hold, name="holder", daemon=True)
    worker.start()
    try:
        assert locked.wait(WAIT) and not failure, f"the other worker could not lock: {failure}"
        yield
    finally:
        release.set()
        worker.join(WAIT)


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
