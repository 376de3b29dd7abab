"""The dashboard's figures come from the cache for a short time per period and filters, and a
change to the incidents they count shows at once; rows naming incidents are never shared
between viewers (issue 14). The cache version is a PostgreSQL sequence."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import IncidentParticipant, ReferenceCounter

from .conftest import at

pytestmark = pytest.mark.django_db

NOVEMBER = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
NOW = at("2026-12-01 12:00")


def dashboard(client, user, **params):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("reports:dashboard"), params or NOVEMBER)
    assert response.status_code == 200
    return response, [query["sql"] for query in queries.captured_queries]


def test_a_second_look_within_the_minute_reads_the_figures_from_the_cache(
        postgres, client, product_manager, make_incident):
    make_incident("P1", declared="2026-11-10 10:00", acknowledged="2026-11-10 11:00",
                  resolved="2026-11-10 15:00")
    first, computed = dashboard(client, product_manager)
    second, cached = dashboard(client, product_manager)
    assert second.context["summary"].declared == first.context["summary"].declared
    assert second.context["trends"] == first.context["trends"]
    # None of the passes over the incidents ran again (they group by week: DATE_TRUNC).
    assert any("DATE_TRUNC" in sql for sql in computed)
    assert not any("DATE_TRUNC" in sql for sql in cached)
    assert len(cached) < len(computed)
    # Another period is other figures.
    _, other = dashboard(client, product_manager, date_from="2026-10-01", date_to="2026-10-31")
    assert len(other) == len(computed)


def test_a_change_to_the_incidents_shows_on_the_next_look(
        postgres, client, product_manager, make_incident, declare):
    # Declared references start past the ones the table-writing factory makes up.
    ReferenceCounter.objects.update_or_create(year=2026, defaults={"last_number": 1000})
    make_incident("P1", declared="2026-11-10 10:00", acknowledged="2026-11-10 11:00")
    before, _ = dashboard(client, product_manager)
    assert before.context["summary"].declared["incidents"] == 1
    with time_machine.travel(at("2026-11-20 09:00"), tick=False):
        declare(severity="P2")
    after, _ = dashboard(client, product_manager)
    assert after.context["summary"].declared["incidents"] == 2


def test_the_costliest_incidents_are_named_only_to_those_who_may_see_them(
        postgres, client, product_manager, make_user, make_incident):
    secret = make_incident("P1", declared="2026-11-10 10:00", resolved="2026-11-10 12:00",
                           revenue_impact_per_hour=500, is_restricted=True, title="Secret merger")
    insider = make_user("Product manager")
    IncidentParticipant.objects.create(incident=secret, user=insider,
                                       reason=IncidentParticipant.Reason.RESPONDER)
    for first, second in ((product_manager, insider), (insider, product_manager)):
        shown = {}
        for viewer in (first, second):
            response, _ = dashboard(client, viewer)
            shown[viewer] = "Secret merger" in response.content.decode()
        assert shown == {insider: True, product_manager: False}


def test_each_period_and_filter_has_its_own_cached_figures(
        postgres, client, product_manager, make_incident, checkout, incident_types):
    make_incident("P1", declared="2026-11-10 10:00", services=[checkout],
                  incident_type=incident_types["technical"])
    make_incident("P2", declared="2026-11-11 10:00", incident_type=incident_types["security"])
    seen = {}
    for name, params in (("all", {}), ("P1", {"severity": "P1"}), ("P3", {"severity": "P3"}),
                         ("checkout", {"service": "checkout"}),
                         ("technical", {"type": "technical"}),
                         ("security", {"type": "security"}),
                         ("from the 11th", {"date_from": "2026-11-11"}),
                         ("to the 10th", {"date_to": "2026-11-10"})):
        response, _ = dashboard(client, product_manager, **{**NOVEMBER, **params})
        seen[name] = response.context["summary"].declared["incidents"]
    assert seen == {"all": 2, "P1": 1, "P3": 0, "checkout": 1, "technical": 1, "security": 1,
                    "from the 11th": 1, "to the 10th": 1}


def test_figures_are_recomputed_once_the_minute_is_up_even_when_nothing_was_saved(
        postgres, client, product_manager, make_incident):
    """Time passing decides SLAs and no save announces it: an unanswered P1 declared at 08:00
    is pending until 12:00, and a look a minute after the first shows the breach."""
    make_incident("P1", declared="2026-11-10 08:00")
    client.force_login(product_manager)

    def breached(when):
        with time_machine.travel(at(when), tick=False):
            response = client.get(reverse("reports:dashboard"), NOVEMBER)
        return response.context["summary"].declared["response_breached"]

    assert breached("2026-11-10 11:59:30") == 0
    assert breached("2026-11-10 12:00:29") == 0  # 59 s later: the cached figures
    assert breached("2026-11-10 12:00:30") == 1  # a minute later: computed again
