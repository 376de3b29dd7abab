"""The outbox: what notify() queues, for whom and on which channels, and the reminder deadline."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation import deadlines
from escalation.models import Notification, NotificationPreference, WebhookEndpoint
from escalation.notifications import notify, notify_addresses
from escalation.reminders import reminder_schedule

from .notify_fixtures import SECRET, alice, bob  # noqa: F401

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def queued(reason):
    return Notification.objects.filter(reason=reason)


def test_the_same_subject_reason_recipient_and_channel_is_queued_once(alice):
    first = notify(subject=alice, reason="test.ping", recipients=[alice], title="Ping")
    again = notify(subject=alice, reason="test.ping", recipients=[alice, alice], title="Ping")

    assert {row.channel for row in first} == {"inapp", "email"}
    assert again == []
    assert queued("test.ping").count() == 2


def test_a_different_reason_or_recipient_is_a_different_notification(alice, bob):
    notify(subject=alice, reason="test.ping", recipients=[alice], title="Ping")
    notify(subject=alice, reason="test.pong", recipients=[alice, bob], title="Pong")

    assert queued("test.ping").count() == 2
    assert queued("test.pong").count() == 4


def test_a_duplicate_does_not_spoil_the_callers_transaction(alice, bob):
    from django.db import transaction

    notify(subject=alice, reason="test.ping", recipients=[alice], title="Ping")
    with transaction.atomic():
        notify(subject=alice, reason="test.ping", recipients=[alice, bob], title="Ping")
        NotificationPreference.objects.create(user=bob)  # the caller's own write still works

    assert queued("test.ping").filter(recipient=bob).count() == 2


def test_in_app_notifications_are_delivered_as_soon_as_they_are_created(alice):
    with time_machine.travel(NOON, tick=False):
        notify(subject=alice, reason="test.ping", recipients=[alice], title="Ping")

    inapp = queued("test.ping").get(channel="inapp")
    email = queued("test.ping").get(channel="email")
    assert (inapp.status, inapp.sent_at, inapp.read_at) == ("sent", NOON, None)
    assert email.status == "pending"


def test_people_who_turned_email_off_are_told_in_the_app_only(alice, bob):
    NotificationPreference.objects.create(user=alice, email=False)

    notify(subject=alice, reason="test.ping", recipients=[alice, bob], title="Ping")

    assert set(queued("test.ping").filter(recipient=alice).values_list("channel", flat=True)) == {
        "inapp"}
    assert set(queued("test.ping").filter(recipient=bob).values_list("channel", flat=True)) == {
        "inapp", "email"}


def test_people_without_an_email_address_or_no_longer_active_get_no_email(make_user):
    no_address = make_user("Responder")
    no_address.email = ""
    no_address.save()
    gone = make_user("Responder", is_active=False)

    notify(subject=no_address, reason="test.ping", recipients=[no_address, gone, None],
           title="Ping")

    assert list(queued("test.ping").values_list("recipient", "channel")) == [
        (no_address.pk, "inapp")]


def test_webhooks_get_only_incidents_at_or_above_their_minimum_severity(declare):
    everything = WebhookEndpoint.objects.create(name="All", url="http://127.0.0.1:9/a",
                                                secret=SECRET, min_severity_rank=3)
    p0_and_p1 = WebhookEndpoint.objects.create(name="Top", url="http://127.0.0.1:9/b",
                                               secret=SECRET, min_severity_rank=1)
    WebhookEndpoint.objects.create(name="Off", url="http://127.0.0.1:9/c", is_active=False)
    minor = declare(severity="P3")
    major = declare(severity="P1")

    notify(subject=minor, reason="test.hook", recipients=[], title="Minor", incident=minor,
           webhooks=True)
    notify(subject=major, reason="test.hook", recipients=[], title="Major", incident=major,
           webhooks=True)

    assert set(queued("test.hook").filter(incident=minor).values_list("webhook", flat=True)) == {
        everything.pk}
    assert set(queued("test.hook").filter(incident=major).values_list("webhook", flat=True)) == {
        everything.pk, p0_and_p1.pk}


def test_an_endpoint_above_the_incidents_severity_does_not_keep_the_next_one_from_it(declare):
    WebhookEndpoint.objects.create(name="Top", url="http://127.0.0.1:9/b", secret=SECRET,
                                   min_severity_rank=1)
    everything = WebhookEndpoint.objects.create(name="All", url="http://127.0.0.1:9/a",
                                                secret=SECRET, min_severity_rank=3)
    minor = declare(severity="P3")

    notify(subject=minor, reason="test.hook", recipients=[], title="Minor", incident=minor,
           webhooks=True)

    assert list(queued("test.hook").values_list("webhook", "channel")) == [
        (everything.pk, "webhook")]


def test_a_long_title_is_cut_to_what_the_outbox_holds_and_empty_parts_stay_empty(alice):
    rows = notify(subject=alice, reason="test.long", recipients=[alice], title="x" * 300)

    assert {(row.title, row.body, row.url) for row in rows} == {("x" * 255, "", "")}


def test_telling_many_people_costs_a_fixed_number_of_queries(make_user,
                                                             django_assert_max_num_queries):
    people = [make_user("Responder", username=f"person{n}")
              for n in range(6)]
    NotificationPreference.objects.create(user=people[0], email=False)
    people = list(type(people[0]).objects.filter(pk__in=[p.pk for p in people]))

    with django_assert_max_num_queries(5):
        rows = notify(subject=people[0], reason="test.many", recipients=people, title="News")

    assert len(rows) == 11, "in-app for six, e-mail for the five who did not turn it off"


def mail_contacts(subject, addresses, *, reason="test.contacts", title="Checkout is back",
                  body="Payments work again since 10:40."):
    return notify_addresses(subject=subject, reason=reason, addresses=addresses, title=title,
                            body=body)


def test_a_contact_gets_one_email_per_address_whatever_its_case_or_spaces(alice):
    rows = mail_contacts(alice, [("Ops", " Ops@Example.com "), ("Ops team", "ops@example.com"),
                                 ("No address", ""), ("Unknown", None),
                                 ("Finance", "finance@example.com")])

    assert sorted((row.to_address, row.to_name) for row in rows) == [
        ("finance@example.com", "Finance"), ("ops@example.com", "Ops team")]
    assert {(row.channel, row.recipient, row.reason, row.title, row.body, row.url, row.status)
            for row in rows} == {("email", None, "test.contacts", "Checkout is back",
                                  "Payments work again since 10:40.", "", "pending")}


def test_each_message_to_a_contact_is_its_own_email_and_the_same_one_is_queued_once(alice, bob):
    mail_contacts(alice, [("Ops", "ops@example.com")])
    mail_contacts(alice, [("Ops", "ops@example.com")], reason="test.contacts.resolved")
    mail_contacts(bob, [("Ops", "ops@example.com")])
    again = mail_contacts(alice, [("Ops", "OPS@example.com")])

    assert again == []
    assert Notification.objects.filter(to_address="ops@example.com").count() == 3


def test_a_contacts_long_name_title_and_address_are_cut_to_what_the_outbox_holds(alice):
    address = "a" * 240 + "@example.com"
    [row] = mail_contacts(alice, [("N" * 150, address)], title="T" * 300)

    assert (row.to_address, row.to_name, row.title) == (address, "N" * 120, "T" * 255)
    assert len(row.dedup_key) == 255


def test_news_for_people_only_does_not_read_the_webhook_endpoints(alice, bob):
    """The endpoints are read once per batch, and only when some message goes to them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    WebhookEndpoint.objects.create(name="Ops", url="https://hooks.invalid/x")
    with CaptureQueriesContext(connection) as queries:
        notify(subject=alice, reason="test.people", recipients=[alice, bob], title="News")
    assert not [q for q in queries if "webhookendpoint" in q["sql"]]


def test_a_reminder_notifies_its_recipients_when_due_and_only_once(alice, bob):
    with time_machine.travel(NOON, tick=False) as clock:
        reminder_schedule(subject=alice, key="review", due_at=NOON + timedelta(minutes=10),
                          reason="test.reminder", title="Review due", body="Please review.",
                          url="/reviews/1/", recipients=[alice, bob])
        deadlines.deadlines_sweep()
        assert not queued("test.reminder").exists()

        clock.shift(timedelta(minutes=10))
        deadlines.deadlines_sweep()
        deadlines.deadlines_sweep()

    rows = queued("test.reminder")
    assert rows.count() == 4
    assert {(row.recipient_id, row.channel) for row in rows} == {
        (alice.pk, "inapp"), (alice.pk, "email"), (bob.pk, "inapp"), (bob.pk, "email")}
    assert {row.title for row in rows} == {"Review due"}
    assert {row.url for row in rows} == {"/reviews/1/"}


def test_each_occurrence_of_a_repeating_reminder_is_sent(alice):
    with time_machine.travel(NOON, tick=False) as clock:
        for _ in range(2):
            reminder_schedule(subject=alice, key="cadence",
                              due_at=datetime.now(UTC) + timedelta(minutes=30),
                              reason="test.cadence", title="Update due", recipients=[alice])
            clock.shift(timedelta(minutes=30))
            deadlines.deadlines_sweep()

    assert queued("test.cadence").filter(channel="inapp").count() == 2


def test_rescheduling_a_reminder_moves_it_instead_of_adding_one(alice):
    with time_machine.travel(NOON, tick=False) as clock:
        reminder_schedule(subject=alice, key="review", due_at=NOON + timedelta(minutes=5),
                          reason="test.reminder", title="Review due", recipients=[alice])
        reminder_schedule(subject=alice, key="review", due_at=NOON + timedelta(hours=1),
                          reason="test.reminder", title="Review due", recipients=[alice])
        clock.shift(timedelta(minutes=5))
        deadlines.deadlines_sweep()
        assert not queued("test.reminder").exists()
        clock.shift(timedelta(minutes=55))
        deadlines.deadlines_sweep()

    assert queued("test.reminder").filter(channel="inapp").count() == 1
