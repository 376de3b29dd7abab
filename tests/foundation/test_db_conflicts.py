"""A person's action that the database aborts for a deadlock or serialization failure is tried
again; if it keeps losing, the person is told so in words (409), never shown a server error, and
nothing is half-written.

The abort is injected where a real one surfaces: as an OperationalError carrying PostgreSQL's
SQLSTATE, raised inside the service's transaction (here from a signal receiver). These tests
commit for real, since only an outermost transaction can be retried."""

from __future__ import annotations

import psycopg.errors
import pytest
from django.db import OperationalError
from django.urls import reverse

from incidents import guards, services, signals
from incidents.errors import Conflict
from incidents.models import Incident, TimelineEntry
from incidents.transactions import BUSY_MESSAGE

from tests.conftest import COMMITTED_DB

from .conftest import walk

pytestmark = COMMITTED_DB


def database_abort(sqlstate: str = "40P01") -> OperationalError:
    exc = OperationalError("deadlock detected")
    exc.__cause__ = psycopg.errors.lookup(sqlstate)("deadlock detected")  # as Django wraps it
    return exc


@pytest.fixture
def losing_races():
    """losing_races(n, sqlstate): the next n transitions are aborted by the database."""
    receivers = []

    def arm(times: int, sqlstate: str = "40P01"):
        left = {"n": times}

        def abort(**kwargs):
            if left["n"] > 0:
                left["n"] -= 1
                raise database_abort(sqlstate)

        signals.incident_transitioned.connect(abort, weak=False)
        receivers.append(abort)
        return left

    yield arm
    for receiver in receivers:
        signals.incident_transitioned.disconnect(receiver)


@pytest.fixture
def triaged(declare, incident_manager):
    with guards.only_own_guards():
        yield walk(declare(severity="P3"), ["triage"], by=incident_manager)


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_an_action_aborted_once_by_the_database_is_retried_and_done_once(
    triaged, incident_manager, losing_races, sqlstate
):
    left = losing_races(1, sqlstate)
    incident = services.incident_resolve(triaged, by=incident_manager, summary="Rolled back.")
    assert left["n"] == 0
    assert incident.state == Incident.State.RESOLVED
    assert triaged.timeline.filter(kind=TimelineEntry.Kind.TRANSITION,
                                   data__transition="resolve").count() == 1
    assert triaged.history.filter(state=Incident.State.RESOLVED).count() == 1


def test_an_action_that_keeps_losing_is_refused_in_words_and_changes_nothing(
    triaged, incident_manager, losing_races
):
    losing_races(10)
    before = (triaged.history.count(), triaged.timeline.count())
    with pytest.raises(Conflict) as refused:
        services.incident_resolve(triaged, by=incident_manager, summary="Rolled back.")
    assert refused.value.reasons == [BUSY_MESSAGE]
    triaged.refresh_from_db()
    assert triaged.state == Incident.State.TRIAGED
    assert (triaged.history.count(), triaged.timeline.count()) == before


def test_other_database_errors_are_not_retried(triaged, incident_manager, losing_races):
    left = losing_races(2, sqlstate="53100")  # disk full: retrying will not help
    with pytest.raises(OperationalError):
        services.incident_resolve(triaged, by=incident_manager, summary="Rolled back.")
    assert left["n"] == 1


def test_the_page_says_to_try_again_instead_of_a_server_error(
    client, triaged, incident_manager, losing_races
):
    losing_races(10)
    client.force_login(incident_manager)
    url = reverse("incidents:transition", kwargs={"reference": triaged.reference,
                                                  "name": "resolve"})
    response = client.post(url, {"resolve-summary": "Rolled back."})
    assert response.status_code == 409
    assert BUSY_MESSAGE in response.content.decode()
    triaged.refresh_from_db()
    assert triaged.state == Incident.State.TRIAGED


def test_an_unretried_database_race_is_a_409_with_the_message_not_a_500(
    client, triaged, incident_manager, monkeypatch
):
    """Whatever view meets an abort that no service retried (the middleware's net)."""
    def aborted(*args, **kwargs):
        raise database_abort()

    monkeypatch.setitem(services.TRANSITION_SERVICES, "investigate", aborted)
    client.force_login(incident_manager)
    page = reverse("incidents:detail", kwargs={"reference": triaged.reference})
    url = reverse("incidents:transition", kwargs={"reference": triaged.reference,
                                                  "name": "investigate"})
    response = client.post(url, {}, HTTP_REFERER=f"http://testserver{page}")
    assert response.status_code == 302 and response["Location"].endswith(page)
    assert BUSY_MESSAGE in client.get(page).content.decode()
    machine = client.post(url, {}, HTTP_ACCEPT="application/json")
    assert machine.status_code == 409
    assert machine.json() == {"error": BUSY_MESSAGE}
