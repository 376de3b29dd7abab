"""The published review's report takes the procedure's layout: a manager sets its title and
headings, in the team's order, and leaves out what the team's document does not have."""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader

from postmortems.exports import postmortem_markdown, postmortem_pdf
from postmortems.models import PostMortem, ReportSection

pytestmark = pytest.mark.django_db


@pytest.fixture
def postmortem(declare):
    incident = declare("Checkout returns 500", severity="P1")
    return PostMortem.objects.create(incident=incident, title="Checkout returns 500",
                                     root_cause="A migration locked the orders table.")


def headings(markdown: str) -> list[str]:
    return [line[3:] for line in markdown.splitlines() if line.startswith("## ")]


def test_the_report_has_the_procedures_title_and_headings_in_its_order(postmortem):
    for order, (part, heading) in enumerate([
            ("title", "Post-Incident Review: {title} ({reference})"),
            ("root_cause", "What Broke"), ("summary", "Incident Summary"),
            ("action_items", "Action Items for the Team")]):
        ReportSection.objects.create(part=part, heading=heading, order=order)
    ReportSection.objects.create(part="timeline", heading="Timeline", order=9, is_active=False)

    markdown = postmortem_markdown(postmortem)

    reference = postmortem.incident.reference
    assert markdown.splitlines()[0] == f"# Post-Incident Review: Checkout returns 500 ({reference})"
    assert headings(markdown) == ["What Broke", "Incident Summary", "Action Items for the Team"]
    assert "A migration locked the orders table." in markdown.split("## What Broke")[1]
    assert "- None recorded" in markdown.split("## Action Items for the Team")[1]


def test_the_pdf_says_what_the_markdown_says(postmortem):
    ReportSection.objects.create(part="title", heading="Review of {reference}", order=0)
    ReportSection.objects.create(part="root_cause", heading="What Broke", order=1)
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(
        postmortem_pdf(postmortem))).pages)
    assert f"Review of {postmortem.incident.reference}" in text
    assert "What Broke" in text and "Timeline" not in text


def test_a_title_pattern_fills_only_its_three_placeholders(postmortem):
    """A pattern is not a format string: nothing else of the review can be read through it."""
    ReportSection.objects.create(part="title", order=0,
                                 heading="{title.__class__} {0} {reference}")
    first = postmortem_markdown(postmortem).splitlines()[0]
    assert first == f"# {{title.__class__}} {{0}} {postmortem.incident.reference}"


def test_without_a_layout_the_report_has_every_part(postmortem):
    assert headings(postmortem_markdown(postmortem)) == [
        "Summary", "Timeline", "Impact", "Root Cause", "Resolution", "Prevention",
        "Lessons Learned", "Business Impact", "Action Items", "Follow-up Tasks"]
