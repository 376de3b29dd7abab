"""Out-of-range dates in a review are form errors, never rows that break the review pages."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from incidents.errors import ActionRefused
from postmortems import services

pytestmark = pytest.mark.django_db

YEAR_ONE = "0001-01-01T00:00"


@pytest.fixture
def review(resolved):
    return resolved("P1").postmortem


def _edit(client, user, review, section, data):
    client.force_login(user)
    return client.post(reverse("postmortems:edit", args=[review.incident.reference, section]),
                       {"version": review.version, **data})


def test_a_review_start_in_year_one_is_a_form_error(client, review, responder):
    response = _edit(client, responder, review, "summary",
                     {"title": "Review", "started_at": YEAR_ONE})
    assert response.status_code == 200
    assert "Give a date between" in response.content.decode()
    review.refresh_from_db()
    assert review.started_at.year > 2000


def test_a_meeting_in_year_9999_is_a_form_error(client, review, responder):
    response = _edit(client, responder, review, "meeting", {"meeting_at": "9999-12-31T23:00"})
    assert "Give a date between" in response.content.decode()
    review.refresh_from_db()
    assert review.meeting_at is None
    client.force_login(responder)
    assert client.get(reverse("postmortems:list")).status_code == 200


def test_the_review_service_refuses_dates_out_of_range(review, responder):
    with pytest.raises(ActionRefused, match="out of range"):
        services.postmortem_update(review, by=responder, section="meeting",
                                   meeting_at=datetime(1, 1, 1, tzinfo=UTC))
    with pytest.raises(ActionRefused, match="out of range"):
        services.postmortem_timeline_edit(
            review, by=responder, add={"occurred_at": datetime(1, 1, 1, tzinfo=UTC),
                                       "text": "Long ago"})


def test_the_markdown_export_escapes_raw_html(review, responder):
    from postmortems import exports

    review = services.postmortem_update(review, by=responder, section="analysis",
                                        root_cause='<script>alert("x")</script> & '
                                                   '<img src=x onerror=1>')
    markdown = exports.postmortem_markdown(review)
    assert "<script>" not in markdown and "<img" not in markdown
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;img src=x onerror=1&gt;' in markdown
