"""With a real Celery worker and beat over Redis and PostgreSQL: timers fire within seconds of
their due time, and every notification reaches the (local) mail server and webhook receiver
exactly once, even with two beats at once or a worker killed mid-send."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from escalation.delivery import ATTEMPT_IN_PROGRESS
from escalation.models import (
    Deadline, DeliveryAttempt, Heartbeat, Notification, SlaClock, WebhookEndpoint,
)
from incidents.models import SeverityLevel
from escalation.reminders import reminder_schedule

from .conftest import SECRET, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def hook(live_db, webhook_receiver):
    return WebhookEndpoint.objects.create(name="Receiver", url=webhook_receiver.url,
                                          secret=SECRET)


def schedule_breach_reminder(user, *, due_in: float, reason: str):
    return reminder_schedule(
        subject=user, key=reason, due_at=timezone.now() + timedelta(seconds=due_in),
        reason=reason, title=f"SLA breached ({reason})", body="Response target missed.",
        url="/incidents/", recipients=[user], webhooks=True,
    )


def all_sent(reason: str, expected: int):
    rows = Notification.objects.filter(reason=reason)
    return rows.count() == expected and not rows.exclude(status="sent").exists()


def outbox_state() -> str:
    return "\n".join(
        f"{row.reason} {row.channel} {row.status} attempts={row.attempts} {row.last_error}"
        for row in Notification.objects.order_by("pk")
    ) or "(the outbox is empty)"


def wait_for_more_ticks(since, count: int = 1):
    """Let the sweep and the delivery run `count` more times: time for any double to show."""
    for _ in range(count):
        wait_until(
            lambda: Heartbeat.objects.filter(
                name__in=["deadlines_sweep", "notifications_delivery"], last_run_at__gt=since
            ).count() == 2,
            timeout=20, what="the next sweep and delivery runs",
        )
        since = timezone.now()


def test_a_breached_sla_and_a_due_reminder_are_notified_within_15_seconds_exactly_once(
    celery_stack, make_user, declare, severities, hook, smtp_sink, webhook_receiver
):
    celery_stack.worker("worker-a")
    celery_stack.beat("beat-a")
    # A response target of seconds, so the real SLA clock breaches while we watch.
    p1 = severities["P1"]
    p1.response_target, p1.clock = timedelta(seconds=3), SeverityLevel.Clock.ALWAYS
    p1.save()
    reporter = make_user("Responder", username="reporter")
    incident = declare(severity="P1", by=reporter)
    response_clock = SlaClock.objects.get(incident=incident, kind="response")
    user = make_user(username="oncall")
    reminder = schedule_breach_reminder(user, due_in=3, reason="it.reminder")

    wait_until(lambda: all_sent("it.reminder", 3) and all_sent("sla.response.breached", 3),
               timeout=3 + 15 + 5, what="the breach and reminder notifications to be sent",
               explain=outbox_state)
    wait_for_more_ticks(timezone.now())

    response_clock.refresh_from_db()
    assert response_clock.breached_at - response_clock.due_at <= timedelta(seconds=15)
    reminder.refresh_from_db()
    assert reminder.fired_at is not None and reminder.attempts == 1
    assert Deadline.objects.get(incident=incident, kind="sla.response").attempts == 1
    breach = {row.channel: row for row in
              Notification.objects.filter(reason="sla.response.breached")}
    assert breach["email"].recipient == reporter
    rows = list(Notification.objects.filter(reason__in=["it.reminder", "sla.response.breached"]))
    for row in rows:
        due_at = response_clock.due_at if row.reason.startswith("sla.") else reminder.due_at
        assert row.sent_at - due_at <= timedelta(seconds=15), row
    # Exactly once: every message the sinks got is a distinct outbox row, and ours are there.
    assert sorted(smtp_sink.message_ids()) == sorted(set(smtp_sink.message_ids()))
    assert sorted(webhook_receiver.ids()) == sorted(webhook_receiver.unique_ids())
    for row in rows:
        if row.channel == "email":
            assert smtp_sink.message_ids().count(f"<{row.idempotency_id}@firebreak>") == 1
        elif row.channel == "webhook":
            assert webhook_receiver.ids().count(str(row.idempotency_id)) == 1
    assert all(webhook_receiver.signature_ok(r) for r in webhook_receiver.requests)
    assert smtp_sink.messages[0]["Message-ID"] in smtp_sink.message_ids()
    assert not DeliveryAttempt.objects.filter(succeeded=False).exists()


def test_two_beats_and_two_workers_at_once_send_nothing_twice(
    celery_stack, make_user, hook, smtp_sink, webhook_receiver
):
    celery_stack.worker("worker-a", wait=False)
    celery_stack.worker("worker-b", wait=False)
    for process in celery_stack.processes:
        celery_stack.wait_ready(process)
    beats = [celery_stack.beat("beat-a"), celery_stack.beat("beat-b")]
    people = [make_user(username=f"person{number}") for number in range(5)]
    for person in people:
        schedule_breach_reminder(person, due_in=2, reason="it.double")

    wait_until(lambda: all_sent("it.double", 15), timeout=2 + 15 + 5,
               what="all fifteen notifications to be sent", explain=outbox_state)
    wait_for_more_ticks(timezone.now())

    for beat in beats:  # both beats really were sending the sweep
        assert "Sending due task escalation.deadlines_sweep" in beat.log()
    assert set(Deadline.objects.filter(kind="reminder").values_list("attempts", flat=True)) == {1}
    email_ids = {f"<{i}@firebreak>" for i in Notification.objects.filter(
        reason="it.double", channel="email").values_list("idempotency_id", flat=True)}
    assert sorted(smtp_sink.message_ids()) == sorted(email_ids)  # each once
    hook_ids = {str(i) for i in Notification.objects.filter(
        reason="it.double", channel="webhook").values_list("idempotency_id", flat=True)}
    assert sorted(webhook_receiver.ids()) == sorted(hook_ids)  # each once
    assert all(webhook_receiver.signature_ok(r) for r in webhook_receiver.requests)
    assert DeliveryAttempt.objects.count() == 10


def test_a_worker_killed_mid_send_loses_nothing_once_restarted(
    celery_stack, make_user, live_db, smtp_sink
):
    from .sinks import WebhookReceiver

    with WebhookReceiver(secret=SECRET, block_first=True) as slow_receiver:
        WebhookEndpoint.objects.create(name="Slow", url=slow_receiver.url, secret=SECRET)
        worker = celery_stack.worker("worker-a")
        celery_stack.beat("beat-a")
        user = make_user(username="oncall")
        schedule_breach_reminder(user, due_in=1, reason="it.crash")

        assert slow_receiver.first_request.wait(timeout=25), celery_stack.logs()
        worker.kill()  # SIGKILL to the worker and its pool while the webhook is in flight

        webhook_row = Notification.objects.get(reason="it.crash", channel="webhook")
        assert webhook_row.status == "pending" and webhook_row.attempts == 1
        assert webhook_row.attempts_log.get().error == ATTEMPT_IN_PROGRESS
        slow_receiver.release.set()

        celery_stack.worker("worker-b")
        wait_until(lambda: all_sent("it.crash", 3), timeout=30,
                   what="the notifications to be sent after the restart", explain=outbox_state)
        wait_for_more_ticks(timezone.now())

        webhook_row.refresh_from_db()
        webhook_id = str(webhook_row.idempotency_id)
        # Re-sent with the same id: the receiver drops the second copy as a duplicate.
        assert slow_receiver.ids() == [webhook_id, webhook_id]
        assert slow_receiver.unique_ids() == {webhook_id}
        assert all(slow_receiver.signature_ok(r) for r in slow_receiver.requests)
        outcomes = list(webhook_row.attempts_log.order_by("pk").values_list("succeeded", "error"))
        assert outcomes == [(False, ATTEMPT_IN_PROGRESS), (True, "")]
        email_row = Notification.objects.get(reason="it.crash", channel="email")
        assert set(smtp_sink.message_ids()) == {f"<{email_row.idempotency_id}@firebreak>"}
