"""The public status page is served from the cache (issue 14: the one page the whole internet
can hit), and the cached page never shows an incident once it is no longer published: an
update withdrawn or deleted, the incident restricted. Needs PostgreSQL (the cache's version
is a sequence; on SQLite the page is built on every request)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from incidents import services
from incidents.statuspage import freshness
from incidents.warroom.communications import status_update_send

SUBJECT = "Card payments are failing"


@pytest.fixture
def announced(postgres, declare, payments, incident_manager):
    """A confirmed incident with a published customer update, on the page."""
    incident = declare(severity="P1", services=[payments], by=incident_manager)
    incident = services.incident_triage(incident, by=incident_manager,
                                        incident_manager=incident_manager)
    update = status_update_send(incident, by=incident_manager, audience="customer",
                                stage="update", subject=SUBJECT, body="We are on it.",
                                is_public=True)
    assert SUBJECT in page()
    return incident, update


def page() -> str:
    response = Client().get("/status/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_repeated_request_is_served_from_the_cache_with_one_small_query(announced):
    page()
    with CaptureQueriesContext(connection) as captured:
        html = page()
    assert SUBJECT in html
    assert [q["sql"] for q in captured.captured_queries] == [
        f"SELECT last_value FROM {freshness.SEQUENCE}"]


def test_a_repeated_request_renders_nothing(announced):
    page()
    response = Client().get("/status/")
    assert SUBJECT in response.content.decode()
    assert response.templates == []


def test_a_withdrawn_update_leaves_the_cached_page(announced):
    _, update = announced
    update.is_public = False
    update.save(update_fields=["is_public"])
    html = page()
    assert SUBJECT not in html
    assert "All systems operational" in html


def test_a_deleted_update_leaves_the_cached_page(announced):
    _, update = announced
    update.delete()
    assert SUBJECT not in page()


def test_an_incident_restricted_after_it_was_published_leaves_the_cached_page(
    announced, incident_manager
):
    incident, _ = announced
    services.incident_set_visibility(incident, by=incident_manager, restricted=True,
                                     reason="Security: keep it internal")
    html = page()
    assert SUBJECT not in html
    assert "All systems operational" in html


def test_a_service_taken_off_the_page_leaves_it(announced, payments):
    payments.is_public = False
    payments.save()
    assert "Payments" not in page()


def test_a_committed_change_moves_the_version_on_again_after_the_commit(
    announced, django_capture_on_commit_callbacks
):
    """A page built by another process between the change and its commit saw the data from
    before it: the version moves on once more at the commit, so that page is never kept."""
    incident, _ = announced
    before = freshness.current_version()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        incident.save()
    during = freshness.current_version()
    for callback in callbacks:
        callback()
    assert before < during < freshness.current_version()
