"""Weekly and monthly management summaries: who gets them, what they say, and that a period's
summary reaches each person once."""

import pytest
import time_machine
from django.core import mail

from escalation.models import Notification, NotificationPreference
from incidents.reports import summaries, tasks
from incidents.reports.periods import ReportPeriod

from .conftest import at

pytestmark = pytest.mark.django_db

# Monday 23 Nov 2026, 07:00 Amsterdam: last week is Mon 16 – Sun 22 Nov (ISO week 47).
MONDAY = at("2026-11-23 07:00")


def subscribe(user, weekly=False, monthly=False):
    NotificationPreference.objects.create(user=user, weekly_summary=weekly, monthly_summary=monthly)
    return user


@pytest.fixture
def subscribers(manager, product_manager, responder, make_user):
    subscribe(manager, weekly=True, monthly=True)
    subscribe(product_manager, monthly=True)
    subscribe(responder, weekly=True)  # may not see reports: gets nothing
    subscribe(make_user("Manager"))  # subscribed to neither
    return {"manager": manager, "product_manager": product_manager, "responder": responder}


def test_the_weekly_summary_covers_last_whole_week_and_goes_to_weekly_subscribers_once(
        subscribers, make_incident):
    make_incident("P1", declared="2026-11-18 10:00", acknowledged="2026-11-18 11:00")
    make_incident("P1", declared="2026-11-23 06:00")  # this week: not in last week's summary
    with time_machine.travel(MONDAY, tick=False):
        first = tasks.send_weekly_summary()
        again = tasks.send_weekly_summary()
    rows = Notification.objects.filter(reason="summary.weekly.2026-W47")
    assert first == 2  # in-app and email for the manager
    assert again == 0
    assert {row.recipient for row in rows} == {subscribers["manager"]}
    assert {row.channel for row in rows} == {"inapp", "email"}
    body = rows.first().body
    assert "Mon 16 Nov 2026 – Sun 22 Nov 2026" in body
    assert "- Incidents declared: 1" in body
    assert "- Mean time to acknowledge (h): 1.00" in body
    assert "date_from=2026-11-16&date_to=2026-11-22" in rows.first().url


def test_the_next_week_brings_a_new_summary(subscribers):
    with time_machine.travel(MONDAY, tick=False):
        tasks.send_weekly_summary()
    with time_machine.travel(at("2026-11-30 07:00"), tick=False):
        assert tasks.send_weekly_summary() == 2
    reasons = set(Notification.objects.values_list("reason", flat=True))
    assert reasons == {"summary.weekly.2026-W47", "summary.weekly.2026-W48"}


def test_the_monthly_summary_covers_last_month_for_monthly_subscribers(subscribers):
    with time_machine.travel(at("2026-12-01 07:15"), tick=False):
        assert tasks.send_monthly_summary() == 4  # manager and product manager, two channels
        assert tasks.send_monthly_summary() == 0
    rows = Notification.objects.filter(reason="summary.monthly.2026-11")
    assert {row.recipient for row in rows} == {subscribers["manager"],
                                               subscribers["product_manager"]}
    assert "Sun 01 Nov 2026 – Mon 30 Nov 2026" in rows.first().body


def test_a_daily_run_within_the_month_does_not_send_the_month_again(subscribers):
    for day in ("2026-12-01 07:15", "2026-12-02 07:15", "2026-12-15 07:15"):
        with time_machine.travel(at(day), tick=False):
            tasks.send_monthly_summary()
    assert Notification.objects.filter(reason__startswith="summary.monthly").count() == 4


def test_without_subscribers_nothing_is_computed_or_queued(manager, django_assert_max_num_queries):
    with time_machine.travel(MONDAY, tick=False), django_assert_max_num_queries(3):
        assert summaries.management_summary_send(kind="weekly") == 0


def test_a_summary_for_a_chosen_period_is_keyed_by_that_period(subscribers):
    period = ReportPeriod(summaries.week_period_before(MONDAY.date()).start,
                          summaries.week_period_before(MONDAY.date()).end)
    assert summaries.summary_reason("weekly", period) == "summary.weekly.2026-W47"
    with pytest.raises(ValueError):
        summaries.management_summary_send(kind="daily")


def test_the_summary_email_is_delivered_by_the_outbox_worker(subscribers):
    from escalation.delivery import deliver_due

    with time_machine.travel(MONDAY, tick=False):
        tasks.send_weekly_summary()
        deliver_due()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [subscribers["manager"].email]
    assert "Weekly incident summary, Mon 16 Nov 2026 – Sun 22 Nov 2026" in message.subject
    assert "- Incidents declared: 0" in message.body
