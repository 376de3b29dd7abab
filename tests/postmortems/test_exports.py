from datetime import datetime, timedelta, timezone as dt_timezone
from io import BytesIO

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from incidents import services as incident_services
from postmortems import exports, services

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=dt_timezone.utc)  # 09:00 in Amsterdam


@pytest.fixture
def published(declare, resolve, responder, incident_manager, payments):
    with time_machine.travel(T0, tick=False):
        incident = declare("Checkout returns 500", severity="P1", services=[payments],
                           customers_affected=800, revenue_impact_per_hour=1000)
        incident_services.timeline_add_note(incident, by=incident_manager, is_key_event=True,
                                            text="Rollback started")
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        incident = resolve(incident)
        postmortem = incident.postmortem
        by = responder
        services.postmortem_update(postmortem, by=by, section="summary", summary="Orders failed.")
        services.postmortem_update(postmortem, by=by, section="analysis",
                                   root_cause="A migration locked the orders table.",
                                   contributing_factors="No lock timeout",
                                   five_whys=["Why did checkout fail?"])
        services.postmortem_update(postmortem, by=by, section="resolution",
                                   resolution="Rolled back release 42.",
                                   prevention_measures="Set lock_timeout\nReview migrations")
        services.postmortem_update(postmortem, by=by, section="business_impact",
                                   resolution_hours=4, hourly_rate=100)
        services.action_item_create(postmortem, by=incident_manager, owner=responder,
                                    title="Add lock timeout to migrations",
                                    due_date=timezone.localdate() + timedelta(days=5))
        done = services.action_item_create(postmortem, by=incident_manager, owner=responder,
                                           title="Alert on lock waits",
                                           due_date=timezone.localdate() + timedelta(days=5))
        services.action_item_transition(done, "complete", by=responder)
        postmortem = services.postmortem_transition(postmortem, "submit", by=by)
        return services.postmortem_transition(postmortem, "publish", by=incident_manager)


def test_markdown_follows_the_incident_report_layout(published):
    markdown = exports.postmortem_markdown(published)
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings[:7] == ["## Summary", "## Timeline", "## Impact", "## Root Cause",
                            "## Resolution", "## Prevention", "## Lessons Learned"]
    assert "## Action Items" in headings
    assert markdown.startswith(f"# Incident Report - 2026-03-02: {published.incident.reference}")
    assert "- 09:00 - Rollback started" in markdown or "- 2026-03-02 09:00 - Rollback started" in markdown
    assert "- Users affected: 800" in markdown
    assert "- Duration: 120 minutes" in markdown
    assert "- Services impacted: Payments" in markdown
    assert "A migration locked the orders table." in markdown
    assert "1. Set lock_timeout" in markdown
    assert "- [ ] Add lock timeout to migrations" in markdown
    assert "- [x] Alert on lock waits" in markdown
    assert "Revenue lost: 2,000.00 EUR" in markdown


def test_the_timeline_uses_hh_mm_lines_with_the_date_when_the_day_changes(published):
    lines = [line for line in exports.postmortem_markdown(published).split("## Timeline")[1]
             .split("## Impact")[0].splitlines() if line.startswith("- ")]
    assert lines[0].startswith("- 2026-03-02 09:00 - ")
    assert any(line.startswith("- 11:00 - ") for line in lines[1:])


def test_the_pdf_contains_the_sections_timeline_and_action_items(published):
    text = "\n".join(page.extract_text() for page in
                     PdfReader(BytesIO(exports.postmortem_pdf(published))).pages)
    for expected in ("Summary", "Timeline", "Impact", "Root Cause", "Resolution", "Prevention",
                     "Action Items", "Rollback started", "Add lock timeout to migrations",
                     "Alert on lock waits", published.incident.reference):
        assert expected in text
