"""Database expressions the report selectors share, written to run on PostgreSQL and SQLite
(the embedded default), so figures are computed by the database, not by loading rows."""

from __future__ import annotations

from contextlib import contextmanager
from functools import wraps

from django.db import connection
from django.db.models import (
    Aggregate,
    CharField,
    DateTimeField,
    F,
    FloatField,
    Func,
    OuterRef,
    Subquery,
    Value,
)


class SecondsBetween(Func):
    """(end − start) in seconds as a float; NULL when either side is NULL."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover - other backends
        raise NotImplementedError(f"SecondsBetween is not written for {connection.vendor}.")

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))::float",
            arg_joiner=" - ", **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() parses Django's stored "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC) values.
        end, start = self.source_expressions
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return (
            f"((julianday({end_sql}) - julianday({start_sql})) * 86400.0)",
            (*end_params, *start_params),
        )


class _JoinedNames(Aggregate):
    """Comma-separated text of a column over a group (STRING_AGG / GROUP_CONCAT)."""

    output_field = CharField()

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover - other backends
        raise NotImplementedError(f"_JoinedNames is not written for {connection.vendor}.")

    def as_postgresql(self, compiler, connection, **extra):
        (expression,) = self.source_expressions
        sql, params = compiler.compile(expression)
        return f"STRING_AGG({sql}, ', ' ORDER BY {sql})", (*params, *params)

    def as_sqlite(self, compiler, connection, **extra):
        (expression,) = self.source_expressions
        sql, params = compiler.compile(expression)
        return f"GROUP_CONCAT({sql}, ', ')", params


def service_names():
    """The incident's service names as one text value, without joining rows into the query
    (a join would repeat the incident once per service)."""
    from incidents.models import Incident

    through = Incident.services.through
    names = (
        through.objects.filter(incident=OuterRef("pk"))
        .values("incident")
        .annotate(names=_JoinedNames("service__name"))
        .values("names")
    )
    return Subquery(names, output_field=CharField())


def moment(value) -> Value:
    """A datetime parameter typed as one, so backends adapt it like a column value."""
    return Value(value, output_field=DateTimeField())


def due(start_field: str, target_field: str):
    """start + target (a DurationField on the severity) as a datetime."""
    return F(start_field) + F(target_field)


REPORT_WORK_MEM = "64MB"


@contextmanager
def without_jit():
    """Switch PostgreSQL's JIT off for report queries. Their correlated subqueries look costly to
    the planner, so JIT compiles them, which took 6 of 7 seconds on 20,000 incidents in the
    benchmark; the plans themselves run in well under a second without it."""
    depth = getattr(connection, "_reports_jit_off_depth", 0)
    if connection.vendor != "postgresql" or depth:  # not PostgreSQL, or already off
        yield
        return
    with connection.cursor() as cursor:
        # And more memory per sort and hash: a year's grouped pass over 100,000 incidents
        # then groups in a hash table instead of sorting every row through disk (about a
        # third faster).
        cursor.execute(f"SET jit = off; SET work_mem = '{REPORT_WORK_MEM}'")
    connection._reports_jit_off_depth = 1
    try:
        yield
    finally:
        connection._reports_jit_off_depth = 0
        with connection.cursor() as cursor:
            cursor.execute("RESET jit; RESET work_mem")


def jit_off(function):
    @wraps(function)
    def wrapper(*args, **kwargs):
        with without_jit():
            return function(*args, **kwargs)

    return wrapper
