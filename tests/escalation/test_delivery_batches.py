"""Delivery claims a batch of due rows on the notification table alone (no join, no sort of
the backlog) and loads what the channels need by key, so its cost per message does not grow
with the number of rows pending."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation import delivery
from escalation.models import Notification
from escalation.notifications import notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue_emails(make_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    subject = make_user()

    def queue(count: int) -> None:
        people = [make_user() for _ in range(count)]
        notify(subject=subject, reason=f"test.batch.{count}", recipients=people, title="Hi")

    return queue


def deliver_counting_queries() -> tuple[delivery.DeliveryRun, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        run = delivery.deliver_due()
    return run, [q["sql"] for q in queries.captured_queries]


def test_the_queries_per_batch_do_not_grow_with_the_backlog(queue_emails):
    queue_emails(1)
    delivery.deliver_due()  # first run: the heartbeat row and cached content types
    queue_emails(5)
    small, small_queries = deliver_counting_queries()
    queue_emails(40)
    large, large_queries = deliver_counting_queries()
    assert (small.sent, large.sent) == (5, 40)
    assert len(mail.outbox) == 46
    assert len(large_queries) == len(small_queries)


def test_the_claim_locks_due_rows_of_the_notification_table_alone(queue_emails):
    queue_emails(3)
    _, queries = deliver_counting_queries()
    claim = next(sql for sql in queries if "FOR UPDATE" in sql)
    assert 'FROM "escalation_notification"' in claim
    assert "JOIN" not in claim and "LIMIT" in claim and "SKIP LOCKED" in claim
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
