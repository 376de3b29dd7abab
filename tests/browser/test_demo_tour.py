"""A new user's first look: the demo data of `./firebreak start`, every main page opened as each
demo role in a real browser. Each page must load without console errors, foreign requests, 500s
or serious accessibility violations (the checks of `harness.Visitor`)."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import override_settings

from incidents.management.commands.seed_demo import DEMO_PASSWORD
from incidents.models import Incident
from tests.conftest import committed_database

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, seeded once for this module's tests (they only look)."""
    with committed_database(django_db_blocker):
        with override_settings(DEBUG=True):  # seed_demo refuses to run with DEBUG off
            call_command("seed_demo", stdout=io.StringIO())
        yield


def test_every_demo_role_sees_every_main_page_and_each_incident(demo, open_browser):
    incidents = list(Incident.objects.order_by("pk"))
    for username in ["responder", "incident-manager", "product-manager"]:
        visitor = open_browser(username, User.objects.get(username=username), DEMO_PASSWORD)
        # Every link the navigation bar offers this person must open cleanly.
        links = visitor.page.locator("#main-nav a.nav-link[href^='/']")
        paths = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert len(paths) >= 3, f"{username} sees almost no navigation: {paths}"
        for path in paths:
            visitor.goto(path, f"menu {path}")
        if username == "incident-manager":
            for incident in incidents:
                visitor.goto(f"/incidents/{incident.reference}/")
                visitor.goto(f"/war-room/{incident.reference}/")
        visitor.close()


def test_the_public_status_page_needs_no_login(demo, open_browser):
    visitor = open_browser("public")
    visitor.goto("/status/", "public status page")
    assert visitor.page.get_by_role("heading", level=1).is_visible()


def test_error_pages_are_the_portals_own_and_accessible(demo, open_browser):
    visitor = open_browser("responder", User.objects.get(username="responder"), DEMO_PASSWORD)
    with visitor.expecting_status(403, 404):
        visitor.goto("/reports/", "403 page")
        assert "Your account may not open this page" in visitor.page.content()
        visitor.goto("/no-such-page/", "404 page")
        assert "There is no page at this address" in visitor.page.content()
