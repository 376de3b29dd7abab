"""The browser checks themselves: each kind of problem a page can have is caught and named."""

from __future__ import annotations

import pytest

# Pages set in place or answered by a route: no database.
pytestmark = pytest.mark.browser

CLEAN_PAGE = ('<!doctype html><html lang="en"><head><title>Harness</title></head>'
              '<body><main><h1>Harness</h1>{}</main></body></html>')


@pytest.fixture
def visitor(open_browser):
    return open_browser("harness")


def problems_of(visitor, body: str) -> str:
    visitor.page.set_content(CLEAN_PAGE.format(body))
    with pytest.raises(AssertionError) as failure:
        visitor.check("harness")
    return str(failure.value)


def test_a_clean_page_passes(visitor):
    visitor.page.set_content(CLEAN_PAGE.format("<p>All good.</p>"))
    visitor.check("clean page")


def test_a_console_error_fails_the_step(visitor):
    assert "console error" in problems_of(visitor, "<script>console.error('boom')</script>")


def test_an_uncaught_script_error_fails_the_step(visitor):
    assert "uncaught script error" in problems_of(visitor, "<script>undefinedThing()</script>")


def test_a_request_to_another_host_is_blocked_and_fails_the_step(visitor):
    found = problems_of(visitor, '<img alt="" src="http://cdn.example.org/logo.png">')
    assert "request to a host other than the test server: http://cdn.example.org/logo.png" in found


def test_a_serious_accessibility_violation_fails_the_step(visitor):
    found = problems_of(visitor, '<img src="/static/img/favicon.svg">')
    assert "accessibility (critical)" in found and "image-alt" in found


def test_a_server_error_fails_the_step(visitor):
    visitor.page.route("**/broken/", lambda route: route.fulfill(status=500, body="broken"))
    with pytest.raises(AssertionError, match=r"response 500 for GET .*/broken/"):
        visitor.goto("/broken/")


def test_an_expected_error_status_does_not_fail_the_step(visitor):
    visitor.page.route("**/gone/", lambda route: route.fulfill(
        status=404, content_type="text/html", body=CLEAN_PAGE.format("<p>Not here.</p>")))
    with visitor.expecting_status(404):
        visitor.goto("/gone/")


def test_a_content_security_policy_violation_fails_the_step(visitor):
    # The portal's pages carry a CSP: an inline script or style it refuses is a broken page.
    visitor.page.route("**/strict/", lambda route: route.fulfill(
        status=200, content_type="text/html",
        headers={"Content-Security-Policy": "script-src 'self'"},
        body=CLEAN_PAGE.format("<script>document.title = 'ran';</script>")))
    with pytest.raises(AssertionError, match="Content Security Policy"):
        visitor.goto("/strict/")
