"""Delivering the outbox: email with a stable Message-ID, signed webhooks, Slack and Teams
payloads, retries with backoff, attempts on record, and failures that block nobody else."""

import json
import logging
import smtplib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation import channels, delivery
from escalation.models import DeliveryAttempt, Heartbeat, Notification, WebhookEndpoint
from escalation.notifications import notify

from .notify_fixtures import SECRET, alice, bob, failing_receiver, json_hook, receiver  # noqa: F401

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECOND, HOUR = timedelta(seconds=1), timedelta(hours=1)


def test_email_carries_a_message_id_made_from_the_idempotency_id(alice):
    notify(subject=alice, reason="test.ping", recipients=[alice], title="Database down",
           body="Primary is unreachable.", url="/incidents/INC-2026-0001/")
    row = Notification.objects.get(channel="email")

    run = delivery.deliver_due()

    assert run.sent == 1
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "[Firebreak] Database down"
    assert message.message()["Message-ID"] == f"<{row.idempotency_id}@firebreak>"
    assert "Primary is unreachable." in message.body
    assert "http://127.0.0.1:8000/incidents/INC-2026-0001/" in message.body
    row.refresh_from_db()
    assert row.status == "sent" and row.sent_at is not None
    assert list(row.attempts_log.values_list("succeeded", flat=True)) == [True]


def test_a_sent_notification_is_not_sent_again(alice):
    notify(subject=alice, reason="test.ping", recipients=[alice], title="Ping")

    delivery.deliver_due()
    delivery.deliver_due()

    assert len(mail.outbox) == 1


def test_json_webhook_is_signed_with_hmac_sha256_over_the_timestamp_and_raw_body(
        receiver, json_hook, alice):
    notify(subject=alice, reason="test.hook", recipients=[], title="Checkout failing",
           webhooks=True)
    row = Notification.objects.get(channel="webhook")

    delivery.deliver_due()

    [request] = receiver.requests
    headers = request["headers"]
    assert headers["x-webhook-id"] == str(row.idempotency_id)
    assert headers["x-webhook-timestamp"].isdigit()
    assert headers["x-webhook-signature"] == channels.sign(
        SECRET, headers["x-webhook-timestamp"], request["raw"])
    assert receiver.signature_ok(request)
    assert request["json"]["id"] == str(row.idempotency_id)
    assert request["json"]["title"] == "Checkout failing"
    assert request["json"]["subject"] == {"type": "auth.user", "id": alice.pk}
    row.refresh_from_db()
    assert row.status == "sent"
    assert row.attempts_log.get().status_code == 200


def test_a_signature_over_a_tampered_body_or_time_does_not_verify():
    body, sent = b'{"title": "x"}', "1790000000"
    signature = channels.sign(SECRET, sent, body)

    assert channels.signature_is_valid(SECRET, body, signature, sent, now=1790000010)
    assert not channels.signature_is_valid(SECRET, body + b" ", signature, sent, now=1790000010)
    assert not channels.signature_is_valid("other", body, signature, sent, now=1790000010)
    assert not channels.signature_is_valid(SECRET, body, signature, "1790000001",
                                           now=1790000010)


def test_a_replayed_request_is_refused_once_its_timestamp_is_old():
    body, sent = b'{"title": "x"}', "1790000000"
    signature = channels.sign(SECRET, sent, body)

    assert channels.signature_is_valid(SECRET, body, signature, sent, now=1790000000 + 299)
    assert not channels.signature_is_valid(SECRET, body, signature, sent, now=1790000000 + 301)


def test_slack_payload_has_fallback_text_and_blocks_with_a_link(declare):
    incident = declare(title="Checkout <broken>", severity="P1")
    hook = WebhookEndpoint.objects.create(name="Slack", format="slack",
                                          url="https://hooks.slack.invalid/x")
    [row] = notify(subject=incident, reason="test.slack", recipients=[], title=incident.title,
                   body="Card payments fail & time out.", url="/incidents/x/",
                   incident=incident, webhooks=True)

    payload = channels.slack_payload(row)

    assert payload["text"].startswith("Checkout &lt;broken&gt;")
    assert "http://127.0.0.1:8000/incidents/x/" in payload["text"]
    kinds = [block["type"] for block in payload["blocks"]]
    assert kinds == ["header", "section", "context", "actions"]
    assert payload["blocks"][1]["text"]["text"] == "Card payments fail &amp; time out."
    assert incident.reference in payload["blocks"][2]["elements"][0]["text"]
    assert payload["blocks"][3]["elements"][0]["url"] == "http://127.0.0.1:8000/incidents/x/"
    assert row.webhook == hook


def test_teams_payload_is_a_message_with_an_adaptive_card(declare):
    incident = declare(severity="P0")
    WebhookEndpoint.objects.create(name="Teams", format="teams", url="https://teams.invalid/x")
    [row] = notify(subject=incident, reason="test.teams", recipients=[], title="Major outage",
                   body="All regions.", url="/incidents/x/", incident=incident, webhooks=True)

    payload = channels.teams_payload(row)

    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "Major outage"
    facts = {fact["title"]: fact["value"] for fact in card["body"][1]["facts"]}
    assert facts == {"Incident": incident.reference, "Severity": "P0", "State": incident.state}
    assert card["actions"][0] == {"type": "Action.OpenUrl", "title": "Open in Firebreak",
                                  "url": "http://127.0.0.1:8000/incidents/x/"}
    json.dumps(payload)  # it must serialise as sent


def test_slack_and_teams_receive_their_own_format_with_the_idempotency_header(receiver, alice):
    WebhookEndpoint.objects.create(name="Slack", format="slack", url=receiver.url)
    WebhookEndpoint.objects.create(name="Teams", format="teams", url=receiver.url)
    notify(subject=alice, reason="test.hooks", recipients=[], title="Hello", webhooks=True)

    delivery.deliver_due()

    bodies = [request["json"] for request in receiver.requests]
    assert sorted("blocks" in body for body in bodies) == [False, True]
    assert sorted("attachments" in body for body in bodies) == [False, True]
    assert receiver.unique_ids() == {
        str(i) for i in Notification.objects.values_list("idempotency_id", flat=True)}
    assert all("x-webhook-signature" not in r["headers"] for r in receiver.requests)


def test_failures_are_retried_with_exponential_backoff_then_given_up(failing_receiver, alice,
                                                                     settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 4
    WebhookEndpoint.objects.create(name="Down", url=failing_receiver.url, secret=SECRET)
    with time_machine.travel(NOON, tick=False) as clock:
        notify(subject=alice, reason="test.retry", recipients=[], title="Hi", webhooks=True)
        row = Notification.objects.get(channel="webhook")
        retry_times = []
        for _ in range(4):
            delivery.deliver_due()
            row.refresh_from_db()
            retry_times.append(row.next_attempt_at - datetime.now(UTC))
            delivery.deliver_due()  # not due yet: nothing happens
            clock.move_to(row.next_attempt_at)

    assert retry_times[:3] == [timedelta(seconds=30), timedelta(seconds=60),
                               timedelta(seconds=120)]
    assert retry_times[3] == timedelta(0), "given up: the admin shows no attempt to come"
    assert len(failing_receiver.requests) == 4
    assert row.status == "failed"
    assert row.attempts == 4
    assert row.last_error.startswith("Gave up after 4 attempt(s): Webhook answered HTTP 500")
    attempts = list(row.attempts_log.order_by("attempted_at"))
    assert [a.status_code for a in attempts] == [500, 500, 500, 500]
    assert not any(a.succeeded for a in attempts)


def test_a_retry_that_succeeds_marks_the_notification_sent(receiver, alice):
    hook = WebhookEndpoint.objects.create(name="Flaky", url=receiver.url, secret=SECRET)
    receiver.status = 503
    with time_machine.travel(NOON, tick=False) as clock:
        notify(subject=alice, reason="test.flaky", recipients=[], title="Hi", webhooks=True)
        delivery.deliver_due()
        receiver.status = 200
        clock.shift(timedelta(seconds=30))
        delivery.deliver_due()

    row = Notification.objects.get(webhook=hook)
    assert row.status == "sent" and row.last_error == ""
    assert [a.succeeded for a in row.attempts_log.order_by("attempted_at")] == [False, True]
    assert len(receiver.unique_ids()) == 1 and len(receiver.requests) == 2


def test_a_failing_endpoint_does_not_block_other_endpoints_or_email(failing_receiver, receiver,
                                                                    json_hook, alice, bob):
    WebhookEndpoint.objects.create(name="Down", url=failing_receiver.url, secret=SECRET)
    for number in range(3):
        notify(subject=alice, reason=f"test.many.{number}", recipients=[alice, bob],
               title=f"News {number}", webhooks=True)

    run = delivery.deliver_due()

    # The broken endpoint was tried once, then skipped for the rest of the run.
    assert len(failing_receiver.requests) == 1
    assert len(receiver.requests) == 3
    assert len(mail.outbox) == 6
    assert run.sent == 9 and run.retrying == 1
    assert Notification.objects.filter(status="pending").count() == 3


def test_a_webhook_that_cannot_be_reached_is_recorded_and_retried(alice):
    WebhookEndpoint.objects.create(name="Nowhere", url="http://127.0.0.1:9/hook", secret=SECRET)
    notify(subject=alice, reason="test.nowhere", recipients=[], title="Hi", webhooks=True)

    delivery.deliver_due()

    row = Notification.objects.get()
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error.startswith("Webhook not reached")
    assert row.attempts_log.get().error == row.last_error


def test_a_non_http_webhook_url_fails_at_once_without_retrying(alice):
    WebhookEndpoint.objects.create(name="File", url="file:///etc/passwd", secret=SECRET)
    notify(subject=alice, reason="test.file", recipients=[], title="Hi", webhooks=True)

    delivery.deliver_due()

    row = Notification.objects.get()
    assert row.status == "failed" and row.attempts == 1
    assert "Only http(s)" in row.last_error


def test_a_sender_killed_mid_send_loses_nothing_and_resends_with_the_same_id(receiver,
                                                                             json_hook, alice):
    with time_machine.travel(NOON, tick=False) as clock:
        notify(subject=alice, reason="test.killed", recipients=[], title="Hi", webhooks=True)
        # What a killed worker leaves behind: the row claimed and leased, no outcome recorded.
        run = delivery.DeliveryRun()
        [(row, attempt)] = delivery._claim_batch(run, 1).to_send
        assert delivery.deliver_due().sent == 0  # leased: nobody else sends it meanwhile

        clock.shift(delivery.lease())
        assert delivery.deliver_due().sent == 1

    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2
    interrupted, finished = row.attempts_log.order_by("pk")
    assert interrupted.error == delivery.ATTEMPT_IN_PROGRESS and not interrupted.succeeded
    assert finished.succeeded
    assert receiver.ids() == [str(row.idempotency_id)]


def test_retry_now_requeues_undelivered_notifications_with_fresh_attempts(alice,
                                                                         failing_receiver):
    WebhookEndpoint.objects.create(name="Down", url=failing_receiver.url, secret=SECRET)
    notify(subject=alice, reason="test.again", recipients=[alice], title="Hi", webhooks=True)
    Notification.objects.filter(channel="webhook").update(status="failed", attempts=8)
    delivery.deliver_due()  # sends the email; the failed webhook stays failed
    sent_email = Notification.objects.get(channel="email")

    count = delivery.notifications_retry_now(
        notification_ids=Notification.objects.values_list("pk", flat=True))

    assert count == 1
    webhook_row = Notification.objects.get(channel="webhook")
    assert (webhook_row.status, webhook_row.attempts) == ("pending", 0)
    sent_email.refresh_from_db()
    assert sent_email.status == "sent"


def test_email_server_errors_are_retried(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    notify(subject=alice, reason="test.smtp", recipients=[alice], title="Hi")

    run = delivery.deliver_due()

    row = Notification.objects.get(channel="email")
    assert run.retrying == 1
    assert row.status == "pending" and row.last_error.startswith("Email not sent")
    assert DeliveryAttempt.objects.get(notification=row).succeeded is False


def test_a_mail_server_that_fails_is_not_tried_again_for_the_other_emails_of_the_run(
    alice, bob, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    notify(subject=alice, reason="test.smtp", recipients=[alice, bob], title="Hi")

    run = delivery.deliver_due()

    assert run.retrying == 1
    emails = Notification.objects.filter(channel="email")
    assert sorted(emails.values_list("attempts", flat=True)) == [0, 1]
    # The one not tried is handed back untouched: no attempt on record, due again at once.
    assert DeliveryAttempt.objects.filter(notification__in=emails).count() == 1
    assert all(row.status == "pending" for row in emails)


def test_giving_up_on_a_message_leaves_the_others_as_they_were(alice):
    notify(subject=alice, reason="test.fine", recipients=[alice], title="Fine")
    delivery.deliver_due()
    WebhookEndpoint.objects.create(name="File", url="file:///etc/passwd", secret=SECRET)
    notify(subject=alice, reason="test.file", recipients=[], title="Hi", webhooks=True)

    delivery.deliver_due()

    assert Notification.objects.get(channel="webhook").status == "failed"
    earlier = Notification.objects.get(channel="email")
    assert (earlier.status, earlier.last_error) == ("sent", "")


def test_a_message_requeued_while_its_last_attempt_failed_stays_queued(failing_receiver, alice,
                                                                        settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    WebhookEndpoint.objects.create(name="Down", url=failing_receiver.url, secret=SECRET)
    notify(subject=alice, reason="test.requeued", recipients=[], title="Hi", webhooks=True)
    run = delivery.DeliveryRun()
    claimed = delivery._claim_batch(run, 1)
    # A manager presses "retry now" while the (last allowed) send is under way, and it fails.
    delivery.notifications_retry_now(notification_ids=[claimed.to_send[0][0].pk])
    delivery._send_batch(claimed.to_send, run)

    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("pending", 0)


def test_retry_now_sends_a_waiting_message_at_once_not_after_its_backoff(receiver, alice):
    hook = WebhookEndpoint.objects.create(name="Flaky", url=receiver.url, secret=SECRET)
    receiver.status = 503
    with time_machine.travel(NOON, tick=False):
        notify(subject=alice, reason="test.now", recipients=[], title="Hi", webhooks=True)
        delivery.deliver_due()  # fails: the next attempt waits 30 s
        receiver.status = 200
        delivery.notifications_retry_now(
            notification_ids=Notification.objects.values_list("pk", flat=True))
        run = delivery.deliver_due()

    assert run.sent == 1
    assert Notification.objects.get(webhook=hook).status == "sent"


@pytest.fixture
def queued_tasks(monkeypatch):
    from escalation import tasks

    calls = []
    monkeypatch.setattr(tasks.deliver_notifications_task, "apply_async",
                        lambda *args, **kwargs: calls.append(kwargs))
    return calls


def test_delivery_is_queued_when_the_transaction_commits(alice, queued_tasks,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(subject=alice, reason="test.queue", recipients=[alice], title="Hi")
        assert queued_tasks == []  # not before the rows are committed

    # a nudge that is not retried against a broker that is down, and expires unheard after 60 s
    assert queued_tasks == [{"retry": False, "expires": 60}]


def test_in_app_only_news_queues_no_delivery(make_user, queued_tasks,
                                             django_capture_on_commit_callbacks):
    no_address = make_user()
    no_address.email = ""
    no_address.save()

    with django_capture_on_commit_callbacks(execute=True):
        notify(subject=no_address, reason="test.queue", recipients=[no_address], title="Hi")

    assert queued_tasks == []


def test_a_broker_that_is_down_does_not_break_the_writer(alice, monkeypatch, caplog,
                                                         django_capture_on_commit_callbacks):
    from escalation import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("Redis is down")

    monkeypatch.setattr(tasks.deliver_notifications_task, "apply_async", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        created = notify(subject=alice, reason="test.queue", recipients=[alice], title="Hi")

    assert len(created) == 2
    assert Notification.objects.filter(reason="test.queue", status="pending").count() == 1
    [record] = [r for r in caplog.records if r.name == "escalation.delivery"]
    assert (record.levelno, record.getMessage()) == (
        logging.WARNING, "Could not queue notification delivery; the beat will catch up.")
    assert record.exc_info[0] is ConnectionRefusedError


def test_the_tasks_are_thin_wrappers_over_the_services(alice):
    from escalation import tasks

    notify(subject=alice, reason="test.task", recipients=[alice], title="Hi")

    assert tasks.deliver_notifications_task.apply().get() == {
        "sent": 1, "retrying": 0, "failed": 0}
    assert tasks.deadlines_sweep_task.apply().get() == 0
    assert len(mail.outbox) == 1


def test_the_beat_runs_the_sweep_and_the_delivery_every_five_seconds(settings):
    from config.celery import app

    app.loader.import_default_modules()
    for name in ["escalation.deadlines_sweep", "escalation.deliver_notifications"]:
        entry = settings.CELERY_BEAT_SCHEDULE[name]
        assert entry["schedule"] == timedelta(seconds=5)
        assert entry["task"] in app.tasks


def test_a_manager_can_send_a_test_message_to_a_webhook(client, receiver, json_hook, make_user):
    root = make_user(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)

    client.post("/admin/escalation/webhookendpoint/",
                {"action": "send_test_message", "_selected_action": [json_hook.pk]})
    delivery.deliver_due()

    [request] = receiver.requests
    assert request["json"]["reason"] == "webhook.test"
    assert receiver.signature_ok(request)
    assert Notification.objects.get(reason="webhook.test").status == "sent"


# --- What a run hands over, counts and records (issue 16: each seen to fail with a mutant) ---

class MailSession(locmem.EmailBackend):
    """One mail-server session as the run uses it: what it sent, how often it was closed."""

    def __init__(self, log, **kwargs):
        super().__init__(**kwargs)
        self.log, self.sent, self.closed = log, [], 0
        log.sessions.append(self)

    def send_messages(self, messages):
        if self.log.failing:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        self.sent += [address for message in messages for address in message.to]
        return super().send_messages(messages)

    def close(self):
        self.closed += 1
        if self.log.close_fails:
            raise smtplib.SMTPServerDisconnected("Connection already gone")


@pytest.fixture
def mail_sessions(monkeypatch):
    log = SimpleNamespace(sessions=[], failing=False, close_fails=False)
    monkeypatch.setattr(channels, "get_connection", lambda **kwargs: MailSession(log))
    return log


def test_the_emails_of_a_run_go_over_one_mail_session_closed_at_the_end(alice, bob,
                                                                        mail_sessions):
    notify(subject=alice, reason="test.session", recipients=[alice, bob], title="Hi")

    delivery.deliver_due()

    [session] = mail_sessions.sessions
    assert sorted(session.sent) == ["alice@example.com", "bob@example.com"]
    assert session.closed == 1


def test_a_run_of_webhooks_only_opens_no_mail_session(receiver, json_hook, alice, mail_sessions):
    notify(subject=alice, reason="test.hooks", recipients=[], title="Hi", webhooks=True)

    assert delivery.deliver_due().sent == 1
    assert mail_sessions.sessions == []


def test_a_failing_webhook_does_not_cost_the_emails_their_mail_session(alice, bob,
                                                                       failing_receiver,
                                                                       mail_sessions):
    with time_machine.travel(NOON, tick=False) as clock:
        notify(subject=alice, reason="test.first", recipients=[alice], title="First")
        clock.shift(timedelta(seconds=1))
        WebhookEndpoint.objects.create(name="Down", url=failing_receiver.url, secret=SECRET)
        notify(subject=alice, reason="test.hook", recipients=[], title="Hook", webhooks=True)
        clock.shift(timedelta(seconds=1))
        notify(subject=alice, reason="test.last", recipients=[bob], title="Last")
        # the run takes the newest first: Bob's e-mail, the webhook (fails), Alice's e-mail
        run = delivery.deliver_due()

    assert (run.sent, run.retrying) == (2, 1)
    [session] = mail_sessions.sessions
    assert sorted(session.sent) == ["alice@example.com", "bob@example.com"]
    assert session.closed == 1


def test_a_mail_server_that_fails_has_its_session_closed_and_the_other_emails_due_at_once(
        alice, bob, mail_sessions):
    mail_sessions.failing = True
    with time_machine.travel(NOON, tick=False):
        notify(subject=alice, reason="test.smtp", recipients=[alice, bob], title="Hi")
        run = delivery.deliver_due()

    assert run.retrying == 1
    [session] = mail_sessions.sessions
    assert session.closed == 1
    tried, handed_back = sorted(Notification.objects.filter(channel="email"),
                                key=lambda row: -row.attempts)
    assert tried.next_attempt_at == NOON + timedelta(seconds=30)
    assert tried.last_error == ("Email not sent: SMTPServerDisconnected: "
                                "Connection unexpectedly closed")
    assert (handed_back.attempts, handed_back.next_attempt_at) == (0, NOON)


def test_a_mail_session_that_cannot_be_closed_is_dropped_and_noted_in_the_debug_log(
        alice, mail_sessions, caplog):
    mail_sessions.close_fails = True
    notify(subject=alice, reason="test.close", recipients=[alice], title="Hi")

    with caplog.at_level(logging.DEBUG, logger="escalation.delivery"):
        run = delivery.deliver_due()

    assert run.sent == 1
    [record] = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert record.getMessage() == "Closing the SMTP session failed"
    assert record.exc_info[0] is smtplib.SMTPServerDisconnected


def test_a_message_refused_for_good_does_not_hold_up_the_other_emails(alice, bob):
    with time_machine.travel(NOON, tick=False) as clock:
        notify(subject=alice, reason="test.bob", recipients=[bob], title="Hi")
        clock.shift(timedelta(seconds=1))
        notify(subject=alice, reason="test.alice", recipients=[alice], title="Hi")
        alice.email = ""  # removed after the message was queued
        alice.save()
        run = delivery.deliver_due()  # Alice's (newest) first

    assert (run.sent, run.failed, run.retrying) == (1, 1, 0)
    assert [message.to for message in mail.outbox] == [["bob@example.com"]]
    assert Notification.objects.get(channel="email", recipient=alice).status == "failed"


def test_a_bug_in_one_payload_is_recorded_and_retried_without_stopping_the_run(
        receiver, json_hook, alice, monkeypatch, caplog):
    def broken(notification):
        raise KeyError("severity")

    monkeypatch.setitem(channels.PAYLOAD_BUILDERS, WebhookEndpoint.Format.JSON, broken)
    with time_machine.travel(NOON, tick=False):
        notify(subject=alice, reason="test.bug", recipients=[alice], title="Hi", webhooks=True)
        run = delivery.deliver_due()

    assert (run.sent, run.retrying, run.failed) == (1, 1, 0)
    assert len(mail.outbox) == 1
    row = Notification.objects.get(channel="webhook")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "KeyError: 'severity'"
    assert row.next_attempt_at == NOON + timedelta(seconds=30)
    assert row.attempts_log.get().error == "KeyError: 'severity'"
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == f"Unexpected error delivering notification {row.pk}"
    assert record.exc_info[0] is KeyError


def test_a_failed_attempt_is_logged_with_its_message_attempt_and_error(failing_receiver, alice,
                                                                      caplog):
    WebhookEndpoint.objects.create(name="Down", url=failing_receiver.url, secret=SECRET)
    notify(subject=alice, reason="test.log", recipients=[], title="Hi", webhooks=True)

    with caplog.at_level(logging.WARNING, logger="escalation.delivery"):
        delivery.deliver_due()

    row = Notification.objects.get()
    assert row.last_error.startswith("Webhook answered HTTP 500")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"Notification {row.pk} attempt 1 failed: {row.last_error}"]


def test_a_run_counts_every_message_given_up_and_every_one_to_retry(failing_receiver, alice):
    for name in ["File one", "File two"]:
        WebhookEndpoint.objects.create(name=name, url=f"file:///{name}", secret=SECRET)
    for name in ["Down one", "Down two"]:
        WebhookEndpoint.objects.create(name=name, url=failing_receiver.url, secret=SECRET)
    notify(subject=alice, reason="test.count", recipients=[], title="Hi", webhooks=True)

    run = delivery.deliver_due()

    assert run.as_dict() == {"sent": 0, "retrying": 2, "failed": 2}


def test_a_failure_is_recorded_on_its_own_message_only(failing_receiver, alice):
    with time_machine.travel(NOON, tick=False):
        notify(subject=alice, reason="test.waiting", recipients=[alice], title="Waiting")
        waiting = Notification.objects.get(channel="email")
        Notification.objects.filter(pk=waiting.pk).update(
            attempts=1, last_error="Email not sent: earlier", next_attempt_at=NOON + HOUR)
        WebhookEndpoint.objects.create(name="Down", url=failing_receiver.url, secret=SECRET)
        notify(subject=alice, reason="test.failing", recipients=[], title="Hi", webhooks=True)
        delivery.deliver_due()

    waiting.refresh_from_db()
    assert (waiting.attempts, waiting.last_error, waiting.next_attempt_at) == (
        1, "Email not sent: earlier", NOON + HOUR)
    assert Notification.objects.get(channel="webhook").last_error.startswith(
        "Webhook answered HTTP 500")


def test_messages_requeued_by_a_manager_during_a_failing_send_stay_due_at_once(alice, bob,
                                                                               mail_sessions):
    mail_sessions.failing = True
    with time_machine.travel(NOON, tick=False) as clock:
        notify(subject=alice, reason="test.requeue", recipients=[alice, bob], title="Hi")
        run = delivery.DeliveryRun()
        claimed = delivery._claim_batch(run, 2)
        clock.shift(timedelta(seconds=5))
        delivery.notifications_retry_now(notification_ids=[n.pk for n, _ in claimed.to_send])
        delivery._send_batch(claimed.to_send, run)  # one fails, the other is skipped

    for row in Notification.objects.filter(channel="email"):
        assert (row.status, row.attempts, row.last_error) == ("pending", 0, "")
        assert row.next_attempt_at == NOON + timedelta(seconds=5)


def test_a_message_requeued_by_a_manager_while_it_was_sent_stays_queued(alice):
    notify(subject=alice, reason="test.requeue", recipients=[alice], title="Hi")
    run = delivery.DeliveryRun()
    claimed = delivery._claim_batch(run, 1)
    delivery.notifications_retry_now(notification_ids=[claimed.to_send[0][0].pk])
    delivery._send_batch(claimed.to_send, run)

    row = Notification.objects.get(channel="email")
    assert (row.status, row.attempts) == ("pending", 0)
    assert run.sent == 0


def test_a_delivered_messages_attempt_shows_success_and_no_error(alice):
    notify(subject=alice, reason="test.ok", recipients=[alice], title="Hi")

    delivery.deliver_due()

    attempt = DeliveryAttempt.objects.get()
    assert (attempt.succeeded, attempt.error, attempt.status_code) == (True, "", None)


def test_a_run_handles_at_most_its_limit_in_batches_of_the_given_size(alice, make_user):
    people = [make_user() for _ in range(5)]
    notify(subject=alice, reason="test.limit", recipients=people, title="Hi")

    first = delivery.deliver_due(limit=3, batch_size=2)

    assert first.sent == 3 and len(mail.outbox) == 3
    assert Notification.objects.filter(channel="email", status="pending").count() == 2
    assert delivery.deliver_due(limit=3).sent == 2


class SteppingClock:
    """delivery's view of time.monotonic(): each reading in turn, then the last one for good."""

    def __init__(self, *readings):
        self.readings = list(readings)

    def monotonic(self):
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


def test_a_run_stops_when_its_time_is_up_and_its_heartbeat_says_how_long_it_took(
        alice, bob, monkeypatch):
    notify(subject=alice, reason="test.budget", recipients=[alice, bob], title="Hi")
    # started at 1000 s; after the first batch the clock reads 50 s on: the default budget
    monkeypatch.setattr(delivery, "time", SteppingClock(1000.0, 1000.0, 1050.0))

    run = delivery.deliver_due(batch_size=1)

    assert run.sent == 1 and len(mail.outbox) == 1
    beat = Heartbeat.objects.get(name="notifications_delivery")
    assert (beat.last_duration_ms, beat.last_count) == (50_000, 1)


@pytest.mark.parametrize("batch_size", [1, 50])
def test_an_in_app_notification_left_pending_is_settled_by_the_run_without_sending(
        alice, make_user, batch_size):
    no_address = make_user()
    no_address.email = ""
    no_address.save()
    with time_machine.travel(NOON, tick=False) as clock:
        notify(subject=alice, reason="test.email", recipients=[alice], title="Mail")
        clock.shift(timedelta(seconds=1))
        notify(subject=alice, reason="test.inapp", recipients=[no_address], title="In-app")
        left = Notification.objects.get(recipient=no_address)
        Notification.objects.filter(pk=left.pk).update(status="pending", sent_at=None)
        clock.shift(timedelta(seconds=1))
        run = delivery.deliver_due(limit=2, batch_size=batch_size)

    assert run.sent == 2
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]
    left.refresh_from_db()
    assert (left.status, left.sent_at, left.attempts) == ("sent", NOON + 2 * SECOND, 0)


def test_messages_whose_last_attempt_never_finished_are_given_up_with_the_reason(
        alice, bob, make_user):
    carol = make_user(username="carol")
    with time_machine.travel(NOON, tick=False) as clock:
        notify(subject=alice, reason="test.fine", recipients=[carol], title="Fine")
        clock.shift(SECOND)
        notify(subject=alice, reason="test.stuck", recipients=[alice, bob], title="Stuck")
        stuck = Notification.objects.filter(reason="test.stuck", channel="email")
        stuck.update(attempts=8)  # the sender was killed during the last allowed attempt
        stuck.filter(recipient=alice).update(last_error="Email not sent: timed out")
        run = delivery.deliver_due(limit=3)  # the stuck ones come first (newest)

    assert (run.failed, run.sent) == (2, 1)
    assert [message.to for message in mail.outbox] == [["carol@example.com"]]
    given_up = {row.recipient.username: (row.status, row.last_error) for row in stuck}
    assert given_up == {
        "alice": ("failed", "Gave up after 8 attempt(s): Email not sent: timed out"),
        "bob": ("failed", "Gave up after 8 attempt(s): The last attempt never finished."),
    }


def test_a_claimed_message_is_reserved_for_the_configured_lease(alice, settings):
    settings.NOTIFICATION_DELIVERY_LEASE_SECONDS = 300
    with time_machine.travel(NOON, tick=False):
        notify(subject=alice, reason="test.lease", recipients=[alice], title="Hi")
        [(row, _)] = delivery._claim_batch(delivery.DeliveryRun(), 1).to_send

    assert Notification.objects.get(pk=row.pk).next_attempt_at == NOON + timedelta(minutes=5)


def test_the_queries_per_batch_of_webhooks_about_an_incident_do_not_grow_with_the_backlog(
        receiver, declare, alice):
    incident = declare(severity="P1")
    for name in ["Ops JSON", "Ops Teams"]:
        WebhookEndpoint.objects.create(name=name, url=receiver.url, secret=SECRET,
                                       format="json" if "JSON" in name else "teams")

    def deliver_news(count):
        for number in range(count):
            notify(subject=incident, reason=f"test.news.{count}.{number}", recipients=[],
                   title="News", incident=incident, webhooks=True)
        with CaptureQueriesContext(connection) as queries:
            assert delivery.deliver_due().sent == 2 * count
        return len(queries.captured_queries)

    deliver_news(1)  # the heartbeat row and cached content types
    assert deliver_news(2) == deliver_news(5)


def test_a_manager_sees_who_sent_a_webhook_test_message_and_to_which_endpoint(
        json_hook, make_user):
    ivan = make_user(username="ivan", first_name="Ivan", last_name="Manager")
    root = make_user(username="root")
    with time_machine.travel(NOON, tick=False) as clock:
        first = delivery.webhook_send_test(endpoint=json_hook, by=ivan)
        clock.shift(SECOND)
        second = delivery.webhook_send_test(endpoint=json_hook, by=root)

    assert first.title == second.title == "Test message from Firebreak to Ops JSON"
    assert first.body == "Sent by Ivan Manager to check this webhook."
    assert second.body == "Sent by root to check this webhook."
    assert Notification.objects.filter(reason="webhook.test", status="pending").count() == 2
