"""Fixtures of the browser tests: Debian's Chromium driven by Playwright against pytest-django's
live server of the test database. Never a downloaded browser: `.ci/run` installs the Debian
package when it is missing, and locally a missing Chromium skips these tests (CI=true fails)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import IN_CI

from .harness import Screenshots, Visitor

CHROMIUM = os.environ.get("FIREBREAK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS_ROOT = Path(os.environ.get("FIREBREAK_BROWSER_SCREENSHOTS",
                                       settings.BASE_DIR / "var" / "browser-screenshots"))


@pytest.fixture(scope="session")
def screenshots() -> Screenshots:
    folder = SCREENSHOTS_ROOT / time.strftime("%Y%m%d-%H%M%SZ", time.gmtime())
    folder.mkdir(parents=True, exist_ok=True)
    _run_folders.append(folder)
    return Screenshots(folder)


_run_folders: list[Path] = []


def pytest_terminal_summary(terminalreporter):
    for folder in _run_folders:
        terminalreporter.write_line(f"Browser test screenshots: {folder}")


@pytest.fixture(scope="package")
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        message = (f"Chromium is not installed at {CHROMIUM} "
                   "(apt-get install chromium; .ci/run does this).")
        if IN_CI:
            pytest.fail(message + " CI=true requires the browser tests to run.")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API keeps an asyncio loop on this thread; Django's guard against
    # ORM calls from async code would refuse the test's own database set-up while it runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # Root in a container: Chromium's sandbox needs user namespaces it may not get.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def open_browser(request, chromium, live_server, screenshots):
    """open_browser(who, user=None) -> Visitor in its own context; logged in through the login
    page when a user is given. Every context opened is closed after the test."""
    marker = request.node.get_closest_marker("django_db")
    assert marker and marker.kwargs.get("serialized_rollback"), (
        "Browser tests need COMMITTED_DB (tests/conftest.py): the live server flushes the "
        "database after each test, and only a serialized rollback restores the seeded rows.")
    opened: list[Visitor] = []

    def _open(who: str, user=None, password: str = "correct-horse-battery") -> Visitor:
        context = chromium.new_context(
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
            timezone_id=settings.TIME_ZONE,
            locale="en-GB",
            # Bootstrap then skips its transitions, so no check sees a colour halfway through.
            reduced_motion="reduce",
        )
        context.set_default_timeout(15_000)
        visitor = Visitor(who=who, base_url=live_server.url, context=context,
                          screenshots=screenshots)
        opened.append(visitor)
        if user is not None:
            log_in(visitor, user.get_username(), password)
        return visitor

    yield _open
    for visitor in opened:
        visitor.close()


def log_in(visitor: Visitor, username: str, password: str) -> None:
    page = visitor.page
    visitor.goto("/accounts/login/", "login page")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    visitor.check("logged in")
