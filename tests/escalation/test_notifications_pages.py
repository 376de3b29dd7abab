"""The inbox, personal preferences, the health page and the admin's view of deliveries."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from escalation import deadlines
from escalation.models import Heartbeat, Notification, NotificationPreference, WebhookEndpoint
from escalation.notifications import inbox_mark_read, inbox_unread_count, notify

from .notify_fixtures import SECRET, alice, bob  # noqa: F401

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def tell(user, reason, **extra):
    return notify(subject=user, reason=reason, recipients=[user], title=f"About {reason}", **extra)


def inapp(user, reason):
    return Notification.objects.get(recipient=user, reason=reason, channel="inapp")


# --- Inbox -----------------------------------------------------------------------------------

def test_inbox_lists_my_notifications_with_the_unread_count(client, alice, bob):
    tell(alice, "test.one")
    tell(alice, "test.two")
    tell(bob, "test.secret")
    client.force_login(alice)

    response = client.get(reverse("notifications:inbox"))

    assert response.status_code == 200
    assert response.context["unread_count"] == 2
    assert response.context["inbox_unread_count"] == 2  # the navigation badge
    content = response.content.decode()
    assert "About test.one" in content and "About test.two" in content
    assert "About test.secret" not in content


def test_marking_a_notification_read_lowers_the_unread_count(client, alice):
    tell(alice, "test.one")
    tell(alice, "test.two")
    client.force_login(alice)

    response = client.post(reverse("notifications:mark_read", args=[inapp(alice, "test.one").pk]))

    assert response.status_code == 302
    assert inapp(alice, "test.one").read_at is not None
    assert inapp(alice, "test.two").read_at is None
    assert client.get(reverse("notifications:inbox")).context["inbox_unread_count"] == 1


def test_mark_all_read_clears_the_count(client, alice):
    tell(alice, "test.one")
    tell(alice, "test.two")
    client.force_login(alice)

    client.post(reverse("notifications:mark_all_read"))

    assert not Notification.objects.filter(recipient=alice, channel="inapp",
                                           read_at__isnull=True).exists()


def test_mark_all_read_leaves_other_peoples_news_and_earlier_read_times_alone(client, alice,
                                                                               bob):
    with time_machine.travel("2026-06-01 09:00:00+00:00", tick=False):
        tell(alice, "test.old")
        tell(alice, "test.new")
        tell(bob, "test.theirs")
        inbox_mark_read(user=alice, notification_ids=[inapp(alice, "test.old").pk])
    client.force_login(alice)

    with time_machine.travel("2026-06-01 10:00:00+00:00", tick=False):
        client.post(reverse("notifications:mark_all_read"))
        inbox_mark_read(user=alice, notification_ids=[inapp(alice, "test.old").pk])

    assert inapp(bob, "test.theirs").read_at is None
    assert inapp(alice, "test.old").read_at.hour == 9, "read at nine, not again at ten"
    assert inapp(alice, "test.new").read_at.hour == 10
    assert Notification.objects.get(reason="test.new", channel="email").read_at is None


def test_the_inbox_lists_each_piece_of_news_once_newest_first(client, alice):
    with time_machine.travel("2026-06-01 09:00:00+00:00", tick=False):
        tell(alice, "test.first")
        tell(alice, "test.second")  # made at the same moment: the later row is newer
    client.force_login(alice)

    response = client.get(reverse("notifications:inbox"))

    content = response.content.decode()
    assert content.count("About test.first") == 1
    assert content.index("About test.second") < content.index("About test.first")
    assert inbox_unread_count(AnonymousUser()) == 0


def test_nobody_can_mark_someone_elses_notification_read(client, alice, bob):
    tell(bob, "test.secret")
    client.force_login(alice)

    client.post(reverse("notifications:mark_read", args=[inapp(bob, "test.secret").pk]))
    response = client.get(reverse("notifications:open", args=[inapp(bob, "test.secret").pk]))

    assert response.status_code == 404
    assert inapp(bob, "test.secret").read_at is None


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, alice):
    tell(alice, "test.link", url="/reviews/7/")
    client.force_login(alice)

    response = client.get(reverse("notifications:open", args=[inapp(alice, "test.link").pk]))

    assert response.status_code == 302 and response["Location"] == "/reviews/7/"
    assert inapp(alice, "test.link").read_at is not None


def test_a_link_to_another_site_is_not_followed(client, alice):
    tell(alice, "test.evil", url="https://evil.example.com/")
    client.force_login(alice)

    response = client.get(reverse("notifications:open", args=[inapp(alice, "test.evil").pk]))

    assert response["Location"] == reverse("notifications:inbox")


def test_marking_read_needs_a_post(client, alice):
    tell(alice, "test.one")
    client.force_login(alice)

    response = client.get(reverse("notifications:mark_read", args=[inapp(alice, "test.one").pk]))

    assert response.status_code == 405
    assert inapp(alice, "test.one").read_at is None


def test_inbox_needs_a_login(client):
    response = client.get(reverse("notifications:inbox"))

    assert response.status_code == 302 and "login" in response["Location"]


def test_the_inbox_page_uses_a_fixed_number_of_queries(client, alice,
                                                       django_assert_max_num_queries, declare):
    incident = declare()
    for number in range(30):
        notify(subject=incident, reason=f"test.{number}", recipients=[alice],
               title=f"News {number}", incident=incident)
    client.force_login(alice)

    with django_assert_max_num_queries(15):
        response = client.get(reverse("notifications:inbox"))

    assert len(response.context["page"].object_list) == 25


def test_the_unread_count_is_only_given_to_signed_in_people(client):
    response = client.get(reverse("login"))

    assert "inbox_unread_count" not in response.context


# --- Preferences -----------------------------------------------------------------------------

def test_preferences_show_the_defaults_before_anyone_chose(client, alice):
    client.force_login(alice)

    form = client.get(reverse("notifications:preferences")).context["form"]

    assert form["email"].value() is True
    assert form["weekly_summary"].value() is False
    assert not NotificationPreference.objects.filter(user=alice).exists()


def test_preferences_show_what_the_person_saved(client, alice, bob):
    NotificationPreference.objects.create(user=alice, email=False, monthly_summary=True)
    NotificationPreference.objects.create(user=bob, email=True, weekly_summary=True)
    client.force_login(alice)

    form = client.get(reverse("notifications:preferences")).context["form"]

    assert [form[name].value() for name in ("email", "weekly_summary", "monthly_summary")] == [
        False, False, True]


def test_a_change_of_preferences_is_in_the_history_under_the_persons_name(client, alice):
    client.force_login(alice)

    client.post(reverse("notifications:preferences"), {"weekly_summary": "on"})

    change = NotificationPreference.objects.get(user=alice).history.latest()
    assert (change.history_user, change.email, change.weekly_summary) == (alice, False, True)


def test_turning_email_off_stops_email_but_not_the_inbox(client, alice):
    client.force_login(alice)

    response = client.post(reverse("notifications:preferences"),
                           {"weekly_summary": "on", "monthly_summary": ""})
    tell(alice, "test.after")

    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=alice)
    assert (preference.email, preference.weekly_summary, preference.monthly_summary) == (
        False, True, False)
    assert list(Notification.objects.filter(reason="test.after").values_list(
        "channel", flat=True)) == ["inapp"]


def test_turning_email_back_on_sends_email_again(client, alice):
    NotificationPreference.objects.create(user=alice, email=False)
    client.force_login(alice)

    client.post(reverse("notifications:preferences"), {"email": "on"})
    tell(type(alice).objects.get(pk=alice.pk), "test.after")

    assert set(Notification.objects.filter(reason="test.after").values_list(
        "channel", flat=True)) == {"inapp", "email"}


# --- Health ----------------------------------------------------------------------------------

def health_json(client):
    response = client.get(reverse("notifications:health"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_health_reports_when_the_sweep_ran_and_the_delivery_numbers(client, alice):
    hook = WebhookEndpoint.objects.create(name="Hook", url="http://127.0.0.1:9/", secret=SECRET)
    with time_machine.travel(NOON, tick=False) as clock:
        deadlines.deadlines_sweep()
        for number in range(3):
            tell(alice, f"test.{number}")  # three emails pending
        Notification.objects.filter(reason="test.0", channel="email").update(
            attempts=1, last_error="SMTP down")
        notify(subject=alice, reason="test.hook", recipients=[], title="x", webhooks=True)
        Notification.objects.filter(webhook=hook).update(status="failed", attempts=8,
                                                         last_error="Gave up")
        clock.shift(timedelta(seconds=20))
        client.force_login(alice)

        data = health_json(client)
        page = client.get(reverse("notifications:health"))

    assert data["sweep"]["last_run_at"] == NOON.isoformat()
    assert data["sweep"]["age_seconds"] == 20.0 and data["sweep"]["stale"] is False
    assert data["delivery"]["pending"] == 2
    assert data["delivery"]["failing"] == 1
    assert data["delivery"]["failed"] == 1 and data["delivery"]["failed_last_24h"] == 1
    assert data["status"] == "degraded"
    assert page.status_code == 200
    assert page.context["report"].failing == 1
    assert "Mon 1 Jun 2026" in page.content.decode()


def test_health_is_ok_when_the_sweep_is_recent_and_nothing_fails(client, alice):
    with time_machine.travel(NOON, tick=False):
        deadlines.deadlines_sweep()
        client.force_login(alice)
        data = health_json(client)

    assert data["status"] == "ok" and data["problems"] == []


def test_the_sweep_counts_as_stale_after_60_seconds(client, alice):
    client.force_login(alice)
    with time_machine.travel(NOON, tick=False) as clock:
        deadlines.deadlines_sweep()
        clock.shift(timedelta(seconds=60))
        assert health_json(client)["sweep"]["stale"] is False
        clock.shift(timedelta(seconds=1))
        data = health_json(client)

    assert data["sweep"]["stale"] is True
    assert "deadline sweep last ran 61 s ago" in data["problems"][0]


def test_a_sweep_that_never_ran_is_reported(client, alice):
    client.force_login(alice)

    data = health_json(client)

    assert data["sweep"]["last_run_at"] is None and data["sweep"]["stale"] is True
    assert "never run" in data["problems"][0]


def test_health_rejects_an_unknown_format_with_a_clear_error(client, alice):
    client.force_login(alice)

    response = client.get(reverse("notifications:health"), {"format": "xml"})

    assert response.status_code == 400 and "format" in response.json()["error"]


# --- Admin -----------------------------------------------------------------------------------

@pytest.fixture
def superuser(make_user):
    return make_user(username="root", is_staff=True, is_superuser=True)


def test_admin_home_warns_when_the_sweep_is_stale(client, superuser):
    Heartbeat.objects.create(name="deadlines_sweep", last_run_at=NOON)
    client.force_login(superuser)

    with time_machine.travel(NOON + timedelta(minutes=5), tick=False):
        response = client.get(reverse("admin:index"))

    warnings = [str(m) for m in response.context["messages"]]
    assert any("deadline sweep last ran 300 s ago" in w for w in warnings)


def test_admin_home_is_quiet_when_all_is_well(client, superuser):
    deadlines.deadlines_sweep()
    client.force_login(superuser)

    response = client.get(reverse("admin:index"))

    assert not [m for m in response.context["messages"] if "sweep" in str(m)]


def test_admin_shows_a_notification_with_its_delivery_attempts(client, superuser, alice):
    from escalation import delivery

    tell(alice, "test.admin")
    delivery.deliver_due()
    row = Notification.objects.get(channel="email")
    client.force_login(superuser)

    listing = client.get(reverse("admin:escalation_notification_changelist"))
    detail = client.get(reverse("admin:escalation_notification_change", args=[row.pk]))

    assert listing.status_code == 200 and "About test.admin" in listing.content.decode()
    assert detail.status_code == 200
    assert detail.context["inline_admin_formsets"][0].formset.queryset.count() == 1


def test_admin_retry_now_requeues_a_failed_notification(client, superuser, alice):
    tell(alice, "test.admin")
    row = Notification.objects.get(channel="email")
    Notification.objects.filter(pk=row.pk).update(status="failed", attempts=8)
    client.force_login(superuser)

    client.post(reverse("admin:escalation_notification_changelist"),
                {"action": "retry_now", "_selected_action": [row.pk]})

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)


def test_admin_refuses_a_json_webhook_without_a_secret_or_with_a_non_http_url(client, superuser):
    client.force_login(superuser)

    response = client.post(reverse("admin:escalation_webhookendpoint_add"), {
        "name": "Ops", "format": "json", "url": "ftp://example.com/hook", "secret": "",
        "is_active": "on", "min_severity_rank": 3,
    })

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "url" in errors and "secret" in errors
    assert not WebhookEndpoint.objects.exists()


def test_webhook_endpoint_changes_keep_history_without_the_secret_or_the_url(manager):
    from escalation.models import WebhookEndpoint

    endpoint = WebhookEndpoint(name="Ops Slack", format="slack", url="https://hooks.example/x",
                               secret="s3cret")
    endpoint._history_user = manager
    endpoint.save()
    endpoint.url = "https://hooks.example/y"
    endpoint.save()
    assert endpoint.history.count() == 2
    assert endpoint.history.last().history_user == manager
    assert not hasattr(endpoint.history.first(), "secret")
    assert not hasattr(endpoint.history.first(), "url")
