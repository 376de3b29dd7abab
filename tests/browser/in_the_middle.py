"""Puts the browser tests in the middle of the run: `pytest -p tests.browser.in_the_middle`.

pytest-django runs the tests inside a transaction first and the committed ones after; the browser
tests (no `django_db` marker) would come last. Here they run between two tests inside a
transaction, which proves they leave the seeded rows (severities, groups, checklists, procedure
data) for whatever follows."""

from __future__ import annotations

import pytest

_placed: list[str] = []


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    browser = [item for item in items if item.get_closest_marker("browser")]
    others = [item for item in items if not item.get_closest_marker("browser")]
    if not browser or not others:
        return
    middle = len(others) // 2
    items[:] = [*others[:middle], *browser, *others[middle:]]
    _placed.append(f"browser tests placed after {others[middle - 1].nodeid}, "
                   f"before {others[middle].nodeid}")


def pytest_report_collectionfinish(config, start_path, items):
    return _placed
