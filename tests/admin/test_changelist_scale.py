"""The incident and timeline changelists do no whole-table work per page (issue 14): no
unbounded COUNT(*) (the paginator counts with a LIMIT and estimates above it, no full result
count), no date hierarchy's SELECT DISTINCT DATE_TRUNC, and no SELECT DISTINCT for the
incident-manager filter. Checked on the SQL PostgreSQL is sent."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.admin_paging import EstimatedCountPaginator
from incidents.models import Incident, TimelineEntry
from tests.unbounded_sql import counts_every_match

from .conftest import admin_url

BIG_TABLES = ("incidents_incident", "incidents_timelineentry")


@pytest.fixture
def bulk_incidents(postgres, severities, manager):
    """n incidents, every other one managed by `manager`, each with `entries` timeline rows,
    inserted in bulk; the planner's statistics refreshed as autovacuum would."""

    def make(n: int, *, entries: int = 2) -> list[Incident]:
        now = timezone.now()
        start = Incident.objects.count() + 1
        incidents = Incident.objects.bulk_create(
            Incident(reference=f"INC-2026-{i:05d}", title=f"Incident {i}",
                     severity=severities[f"P{i % 4}"], reporter=manager,
                     incident_manager=manager if i % 2 else None,
                     declared_at=now - timezone.timedelta(hours=i), detected_at=now)
            for i in range(start, start + n)
        )
        TimelineEntry.objects.bulk_create(
            TimelineEntry(incident=incident, kind=TimelineEntry.Kind.NOTE, text=f"Note {k}",
                          occurred_at=incident.declared_at + timezone.timedelta(minutes=k))
            for incident in incidents for k in range(entries)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE incidents_incident, incidents_timelineentry")
        return incidents

    return make


def whole_table_work(queries) -> list[str]:
    """The statements that read a whole big table whatever the page: a COUNT of every match
    (see tests/unbounded_sql.py), a SELECT DISTINCT
    (date hierarchy years, related-only filter choices), a DATE_TRUNC, a MIN or MAX."""
    found = []
    for query in queries:
        sql = query["sql"]
        if not any(f'"{table}"' in sql for table in BIG_TABLES) or sql.startswith("EXPLAIN"):
            continue
        if counts_every_match(sql):
            found.append(sql)
        elif re.search(r"SELECT DISTINCT|DATE_TRUNC|\bMIN\(|\bMAX\(", sql, re.I):
            found.append(sql)
    return found


def changelist_sql(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return response, captured.captured_queries


TIMELINE = "admin:incidents_timelineentry_changelist"


@pytest.mark.parametrize("params", [
    {}, {"state": "reported"}, {"q": "Incident 1"}, {"severity__id__exact": "1", "o": "2"},
])
def test_the_incident_changelist_does_no_whole_table_work(
    bulk_incidents, manager_client, manager, params
):
    bulk_incidents(300)
    response, queries = changelist_sql(manager_client, admin_url("changelist"), params)
    assert whole_table_work(queries) == []
    assert b"Incident 1" in response.content


@pytest.mark.parametrize("params", [{}, {"kind__exact": "note"}, {"q": "Note 1"}])
def test_the_timeline_changelist_does_no_whole_table_work(
    bulk_incidents, manager_client, params
):
    bulk_incidents(150)
    response, queries = changelist_sql(manager_client, reverse(TIMELINE), params)
    assert whole_table_work(queries) == []
    assert b"Note 1" in response.content


def test_a_superuser_s_changelists_do_none_either(bulk_incidents, make_user):
    """A superuser sees every incident: no visibility filter at all, so every count would be
    over the bare table."""
    from django.test import Client

    bulk_incidents(150)
    client = Client()
    client.force_login(make_user(username="root", is_staff=True, is_superuser=True))
    for url in (admin_url("changelist"), reverse(TIMELINE)):
        _, queries = changelist_sql(client, url)
        assert whole_table_work(queries) == []


def test_above_the_cap_the_count_is_the_planner_s_estimate_and_says_about(
    bulk_incidents, manager_client, monkeypatch
):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 100)
    bulk_incidents(300, entries=1)
    response, queries = changelist_sql(manager_client, reverse(TIMELINE))
    paginator = response.context["cl"].paginator
    assert paginator.count_is_estimate
    assert paginator.count > 100  # never less than it counted (the estimate is near 300)
    assert re.search(rb"about \d+ timeline entries", response.content)
    assert whole_table_work(queries) == []
    # A page past the first still shows its rows.
    second = manager_client.get(reverse(TIMELINE), {"p": "2"})
    assert second.status_code == 200
    assert len(second.context["cl"].result_list) == 100


def test_below_the_cap_the_count_is_exact(bulk_incidents, manager_client):
    bulk_incidents(120)
    response = manager_client.get(admin_url("changelist"))
    paginator = response.context["cl"].paginator
    assert (paginator.count, paginator.count_is_estimate) == (120, False)
    assert b"120 incidents" in response.content and b"about" not in response.content


def test_the_incident_manager_filter_lists_managers_of_visible_incidents_only(
    bulk_incidents, manager_client, manager, make_user, severities
):
    bulk_incidents(10)
    hidden_manager = make_user("Incident manager", username="hidden", first_name="Hidden")
    idle = make_user("Incident manager", username="idle", first_name="Idle")
    Incident.objects.create(reference="INC-2026-99999", title="Secret", is_restricted=True,
                            severity=severities["P1"], incident_manager=hidden_manager,
                            reporter=hidden_manager)
    viewer = make_user("Incident manager", username="viewer", is_staff=True)
    from django.test import Client

    client = Client()
    client.force_login(viewer)
    response = client.get(admin_url("changelist"))
    spec = next(spec for spec in response.context["cl"].filter_specs
                if getattr(spec, "field_path", "") == "incident_manager")
    assert [name for _, name in spec.lookup_choices] == ["Mona Boss"]
    assert idle.pk not in dict(spec.lookup_choices)
    filtered = manager_client.get(admin_url("changelist"),
                                  {"incident_manager__id__exact": manager.pk})
    assert filtered.context["cl"].result_count == 5
