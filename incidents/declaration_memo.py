"""Procedure reads made once per declaration.

Declaring an incident reads the same procedure data from several places (the role requirements
for its severity and type before the first save and again when the required roles are paged;
the business calendar for each SLA clock and escalation step). `incident_declare` opens a scope
around its work; inside it `memoised` computes each key once. Outside a scope it computes every
time, so a manager's edit is seen by the next declaration and by every other caller."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
_memo: ContextVar[dict | None] = ContextVar("declaration_memo", default=None)


@contextmanager
def declaration_scope() -> Iterator[None]:
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def in_declaration_scope(service: Callable[..., T]) -> Callable[..., T]:
    """Decorator: the service runs in a declaration scope (inside its transaction)."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        with declaration_scope():
            return service(*args, **kwargs)

    return wrapper


def memoised(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, once per `key` within a declaration scope. Keys name everything the result
    depends on (e.g. the severity and type), and callers must not change what they get."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]
