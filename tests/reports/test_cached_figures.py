"""The dashboard's figures come from the cache for a short time per period and filters, and a
change to the incidents they count shows at once; rows naming incidents are never shared
between viewers (issue 14). The cache version is a PostgreSQL sequence."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from escalation.models import EscalationEvent, EscalationLadder, EscalationLevel
from incidents import cache_version
from incidents.models import IncidentParticipant, ReferenceCounter
from incidents.reports import freshness
from postmortems.models import ActionItem, PostMortem

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


def _ranks_the_costliest(sql: str) -> bool:
    return "FROM \"incidents_incident\"" in sql and sql.rstrip().endswith("LIMIT 10")


def test_a_second_look_within_the_minute_reads_the_figures_from_the_cache(
        postgres, client, product_manager, make_incident):
    make_incident("P1", declared="2026-11-10 10:00", acknowledged="2026-11-10 11:00",
                  resolved="2026-11-10 15:00", revenue_impact_per_hour=300, title="Costly")
    first, computed = dashboard(client, product_manager)
    second, cached = dashboard(client, product_manager)
    assert second.context["summary"].declared == first.context["summary"].declared
    assert second.context["trends"] == first.context["trends"]
    assert ([row["incident"].title for row in second.context["costliest"]]
            == [row["incident"].title for row in first.context["costliest"]] == ["Costly"])
    # None of the passes over the incidents ran again (they group by week: DATE_TRUNC), nor
    # the ranking of the period's costliest incidents (the ten with most revenue lost).
    assert any("DATE_TRUNC" in sql for sql in computed)
    assert not any("DATE_TRUNC" in sql for sql in cached)
    assert any(_ranks_the_costliest(sql) for sql in computed)
    assert not any(_ranks_the_costliest(sql) for sql in cached)
    assert len(cached) < len(computed)
    # Another period is other figures.
    _, other = dashboard(client, product_manager, date_from="2026-10-01", date_to="2026-10-31")
    assert any("DATE_TRUNC" in sql for sql in other)


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


def _escalate(incident):
    ladder = EscalationLadder.objects.get(is_default=True)
    level, _ = EscalationLevel.objects.get_or_create(ladder=ladder, number=2,
                                                     defaults={"name": "Level 2"})
    return EscalationEvent.objects.create(incident=incident, level=level, source="manual",
                                          reason_category="complexity", at=incident.declared_at)


def _review(incident):
    return PostMortem.objects.create(incident=incident, title=incident.title,
                                     due_at=at("2026-11-12 10:00"),
                                     state=PostMortem.State.DRAFTING)


def _action_item(review, owner):
    return ActionItem.objects.create(postmortem=review, title="Add an alert",
                                     owner=owner, due_date=date(2026, 11, 20))


# Each change the dashboard counts: what exists first, the change, and the figure that shows
# it (None: the figures are computed again; a renamed service, say, shows in no headline).
CHANGES = {
    "an incident deleted": (None, lambda incident, m: incident.delete(),
                            lambda s: s.declared["incidents"]),
    "an incident given a service": (None, lambda incident, m: incident.services.add(m.checkout),
                                    None),
    "a severity edited": (None, lambda incident, m: m.severities["P1"].save(), None),
    "a service edited": (None, lambda incident, m: m.checkout.save(), None),
    "an incident type edited": (None, lambda incident, m: m.incident_types["technical"].save(),
                                None),
    "an escalation recorded": (None, lambda incident, m: _escalate(incident),
                               lambda s: s.escalations["events"]),
    "an escalation deleted": (lambda incident, m: _escalate(incident),
                              lambda incident, m: incident.escalations.get().delete(),
                              lambda s: s.escalations["events"]),
    "a post-mortem written": (None, lambda incident, m: _review(incident),
                              lambda s: s.postmortems["due"]),
    "a post-mortem deleted": (lambda incident, m: _review(incident),
                              lambda incident, m: PostMortem.objects.get().delete(),
                              lambda s: s.postmortems["due"]),
    "an action item added": (lambda incident, m: _review(incident),
                             lambda incident, m: _action_item(PostMortem.objects.get(), m.manager),
                             lambda s: s.action_items["total"]),
    "an action item deleted": (lambda incident, m: _action_item(_review(incident), m.manager),
                               lambda incident, m: ActionItem.objects.get().delete(),
                               lambda s: s.action_items["total"]),
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_the_figures_count_shows_on_the_next_look(
        change, postgres, client, product_manager, make_incident, checkout, severities,
        incident_types, manager):
    given, make, figure = CHANGES[change]
    fixtures = SimpleNamespace(checkout=checkout, severities=severities,
                               incident_types=incident_types, manager=manager)
    incident = make_incident("P1", declared="2026-11-10 10:00")
    if given is not None:
        given(incident, fixtures)
    before, _ = dashboard(client, product_manager)
    make(incident, fixtures)
    after, computed = dashboard(client, product_manager)
    assert any("DATE_TRUNC" in sql for sql in computed), "the figures are computed again"
    if figure is not None:
        assert figure(after.context["summary"]) != figure(before.context["summary"])


class OnSqlite:
    """The database connection, as seen by a portal on SQLite."""

    vendor = "sqlite"

    def __getattr__(self, name):
        return getattr(connection, name)


def test_without_a_cache_version_every_look_computes_the_figures(
        postgres, client, product_manager, make_incident, monkeypatch):
    """The embedded portal on SQLite has no sequence: no version, no cache, always fresh.
    (Only the version is told it runs on SQLite: the figures themselves need PostgreSQL.)"""
    make_incident("P1", declared="2026-11-10 10:00")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {freshness.SEQUENCE}")
        sequence = cursor.fetchone()[0]
    monkeypatch.setattr(cache_version, "connection", OnSqlite())
    first, computed = dashboard(client, product_manager)
    make_incident("P2", declared="2026-11-11 10:00")
    second, again = dashboard(client, product_manager)
    assert any("DATE_TRUNC" in sql for sql in computed)
    assert any("DATE_TRUNC" in sql for sql in again)
    assert not any(freshness.SEQUENCE in sql for sql in computed + again)
    assert (first.context["summary"].declared["incidents"],
            second.context["summary"].declared["incidents"]) == (1, 2)
    assert first.context["summary"].filters.viewer == product_manager
    monkeypatch.undo()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {freshness.SEQUENCE}")
        assert cursor.fetchone()[0] == sequence, "nothing moved the version on"


def test_a_look_from_the_cache_still_says_which_incidents_it_counts(
        postgres, client, product_manager, make_incident):
    make_incident("P1", declared="2026-11-10 10:00")
    for _ in range(2):  # computed, then from the cache
        response, _ = dashboard(client, product_manager, **NOVEMBER, severity="P1")
        html = response.content.decode()
        period = html[html.index('id="report-period"'):]
        assert "severity P1" in period[:period.index("</p>")]
