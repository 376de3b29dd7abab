"""Declaring in a real browser: while the title is typed, an open incident like it is offered as
a possible duplicate, before anyone declares the same thing twice."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from incidents import services
from incidents.models import SeverityLevel

pytestmark = pytest.mark.browser


def test_typing_a_title_offers_the_open_incident_it_may_duplicate(make_user, open_browser):
    reporter = make_user("Responder", username="olga", first_name="Olga", last_name="Ng")
    already = services.incident_declare(
        by=reporter, title="Card payments declined at checkout",
        severity=SeverityLevel.objects.get(code="P1"))
    rita = open_browser("rita (responder)",
                        make_user("Responder", username="rita", first_name="Rita",
                                  last_name="Reyes"))
    page = rita.page

    rita.goto("/incidents/declare/", "declare form")
    expect(page.locator("#declare-similar")).to_be_empty()
    page.get_by_label("Title").press_sequentially("Checkout card payments declined")

    offered = page.locator("#declare-similar")
    expect(offered).to_contain_text("Already open: is it one of these?")
    expect(offered.get_by_role("link", name=already.reference)).to_be_visible()
    rita.check("possible duplicate offered")
