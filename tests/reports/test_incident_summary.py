"""The per-incident stakeholder summary (seed 000 "[P0-RESOLVED] ... Business Impact Summary")."""

import io
from datetime import date

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from postmortems.models import ActionItem, PostMortem

from .conftest import at

pytestmark = pytest.mark.django_db

NOW = at("2026-12-01 12:00")


@pytest.fixture
def resolved_p0(make_incident, checkout):
    return make_incident(
        "P0", title="Checkout returns 500", detected="2026-11-02 09:30",
        declared="2026-11-02 10:00", acknowledged="2026-11-02 10:30",
        resolved="2026-11-02 13:30", revenue_impact_per_hour=1000, customers_affected=200,
        customers_affected_pct="12.50", services=[checkout],
        resolution_summary="Rolled back release 4.2.",
    )


def _text(client, user, incident):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(reverse("reports:incident_summary_txt",
                                  kwargs={"reference": incident.reference}))


def test_the_text_summary_follows_the_seed_template(client, product_manager, resolved_p0):
    response = _text(client, product_manager, resolved_p0)
    assert response.status_code == 200
    text = response.content.decode()
    assert (f"Subject: [P0-RESOLVED] {resolved_p0.reference} Checkout returns 500 "
            "- Business Impact Summary") in text
    assert "- Issue: Checkout returns 500 (Checkout)" in text
    assert "- Duration: 4.00 hours (detected Mon 02 Nov 2026 09:30 CET, resolved Mon 02 Nov 2026 13:30 CET)" in text
    # 1000/h restored for a 720-hour month; 1000/h × 4 h lost.
    assert "- Business Impact: 720,000.00 EUR potential revenue restored per month (4,000.00 EUR lost" in text
    assert "- Customer Impact: 12.50% customers affected (200 customers)" in text
    assert "- Resolution: Rolled back release 4.2." in text
    assert "- [ ] Post-mortem review scheduled" in text
    assert "ROI: Resolution cost not recorded, revenue restored 720,000.00 EUR/month" in text


def test_next_steps_and_roi_come_from_the_post_mortem(client, manager, resolved_p0):
    review = PostMortem.objects.create(
        incident=resolved_p0, title="Review", due_at=at("2026-11-03 13:30"),
        state=PostMortem.State.DRAFTING, resolution_hours=10, hourly_rate=80,
    )
    for kind, state in (("prevention", "done"), ("prevention", "open"), ("monitoring", "done")):
        ActionItem.objects.create(postmortem=review, title=kind, owner=manager, kind=kind,
                                  due_date=date(2026, 11, 20), state=state)
    text = _text(client, manager, resolved_p0).content.decode()
    assert "- [x] Post-mortem review scheduled (due Tue 03 Nov 2026 13:30 CET)" in text
    assert "- [x] Process improvements identified (3 action items)" in text
    assert "- [ ] Prevention measures implemented (1 of 2 done)" in text
    assert "ROI: Resolution cost 800.00 EUR, revenue restored 720,000.00 EUR/month" in text


def test_an_open_incident_says_so_and_counts_its_cost_so_far(client, manager, make_incident):
    incident = make_incident("P1", declared="2026-12-01 08:00", acknowledged="2026-12-01 08:10",
                             revenue_impact_per_hour=100)
    text = _text(client, manager, incident).content.decode()
    assert f"[P1-TRIAGED] {incident.reference}" in text
    assert "4.00 hours so far" in text
    assert "400.00 EUR revenue lost so far" in text


def test_the_pdf_summary_carries_the_same_content(client, product_manager, resolved_p0):
    client.force_login(product_manager)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("reports:incident_summary_pdf",
                                      kwargs={"reference": resolved_p0.reference}))
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(PdfReader(io.BytesIO(response.content)).pages[0].extract_text().split())
    assert f"[P0-RESOLVED] {resolved_p0.reference}" in text
    assert "Business Impact Summary" in text
    assert "720,000.00 EUR potential revenue restored per month" in text
    assert "Prevention measures implemented" in text


def test_an_unknown_reference_is_not_found(client, manager):
    client.force_login(manager)
    response = client.get(reverse("reports:incident_summary_txt", kwargs={"reference": "INC-0"}))
    assert response.status_code == 404


def test_the_summary_and_the_review_give_the_same_revenue_restored_and_roi(
        client, manager, resolved_p0):
    """The summary said "720,000.00 EUR per month" while the review said "24,000.00 EUR per day":
    one definition, with the review's period, in both."""
    from postmortems.selectors import postmortem_roi

    review = PostMortem.objects.create(
        incident=resolved_p0, title="Review", due_at=at("2026-11-03 13:30"),
        state=PostMortem.State.DRAFTING, resolution_hours=10, hourly_rate=80,
        revenue_restored_period="day",
    )
    figures = postmortem_roi(review)
    assert figures.restored_per_period == 24000 and figures.period == "day"
    text = _text(client, manager, resolved_p0).content.decode()
    assert "24,000.00 EUR potential revenue restored per day" in text
    assert f"ROI: Resolution cost 800.00 EUR, revenue restored 24,000.00 EUR/day, " \
           f"ROI {figures.roi_pct:,.2f}%" in text
    assert "month" not in text.split("Business Impact:")[1].split("\n")[0]
