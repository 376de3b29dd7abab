"""A form carries a one-time token: the same POST sent twice (double click, a reload that
re-posts, a retry) does the work once and answers the repeat with the first result."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import FormSubmission, Incident, TimelineEntry
from incidents.once import submissions_purge
from tests.conftest import COMMITTED_DB


def declare_data(severities, payments, token: str) -> dict:
    return {
        "form_token": token, "title": "Checkout returns 500", "description": "Cards fail.",
        "severity": severities["P1"].pk, "services": [payments.pk], "incident_type": "technical",
        "currency": "EUR",
    }


@pytest.mark.django_db
def test_the_declare_page_carries_a_fresh_token_each_time(client_for, responder):
    client = client_for(responder)
    first = client.get(reverse("incidents:declare")).content.decode()
    second = client.get(reverse("incidents:declare")).content.decode()
    tokens = [re.search(r'name="form_token" value="([0-9a-f-]+)"', html).group(1)
              for html in (first, second)]
    assert tokens[0] != tokens[1]


@pytest.mark.django_db
def test_declaring_twice_with_one_token_makes_one_incident_and_the_same_answer(
        client_for, responder, severities, payments):
    client = client_for(responder)
    data = declare_data(severities, payments, str(uuid.uuid4()))
    first = client.post(reverse("incidents:declare"), data)
    second = client.post(reverse("incidents:declare"), data)
    assert Incident.objects.count() == 1
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"] == Incident.objects.get().get_absolute_url()


@pytest.mark.django_db
def test_a_new_token_declares_again(client_for, responder, severities, payments):
    client = client_for(responder)
    client.post(reverse("incidents:declare"), declare_data(severities, payments, str(uuid.uuid4())))
    client.post(reverse("incidents:declare"), declare_data(severities, payments, str(uuid.uuid4())))
    assert Incident.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_form_does_not_use_up_its_token(client_for, responder, severities, payments):
    client = client_for(responder)
    data = declare_data(severities, payments, str(uuid.uuid4()))
    refused = client.post(reverse("incidents:declare"), {**data, "title": ""})
    assert refused.status_code in {200, 400} and Incident.objects.count() == 0
    assert client.post(reverse("incidents:declare"), data).status_code == 302
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_a_war_room_note_posted_twice_is_added_once_and_answered_alike(
        client_for, responder, declare):
    incident = declare(by=responder)
    client = client_for(responder)
    data = {"form_token": str(uuid.uuid4()), "note-text": "Rolling back the deploy"}
    url = f"/war-room/{incident.reference}/notes/"
    first = client.post(url, data, HTTP_HX_REQUEST="true")
    second = client.post(url, data, HTTP_HX_REQUEST="true")
    assert TimelineEntry.objects.filter(incident=incident, text="Rolling back the deploy").count() == 1
    assert second.status_code == first.status_code == 200
    assert second.content == first.content and second["HX-Trigger"] == first["HX-Trigger"]


@pytest.mark.django_db
def test_someone_elses_token_is_refused(client_for, responder, make_user, severities, payments):
    data = declare_data(severities, payments, str(uuid.uuid4()))
    client_for(responder).post(reverse("incidents:declare"), data)
    other = client_for(make_user("Responder"))
    assert other.post(reverse("incidents:declare"), data).status_code == 400
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_a_malformed_token_is_a_clear_400(client_for, responder, severities, payments):
    response = client_for(responder).post(reverse("incidents:declare"),
                                          declare_data(severities, payments, "not-a-token"))
    assert response.status_code == 400 and b"token" in response.content
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_old_answers_are_purged(client_for, responder, severities, payments):
    client_for(responder).post(reverse("incidents:declare"),
                               declare_data(severities, payments, str(uuid.uuid4())))
    assert submissions_purge(now=timezone.now() + timedelta(hours=1)) == 0
    assert submissions_purge(now=timezone.now() + timedelta(days=3)) == 1
    assert not FormSubmission.objects.exists()


@COMMITTED_DB
def test_two_simultaneous_posts_of_one_form_declare_once(postgres, make_user, severities,
                                                         payments):
    """A double click sends both requests before the first answers: the second waits for the
    first's token row, then replays its answer."""
    reporter = make_user("Responder")
    data = declare_data(severities, payments, str(uuid.uuid4()))
    answers, start = [], threading.Barrier(2)

    def post():
        client = Client()
        client.force_login(reporter)
        start.wait()
        try:
            answers.append(client.post(reverse("incidents:declare"), data))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Incident.objects.count() == 1
    assert [answer.status_code for answer in answers] == [302, 302]
    assert answers[0]["Location"] == answers[1]["Location"]
