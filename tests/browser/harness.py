"""What every browser test checks on every page it visits, in one place.

A `Visitor` is one person in one browser context (their own cookies). It records, from the moment
the context opens: console errors and uncaught script errors, any request to a host other than the
test server (blocked, so the pages are proven to work offline), and any response of 500 or more.
`visitor.check(step)` then runs axe-core on the page, takes a screenshot and fails the test with
everything recorded since the last check, in words that say which page and what went wrong."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ASSETS = Path(__file__).resolve().parent / "assets"
AXE_SOURCE = (ASSETS / "axe.min.js").read_text(encoding="utf-8")
# Impacts that fail a test; "minor" and "moderate" findings are left to judgement.
FAILING_IMPACTS = {"serious", "critical"}

_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "")),
  }));
}"""


@dataclass
class Screenshots:
    """Numbered screenshots of every step, in one folder per run."""

    folder: Path
    taken: int = 0

    def path_for(self, who: str, step: str) -> Path:
        self.taken += 1
        slug = re.sub(r"[^a-z0-9]+", "-", f"{who} {step}".lower()).strip("-")[:80]
        return self.folder / f"{self.taken:03d}-{slug}.png"


@dataclass
class Visitor:
    """One person's browser context on the live server, watched from its first request."""

    who: str
    base_url: str
    context: object
    screenshots: Screenshots
    problems: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def __post_init__(self):
        self.allowed_origin = _origin(self.base_url)
        self.context.route("**/*", self._only_the_test_server)
        self.page = self.watch(self.context.new_page())

    # --- watching -----------------------------------------------------------------------------
    def watch(self, page):
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(
            f"uncaught script error on {page.url}: {error}"))
        page.on("response", lambda response: self._response(response))
        return page

    def _only_the_test_server(self, route):
        url = route.request.url
        if _origin(url) == self.allowed_origin:
            route.continue_()
            return
        self.problems.append(f"request to a host other than the test server: {url}")
        route.abort()

    def _console(self, page, message):
        if message.type != "error":
            return
        text = message.text
        if "Content Security Policy" in text and not message.location.get("url"):
            # A script the harness evaluates through DevTools (axe-core injects <style> elements
            # for some checks) has no URL; the page's own markup and scripts always have one.
            return
        if any(f"status of {status}" in text for status in self.expected_statuses):
            return
        self.problems.append(f"console error on {page.url}: {text}")

    def _response(self, response):
        if response.status >= 500 and response.status not in self.expected_statuses:
            self.problems.append(f"response {response.status} for {response.request.method} "
                                 f"{response.url}")

    @contextlib.contextmanager
    def expecting_status(self, *statuses: int):
        """For steps that open an error page on purpose (a refused page, a missing one)."""
        self.expected_statuses.update(statuses)
        try:
            yield
        finally:
            self.expected_statuses.difference_update(statuses)

    # --- steps --------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def goto(self, path: str, step: str | None = None, *, page=None):
        page = page or self.page
        response = page.goto(self.url(path))
        self.check(step or f"open {path}", page=page)
        return response

    def check(self, step: str, *, page=None) -> None:
        """Accessibility check, screenshot, and everything recorded so far must be empty."""
        page = page or self.page
        page.wait_for_load_state("load")
        # An htmx request still in flight means the page is about to change: check what it
        # becomes, not the moment between.
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol, so the page's CSP is neither needed nor
            # weakened, and the page's own console stays clean.
            page.evaluate(AXE_SOURCE)
        for violation in page.evaluate(_RUN_AXE):
            if violation["impact"] in FAILING_IMPACTS:
                nodes = "; ".join(violation["nodes"])
                self.problems.append(
                    f"accessibility ({violation['impact']}) on {page.url}: {violation['id']}: "
                    f"{violation['help']} at {nodes}")
        page.screenshot(path=self.screenshots.path_for(self.who, step), full_page=True)
        self.assert_clean(step)

    def assert_clean(self, step: str) -> None:
        problems, self.problems = self.problems, []
        assert not problems, (
            f"{self.who}, step '{step}': " + "\n  - ".join(["problems in the browser:", *problems])
        )

    def close(self) -> None:
        self.context.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
