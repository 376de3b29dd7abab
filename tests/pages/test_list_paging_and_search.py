"""The staff incident list at scale (issue 14): pages by keyset ("Newer" / "Older", no OFFSET),
a count that stops at a cap instead of counting every match, and a search that finds any word
of the reference, title or description, served by trigram indexes on PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import selectors
from incidents.models import Incident
from tests.unbounded_sql import counts_every_match

pytestmark = pytest.mark.django_db

LIST = "incidents:list"


def listed(response) -> list[str]:
    return [incident.reference for incident in response.context["incidents"]]


def link(response, rel_or_text: str) -> dict | None:
    """The query of the page link named `rel_or_text` ("Older", "Newer", "Newest"), or None."""
    html = response.content.decode()
    match = re.search(rf'<a class="page-link" href="\?([^"]*)"[^>]*>{rel_or_text}</a>', html)
    if match is None:
        return None
    query = match.group(1).replace("&amp;", "&")
    return {key: values[0] for key, values in parse_qs(query).items()}


def walk(client, params: dict, direction: str) -> list[list[str]]:
    """Every page from the first one, following the `direction` link until there is none
    (at most 20 pages: a link that leads back around fails the test, not hangs it)."""
    pages = []
    response = client.get(reverse(LIST), params)
    for _ in range(20):
        pages.append(listed(response))
        following = link(response, direction)
        if following is None:
            return pages
        response = client.get(reverse(LIST), following)
    raise AssertionError(f"still a {direction} link after 20 pages: {pages}")


def test_older_links_list_every_incident_once_newest_first_keeping_the_filters(
    client_for, responder, bulk_incidents, settings, severities
):
    settings.INCIDENTS_PAGE_SIZE = 10
    bulk_incidents(5, severity=severities["P2"])
    # Declared in the same instant: the id breaks the tie, so no row repeats or goes missing.
    same_instant = timezone.now() - timedelta(days=3)
    bulk_incidents(12, severity=severities["P1"], declared_at=same_instant)
    bulk_incidents(13, severity=severities["P1"])
    client = client_for(responder)

    pages = walk(client, {"severity": "P1"}, "Older")

    assert [len(page) for page in pages] == [10, 10, 5]
    seen = [reference for page in pages for reference in page]
    expected = list(Incident.objects.filter(severity__code="P1")
                    .order_by("-declared_at", "-pk").values_list("reference", flat=True))
    assert seen == expected


def test_newer_links_walk_back_to_the_newest_page(client_for, responder, bulk_incidents,
                                                  settings):
    settings.INCIDENTS_PAGE_SIZE = 10
    bulk_incidents(25)
    client = client_for(responder)
    older_pages = walk(client, {}, "Older")
    last = client.get(reverse(LIST), link(client.get(reverse(LIST), link(
        client.get(reverse(LIST)), "Older")), "Older"))
    assert listed(last) == older_pages[-1]
    assert link(last, "Older") is None

    back = [listed(last)]
    response = last
    for _ in range(20):
        if (newer := link(response, "Newer")) is None:
            break
        response = client.get(reverse(LIST), newer)
        back.append(listed(response))
    assert back[::-1] == older_pages
    assert link(response, "Newest") is None  # the newest page says so


def test_the_first_page_has_no_newer_link_and_a_bad_anchor_gives_the_newest_page(
    client_for, responder, bulk_incidents, settings
):
    settings.INCIDENTS_PAGE_SIZE = 10
    bulk_incidents(15)
    client = client_for(responder)
    first = client.get(reverse(LIST))
    assert link(first, "Newer") is None and link(first, "Older") is not None
    for bad in ("banana", "-3", "0", "99999999", "1" * 30):
        response = client.get(reverse(LIST), {"before": bad, "after": bad})
        assert response.status_code == 200
        assert listed(response) == listed(first)


def test_a_restricted_incident_is_no_anchor_for_someone_who_may_not_see_it(
    client_for, responder, bulk_incidents, settings
):
    """Paging from a restricted incident's id would tell when it was declared."""
    settings.INCIDENTS_PAGE_SIZE = 5
    incidents = bulk_incidents(12)
    hidden = incidents[6]
    Incident.objects.filter(pk=hidden.pk).update(is_restricted=True)
    client = client_for(responder)
    response = client.get(reverse(LIST), {"before": hidden.pk})
    assert listed(response) == listed(client.get(reverse(LIST)))
    assert hidden.reference not in listed(response)


def test_the_count_stops_at_the_cap(client_for, responder, bulk_incidents, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_COUNT_CAP", 20)
    bulk_incidents(20)
    client = client_for(responder)
    assert "20 incidents." in client.get(reverse(LIST)).content.decode()
    bulk_incidents(5)
    response = client.get(reverse(LIST))
    assert response.context["page"].matching_is_capped
    assert "More than 20 incidents match." in response.content.decode()


def unbounded_counts(queries) -> list[str]:
    """COUNTs of every matching incident (as in the admin's scale tests)."""
    return [q["sql"] for q in queries
            if '"incidents_incident"' in q["sql"] and counts_every_match(q["sql"])]


@pytest.mark.parametrize("params", [
    {}, {"q": "bulk 7"}, {"state": "open", "severity": "P2"}, {"mine": "on"}, {"before": "3"},
])
def test_no_page_counts_every_match_or_skips_rows_by_offset(
    client_for, incident_manager, bulk_incidents, params
):
    bulk_incidents(60, incident_manager=incident_manager)
    client = client_for(incident_manager)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(LIST), params)
    assert response.status_code == 200
    assert listed(response)
    assert unbounded_counts(captured.captured_queries) == []
    assert not any(re.search(r"\bOFFSET\b", q["sql"]) for q in captured.captured_queries)


def test_the_older_page_costs_the_queries_of_the_first_plus_its_anchor(
    client_for, responder, bulk_incidents, settings
):
    settings.INCIDENTS_PAGE_SIZE = 10
    bulk_incidents(40)
    client = client_for(responder)
    first = client.get(reverse(LIST))
    with CaptureQueriesContext(connection) as on_first:
        client.get(reverse(LIST))
    with CaptureQueriesContext(connection) as on_older:
        client.get(reverse(LIST), link(first, "Older"))
    assert len(on_older) == len(on_first) + 1


# --- Search ------------------------------------------------------------------------------


def test_search_finds_any_word_of_reference_title_and_description_in_any_order_and_case(
    client_for, responder, declare
):
    checkout = declare(title="Checkout returns 500 errors",
                       description="The payment gateway times out after the deploy")
    search = declare(title="Search is slow", description="Elasticsearch heap pressure")
    client = client_for(responder)

    def found(q: str) -> set[str]:
        return set(listed(client.get(reverse(LIST), {"q": q})))

    assert found(checkout.reference) == {checkout.reference}
    assert found(checkout.reference.lower()) == {checkout.reference}
    assert found("checkout") == {checkout.reference}
    assert found("GATEWAY deploy") == {checkout.reference}  # description words, any order
    assert found("500 payment") == {checkout.reference}  # a title word and a description word
    assert found("elastic") == {search.reference}  # part of a word
    assert found("slow checkout") == set()  # every word must match
    assert found("   ") == {checkout.reference, search.reference}


def test_search_with_filters_and_paging_keeps_both(client_for, responder, bulk_incidents,
                                                  settings, severities):
    settings.INCIDENTS_PAGE_SIZE = 4
    bulk_incidents(9, severity=severities["P2"], title="Disk full on db host")
    bulk_incidents(6, severity=severities["P3"], title="Disk full on db host")
    bulk_incidents(6, severity=severities["P2"], title="Something else")
    pages = walk(client_for(responder), {"q": "disk host", "severity": "P2"}, "Older")
    assert [len(page) for page in pages] == [4, 4, 1]
    references = [reference for page in pages for reference in page]
    assert len(set(references)) == 9
    assert set(Incident.objects.filter(reference__in=references)
               .values_list("severity__code", "title").distinct()) == {
        ("P2", "Disk full on db host")}


def test_on_postgresql_the_search_uses_the_trigram_indexes(postgres, bulk_incidents):
    bulk_incidents(50)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")
        cursor.execute("SET LOCAL enable_seqscan = off")
    for column in ("reference", "title", "description"):
        plan = (Incident.objects.filter(**{f"{column}__icontains": "bulk"}).order_by()
                .explain())
        assert f"incidents_incident_{column}_trgm" in plan, plan
