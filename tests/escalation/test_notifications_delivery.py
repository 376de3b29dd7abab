"""Delivering the outbox: email with a stable Message-ID, signed webhooks, Slack and Teams
payloads, retries with backoff, attempts on record, and failures that block nobody else."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from escalation import channels, delivery
from escalation.models import DeliveryAttempt, Notification, WebhookEndpoint
from escalation.notifications import notify

from .notify_fixtures import SECRET, alice, bob, failing_receiver, json_hook, receiver  # noqa: F401

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


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

    assert len(queued_tasks) == 1


def test_in_app_only_news_queues_no_delivery(make_user, queued_tasks,
                                             django_capture_on_commit_callbacks):
    no_address = make_user()
    no_address.email = ""
    no_address.save()

    with django_capture_on_commit_callbacks(execute=True):
        notify(subject=no_address, reason="test.queue", recipients=[no_address], title="Hi")

    assert queued_tasks == []


def test_a_broker_that_is_down_does_not_break_the_writer(alice, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    from escalation import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("Redis is down")

    monkeypatch.setattr(tasks.deliver_notifications_task, "apply_async", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        created = notify(subject=alice, reason="test.queue", recipients=[alice], title="Hi")

    assert len(created) == 2
    assert Notification.objects.filter(reason="test.queue", status="pending").count() == 1


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
