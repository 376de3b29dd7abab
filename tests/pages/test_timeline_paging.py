"""The incident page shows the newest timeline entries, in time order, with a link to older
ones, page after page (issue 14: an incident with 2,000 entries sent 743 KB); the page costs
the same queries whatever the timeline's length."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import TimelineEntry
from incidents.selectors import TIMELINE_PAGE_SIZE

pytestmark = pytest.mark.django_db

SIZE = TIMELINE_PAGE_SIZE


def add_notes(incident, n: int, *, same_time: bool = False) -> None:
    start = incident.declared_at + timedelta(minutes=1)
    TimelineEntry.objects.bulk_create(
        TimelineEntry(incident=incident, text=f"Note {i:04d}",
                      occurred_at=start if same_time else start + timedelta(minutes=i))
        for i in range(n))


def shown(html: str) -> list[str]:
    return re.findall(r"Note \d{4}", html)


def older_link(html: str) -> str | None:
    found = re.search(r'href="(\?before=\d+)#timeline">Older entries', html)
    return found.group(1) if found else None


@pytest.mark.parametrize("same_time", [False, True], ids=["spread", "one-minute"])
def test_the_newest_entries_are_shown_and_older_ones_page_by_page(
    client_for, responder, declare, same_time
):
    incident = declare(by=responder)
    add_notes(incident, 2 * SIZE + 10, same_time=same_time)
    client = client_for(responder)
    url = incident.get_absolute_url()

    first = client.get(url).content.decode()
    assert shown(first) == [f"Note {i:04d}" for i in range(SIZE + 10, 2 * SIZE + 10)]
    assert f"The latest {SIZE} entries." in first
    assert "Newest entries" not in first

    second = client.get(url + older_link(first)).content.decode()
    assert shown(second) == [f"Note {i:04d}" for i in range(10, SIZE + 10)]
    assert "Newest entries" in second

    last = client.get(url + older_link(second)).content.decode()
    assert shown(last) == [f"Note {i:04d}" for i in range(10)]
    declared = incident.timeline.get(kind=TimelineEntry.Kind.DECLARED)
    assert f'id="entry-{declared.pk}"' in last
    assert older_link(last) is None


def test_a_short_timeline_has_no_paging_links(client_for, responder, declare):
    incident = declare(by=responder)
    add_notes(incident, 3)
    html = client_for(responder).get(incident.get_absolute_url()).content.decode()
    assert shown(html) == ["Note 0000", "Note 0001", "Note 0002"]
    assert older_link(html) is None and "Newest entries" not in html


@pytest.mark.parametrize("before", ["abc", "-1", "99999999", "²", "9" * 40])
def test_a_bad_or_foreign_anchor_shows_the_newest_page(client_for, responder, declare, before):
    incident = declare(by=responder)
    add_notes(incident, SIZE + 5)
    response = client_for(responder).get(incident.get_absolute_url(), {"before": before})
    assert response.status_code == 200
    assert shown(response.content.decode())[-1] == f"Note {SIZE + 4:04d}"


def test_another_incident_s_entry_as_anchor_shows_the_newest_page(
    client_for, responder, declare
):
    incident, other = declare(by=responder), declare(by=responder, title="Other")
    add_notes(incident, SIZE + 5)
    foreign = other.timeline.first().pk
    html = client_for(responder).get(incident.get_absolute_url(),
                                     {"before": foreign}).content.decode()
    assert shown(html)[-1] == f"Note {SIZE + 4:04d}"


def test_the_page_costs_the_same_queries_for_a_short_and_a_long_timeline(
    client_for, responder, declare
):
    short, long = declare(by=responder, title="Short"), declare(by=responder, title="Long")
    add_notes(short, SIZE + 1)
    add_notes(long, SIZE * 20)
    client = client_for(responder)
    client.get(short.get_absolute_url())

    def queries(incident, **params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(incident.get_absolute_url(), params).status_code == 200
        return len(captured)

    assert queries(long) == queries(short)
    anchor = long.timeline.order_by("-occurred_at", "-id")[SIZE].pk
    anchor_short = short.timeline.order_by("-occurred_at", "-id")[1].pk
    assert queries(long, before=anchor) == queries(short, before=anchor_short)
