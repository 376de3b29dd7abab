"""The incident's change page shows the newest timeline entries only (issue 14: an incident
with 2,000 entries took seconds to render), with a link to all of them in the timeline's
changelist, filtered by the incident; its query count does not grow with the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.admin import NewestTimelineFormSet
from incidents.models import TimelineEntry

from .conftest import admin_url

pytestmark = pytest.mark.django_db

SHOWN = NewestTimelineFormSet.shown


def add_notes(incident, n: int) -> None:
    start = incident.declared_at
    TimelineEntry.objects.bulk_create(
        TimelineEntry(incident=incident, text=f"Note {i:04d}",
                      occurred_at=start + timedelta(minutes=i + 1))
        for i in range(n))


def inline_texts(response) -> list[str]:
    inline = response.context["inline_admin_formsets"][0]
    return [inline_form.original.text for inline_form in inline]


def test_the_inline_shows_the_newest_entries_in_time_order_and_links_to_all(
    manager_client, declare
):
    incident = declare()
    before = incident.timeline.count()
    add_notes(incident, SHOWN + 30)
    response = manager_client.get(admin_url("change", incident.pk))
    texts = inline_texts(response)
    assert texts == [f"Note {i:04d}" for i in range(30, SHOWN + 30)]
    html = response.content.decode()
    assert f"The newest {SHOWN} of {SHOWN + 30 + before} entries are shown." in html
    full = reverse("admin:incidents_timelineentry_changelist") + f"?incident__id__exact={incident.pk}"
    assert f'href="{full}"' in html.replace("&amp;", "&")
    # The link lists this incident's entries, all of them, and no other incident's.
    declare(title="Another one")
    listed = manager_client.get(full)
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == SHOWN + 30 + before
    assert {entry.incident_id for entry in listed.context["cl"].result_list} == {incident.pk}


def test_a_short_timeline_is_shown_whole_without_the_link(manager_client, declare):
    incident = declare()
    add_notes(incident, 3)
    response = manager_client.get(admin_url("change", incident.pk))
    assert inline_texts(response)[-3:] == ["Note 0000", "Note 0001", "Note 0002"]
    assert b"See the whole timeline" not in response.content


def test_the_change_page_costs_the_same_queries_for_a_short_and_a_long_timeline(
    manager_client, declare
):
    def queries(incident) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = manager_client.get(admin_url("change", incident.pk))
        assert response.status_code == 200
        return len(captured)

    short, long = declare(title="Short"), declare(title="Long")
    add_notes(short, SHOWN + 1)
    add_notes(long, SHOWN * 10)
    manager_client.get(admin_url("change", short.pk))  # warm the session and caches
    assert queries(long) == queries(short)
    assert len(inline_texts(manager_client.get(admin_url("change", long.pk)))) == SHOWN
