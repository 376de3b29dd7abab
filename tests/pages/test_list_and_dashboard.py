"""The incident list (filters, search) and the dashboard, and that both stay within a fixed
number of queries however many incidents there are. Its paging and search at scale:
test_list_paging_and_search.py."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services
from incidents.models import Incident, Service

pytestmark = pytest.mark.django_db

# The most queries either page may make, whatever the number of incidents: session, user,
# permissions, firefighting banner, navigation, filter choices, capped count, page, services...
LIST_MAX_QUERIES = 14  # 11 today; headroom for the inbox badge
DASHBOARD_MAX_QUERIES = 16  # 9 today; headroom for the panels later areas add


def listed_references(response) -> list[str]:
    return [incident.reference for incident in response.context["incidents"]]


@pytest.fixture
def search_service(db):
    return Service.objects.create(name="Search", slug="search")


def test_list_filters_by_state_severity_service_and_search(
    client_for, responder, incident_manager, declare, search_service, payments
):
    checkout = declare(title="Checkout returns 500", severity="P1", services=[payments])
    search = declare(title="Search is slow", severity="P2", services=[search_service],
                     description="Elasticsearch heap pressure")
    old = declare(title="Old problem", severity="P2")
    services.incident_cancel(old, by=incident_manager, reason="Not a real problem")
    client = client_for(responder)
    url = reverse("incidents:list")

    assert set(listed_references(client.get(url))) == {checkout.reference, search.reference,
                                                       old.reference}
    assert set(listed_references(client.get(url, {"state": "open"}))) == {
        checkout.reference, search.reference}
    assert listed_references(client.get(url, {"state": "cancelled"})) == [old.reference]
    assert set(listed_references(client.get(url, {"severity": "P2"}))) == {
        search.reference, old.reference}
    assert listed_references(client.get(url, {"service": "payments"})) == [checkout.reference]
    assert listed_references(client.get(url, {"q": "elasticsearch"})) == [search.reference]
    assert listed_references(client.get(url, {"q": checkout.reference})) == [checkout.reference]
    assert listed_references(client.get(url, {"state": "open", "severity": "P2",
                                              "service": "search"})) == [search.reference]


def test_assigned_to_me_lists_incidents_where_i_have_a_role(
    client_for, responder, incident_manager, declare
):
    mine = declare(title="Mine")
    services.incident_assign_role(mine, by=incident_manager, role="incident_manager",
                                  user=incident_manager)
    declare(title="Someone else's")
    response = client_for(incident_manager).get(reverse("incidents:list"), {"mine": "on"})
    assert listed_references(response) == [mine.reference]


def test_an_invalid_filter_value_is_ignored_not_an_error(client_for, responder, declare):
    incident = declare()
    response = client_for(responder).get(reverse("incidents:list"), {"state": "exploded",
                                                                      "page": "banana"})
    assert response.status_code == 200
    assert listed_references(response) == [incident.reference]


def test_list_shows_the_columns_staff_need(client_for, responder, incident_manager, declare,
                                           payments):
    incident = declare(title="Checkout returns 500", services=[payments])
    services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                  user=incident_manager)
    html = client_for(responder).get(reverse("incidents:list")).content.decode()
    for text in (incident.reference, "Checkout returns 500", ">P1<", "Reported", "Payments",
                 "Ivan Manager", incident.declared_at.astimezone().strftime("%Y")):
        assert text in html


def test_list_page_for_htmx_returns_only_the_table(client_for, responder, declare):
    declare()
    response = client_for(responder).get(reverse("incidents:list"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="incidents"' in html
    assert "<html" not in html


def test_dashboard_counts_open_incidents_by_severity_and_state(
    client_for, responder, incident_manager, declare
):
    declare(severity="P1")
    declare(severity="P1")
    triaged = declare(severity="P2")
    services.incident_triage(triaged, by=incident_manager, incident_manager=incident_manager)
    closed = declare(severity="P2")
    services.incident_cancel(closed, by=incident_manager, reason="Duplicate alert")
    response = client_for(responder).get(reverse("incidents:dashboard"))
    rows = {row["severity"].code: row for row in response.context["open_counts"]}
    assert dict(rows["P1"]["by_state"])["reported"] == 2
    assert rows["P1"]["total"] == 2
    assert dict(rows["P2"]["by_state"])["triaged"] == 1
    assert rows["P2"]["total"] == 1
    assert rows["P0"]["total"] == 0


def test_dashboard_lists_my_open_incidents_and_recently_resolved_ones(
    client_for, incident_manager, declare
):
    mine = declare(title="I manage this")
    services.incident_triage(mine, by=incident_manager, incident_manager=incident_manager)
    declare(title="Not mine at all")
    done = declare(title="Fixed yesterday")
    services.incident_triage(done, by=incident_manager, incident_manager=incident_manager)
    services.incident_resolve(done, by=incident_manager, summary="Restarted the pool.")
    response = client_for(incident_manager).get(reverse("incidents:dashboard"))
    assert [i.reference for i in response.context["mine"]] == [mine.reference]
    assert [i.reference for i in response.context["recently_resolved"]] == [done.reference]


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("url_name, limit", [
    ("incidents:list", LIST_MAX_QUERIES),
    ("incidents:dashboard", DASHBOARD_MAX_QUERIES),
])
def test_page_makes_the_same_bounded_number_of_queries_for_5_and_500_incidents(
    client_for, incident_manager, bulk_incidents, declare, url_name, limit,
    django_assert_max_num_queries,
):
    # A real incident where the user has a role, so "mine" and the timeline are not empty.
    mine = declare(title="Mine")
    services.incident_assign_role(mine, by=incident_manager, role="incident_manager",
                                  user=incident_manager)
    client = client_for(incident_manager)
    url = reverse(url_name)
    bulk_incidents(4, incident_manager=incident_manager)
    client.get(url)  # warm per-process caches (content types) so both counts compare alike
    with django_assert_max_num_queries(limit):
        with_5 = _count_queries(client, url)
    bulk_incidents(495, incident_manager=incident_manager)
    assert Incident.objects.count() == 500
    with django_assert_max_num_queries(limit):
        with_500 = _count_queries(client, url)
    assert with_500 == with_5
