"""Fixtures of the browser tests: Debian's Chromium driven by Playwright against one live server
of the test database for the whole session. Never a downloaded browser: `.ci/run` installs the
Debian package when it is missing, and locally a missing Chromium skips these tests (CI=true fails).

The live server reads committed rows, so these tests run on the committed database
(`committed_db`), never inside a test transaction (`db`) and not with pytest-django's
`live_server`: that one flushes every table after each test, and every test after it, whichever
kind, would find no severities, groups, checklists or procedure data. `committed_db` instead
leaves the database as the migrations seeded it, before and after each test, so browser tests
may run anywhere in the order."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test.testcases import LiveServerThread, _StaticFilesHandler

from tests.conftest import IN_CI, committed_database, create_user

from .harness import Screenshots, Visitor

CHROMIUM = os.environ.get("FIREBREAK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS_ROOT = Path(os.environ.get("FIREBREAK_BROWSER_SCREENSHOTS",
                                       settings.BASE_DIR / "var" / "browser-screenshots"))
# Fixtures that would hide the test's rows from the live server (an uncommitted transaction) or
# flush the seeded rows after the test.
NOT_WITH_A_BROWSER = {"db", "transactional_db", "live_server"}


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


class BrowserThread:
    """The one thread that drives Chromium, for the whole session.

    Playwright's synchronous API leaves an asyncio loop marked as running on the thread that
    started it. On that thread Django (asgiref) then keeps database connections per async
    context and refuses ORM calls: had it been the main thread, every test after the first
    browser test would get a new connection without the serialized snapshot of the seeded rows,
    and a serialized rollback would silently restore nothing. So Playwright lives here, and the
    body of each browser test runs here too (`pytest_pyfunc_call`), on its own connection that
    is closed after the test."""

    def __init__(self):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="browser")
        self._ident = self._executor.submit(threading.get_ident).result()

    def run(self, function, /, *args, **kwargs):
        if threading.get_ident() == self._ident:
            return function(*args, **kwargs)
        return self._executor.submit(self._call, function, args, kwargs).result()

    @staticmethod
    def _call(function, args, kwargs):
        # Django refuses ORM calls where an event loop runs, as here; these are the test's own
        # synchronous calls. Allowed only while this thread works (the main thread waits):
        # left set, it would disable the guard for the rest of the session and its
        # subprocesses (`check --deploy` fails on it).
        previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        try:
            return function(*args, **kwargs)
        finally:
            if previous is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous

    def run_test(self, function, /, **kwargs):
        def test():
            try:
                return function(**kwargs)
            finally:
                connections.close_all()

        return self.run(test)

    def shutdown(self):
        self._executor.shutdown()


@pytest.fixture(scope="session")
def browser_thread():
    if not os.access(CHROMIUM, os.X_OK):
        message = (f"Chromium is not installed at {CHROMIUM} "
                   "(apt-get install chromium; .ci/run does this).")
        if IN_CI:
            pytest.fail(message + " CI=true requires the browser tests to run.")
        pytest.skip(message)
    thread = BrowserThread()
    yield thread
    thread.shutdown()


@pytest.fixture(scope="session")
def chromium(browser_thread):
    """One Chromium for the session; each person gets a context of their own."""
    from playwright.sync_api import sync_playwright

    def launch():
        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # Root in a container: Chromium's sandbox needs user namespaces it may not get.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        return playwright, browser

    def stop(playwright, browser):
        browser.close()
        playwright.stop()

    playwright, browser = browser_thread.run(launch)
    yield browser
    browser_thread.run(stop, playwright, browser)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Browser tests run their body on the browser thread (see `BrowserThread`)."""
    if "browser_thread" not in pyfuncitem.fixturenames:
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    pyfuncitem.funcargs["browser_thread"].run_test(pyfuncitem.obj, **arguments)
    return True


@pytest.fixture(scope="session")
def browser_server(django_db_setup):
    """One live server for the session, on a free port; its request threads read the committed
    test database while a test holds `committed_db`."""
    thread = LiveServerThread("127.0.0.1", _StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    with committed_database(django_db_blocker):
        yield


@pytest.fixture
def make_user(committed_db):
    return create_user


@pytest.fixture
def open_browser(request, browser_thread, chromium, browser_server, screenshots):
    """open_browser(who, user=None) -> Visitor in its own context; logged in through the login
    page when a user is given. Every context opened is closed after the test."""
    wrong = NOT_WITH_A_BROWSER & set(request.fixturenames)
    assert not wrong, (
        f"Browser tests use `committed_db`, not {sorted(wrong)}: the live server cannot see rows "
        "of a test transaction, and pytest-django's flush deletes the seeded rows.")
    if "committed_db" in request.fixturenames:
        # Set up first so it is torn down last: every page is closed before the tables are.
        request.getfixturevalue("committed_db")
    opened: list[Visitor] = []

    def _open(who: str, user=None, password: str = "correct-horse-battery") -> Visitor:
        return browser_thread.run(_open_here, who, user, password)

    def _open_here(who, user, password) -> Visitor:
        context = chromium.new_context(
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
            timezone_id=settings.TIME_ZONE,
            locale="en-GB",
            # Bootstrap then skips its transitions, so no check sees a colour halfway through.
            reduced_motion="reduce",
        )
        context.set_default_timeout(15_000)
        visitor = Visitor(who=who, base_url=browser_server, context=context,
                          screenshots=screenshots)
        opened.append(visitor)
        if user is not None:
            log_in(visitor, user.get_username(), password)
        return visitor

    yield _open
    for visitor in opened:
        browser_thread.run(visitor.close)


def log_in(visitor: Visitor, username: str, password: str) -> None:
    page = visitor.page
    visitor.goto("/accounts/login/", "login page")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    visitor.check("logged in")
