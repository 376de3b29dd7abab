"""Login protection and account self-service: lockout per user and per address with a clear
page, a manager's unlock, login records, password change and reset, idle sessions ending."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests/conftest.py make_user


def log_in(client, username, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=address)


def fail_until_locked(client, username, address="10.0.0.1"):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = log_in(client, username, "wrong", address)
    return response


def test_repeated_failures_lock_the_account_with_a_clear_message(client, responder):
    response = fail_until_locked(client, "rita")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed logins" in html and "try again in 15 minutes" in html
    # Even the right password is refused now, from another address too.
    refused = log_in(Client(), "rita", PASSWORD, address="10.9.9.9")
    assert refused.status_code == 429
    assert "_auth_user_id" not in Client().session


def test_the_lock_ends_after_the_cool_off(client, responder):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail_until_locked(client, "rita")
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert log_in(Client(), "rita", PASSWORD).status_code == 302


def test_failures_from_one_address_lock_that_address_for_every_username(client, make_user):
    make_user(username="someone")
    for number in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{number}", "wrong", address="10.6.6.6")
    assert log_in(Client(), "someone", PASSWORD, address="10.6.6.6").status_code == 429
    assert log_in(Client(), "someone", PASSWORD, address="10.7.7.7").status_code == 302


def test_a_manager_unlocks_an_account_in_the_admin(client, responder, manager):
    fail_until_locked(client, "rita")
    attempt = AccessAttempt.objects.get(username="rita")
    admin_client = Client()
    admin_client.force_login(manager)
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert admin_client.get(changelist).status_code == 200
    admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [attempt.pk],
                                   "post": "yes"})
    assert not AccessAttempt.objects.filter(username="rita").exists()
    assert log_in(Client(), "rita", PASSWORD).status_code == 302


def test_successful_and_failed_logins_are_recorded_and_visible_to_managers(
        client, responder, manager):
    log_in(client, "rita", "wrong")
    log_in(client, "rita", PASSWORD)
    assert AccessFailureLog.objects.filter(username="rita").count() == 1
    assert AccessLog.objects.filter(username="rita").count() == 1
    admin_client = Client()
    admin_client.force_login(manager)
    for name in ("accesslog", "accessfailurelog"):
        page = admin_client.get(reverse(f"admin:axes_{name}_changelist"))
        assert page.status_code == 200 and "rita" in page.content.decode()


def test_responders_cannot_see_login_records(client, responder):
    client.force_login(responder)
    assert client.get(reverse("admin:axes_accesslog_changelist")).status_code == 302


def test_every_user_can_change_their_password(client, make_user):
    nobody = make_user(username="plain")  # no group at all
    client.force_login(nobody)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "a-new-long-passphrase-42",
        "new_password2": "a-new-long-passphrase-42"})
    assert response.status_code == 302
    nobody.refresh_from_db()
    assert nobody.check_password("a-new-long-passphrase-42")


def test_a_forgotten_password_is_reset_through_an_emailed_link(client, responder):
    response = client.post(reverse("password_reset"), {"email": responder.email})
    assert response.status_code == 302
    [message] = mail.outbox
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    client.post(form_page.redirect_chain[-1][0], {
        "new_password1": "reset-passphrase-from-mail", "new_password2": "reset-passphrase-from-mail"})
    responder.refresh_from_db()
    assert responder.check_password("reset-passphrase-from-mail")
    assert log_in(Client(), "rita", "reset-passphrase-from-mail").status_code == 302


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_a_session_ends_after_the_idle_timeout(responder, settings):
    settings.SESSION_COOKIE_AGE = 8 * 60 * 60  # the production default
    settings.SESSION_SAVE_EVERY_REQUEST = True
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        log_in(client, "rita", PASSWORD)
        assert client.get(reverse("incidents:list")).status_code == 200
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    with time_machine.travel(start + idle - timedelta(minutes=1), tick=False):
        assert client.get(reverse("incidents:list")).status_code == 200  # activity moves it on
    with time_machine.travel(start + 2 * idle - timedelta(minutes=2), tick=False):
        assert client.get(reverse("incidents:list")).status_code == 200
    with time_machine.travel(start + 3 * idle, tick=False):
        response = client.get(reverse("incidents:list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
