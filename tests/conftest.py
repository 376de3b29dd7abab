"""Shared fixtures: a user per staff group, the seeded severities, and an incident factory
that goes through the services like a person would."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings

from incidents import guards, services
from incidents.models import IncidentType, Service, SeverityLevel

from . import mutation_runs

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_available(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip locally when a real service is missing; in CI a missing service is a failure."""
    if service_available(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}, and CI=true requires it.")
    pytest.skip(f"{message} (start it to run this test).")


@pytest.fixture
def postgres(db, settings):
    """Marks a test that needs PostgreSQL itself (row locks, SKIP LOCKED, migrations)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        if IN_CI:
            pytest.fail("CI=true but the test database is not PostgreSQL.")
        pytest.skip("needs PostgreSQL; the suite is running on SQLite here.")
    return connection


# For tests whose transactions must really commit (threads, row locks, on_commit, other
# processes): the data the migrations seed (severities, groups, default configuration) is
# restored before each such test, since the previous transactional test flushed every table.
# Use this marker rather than requesting `django_db_serialized_rollback` as a fixture: a
# `django_db` marker on the test or module overrides that fixture, and the seeded data is then
# silently missing.
COMMITTED_DB = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def pytest_sessionstart(session):
    """In a mutmut run of one mutant: a mutant listed as equivalent is not tested again."""
    if mutation_runs.running_a_mutant():
        mutation_runs.skip_a_listed_equivalent()


def pytest_collection_modifyitems(config, items):
    """In a mutmut run of one mutant (scripts/mutation.sh): no second migration, the tests
    likeliest to kill it first."""
    global _reusing_the_migrated_database, _kept_seeded_rows
    if mutation_runs.running_a_mutant():
        mutation_runs.likeliest_killers_first(items)
        committing = any(mutation_runs.commits(item) for item in items)
        _kept_seeded_rows = mutation_runs.kept_seeded_rows() if committing else None
        if not committing or _kept_seeded_rows:
            mutation_runs.reuse_the_migrated_test_database(
                _kept_seeded_rows[0] if _kept_seeded_rows else None)
            _reusing_the_migrated_database = True


_reusing_the_migrated_database = False
_kept_seeded_rows = None  # a mutant's session with a committed test selected: the snapshot


def pytest_collection_finish(session):
    """mutmut's warm-up collection: load once what each mutant's session would load again."""
    if mutation_runs.warming_the_fork_server(session.config):
        mutation_runs.warm_the_fork_server()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """In a mutmut run of one mutant: a test that runs far past its unmutated time is stopped,
    and the mutant recorded as a timeout (tests/mutation_runs.py, time_limit)."""
    if not mutation_runs.running_a_mutant():
        return (yield)
    with mutation_runs.time_limit(item.nodeid):
        result = yield
    if mutation_runs.ran_past_its_limit():
        pytest.exit(f"{mutation_runs.ran_past_its_limit()} ran past its limit",
                    returncode=mutation_runs.TIMEOUT)
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call):
    """In a mutmut run of one mutant: a failure is reported by its exception alone. Nobody
    reads a mutant's output (mutmut sends it nowhere), and formatting the traceback took a
    twentieth of a short session."""
    if (mutation_runs.running_a_mutant() and call.excinfo is not None
            and not call.excinfo.errisinstance((pytest.skip.Exception, pytest.xfail.Exception))):
        return pytest.TestReport(item.nodeid, item.location, {}, "failed",
                                 f"{call.excinfo.typename}: {call.excinfo.value}", call.when,
                                 [], call.duration, call.start, call.stop)
    return None


def pytest_runtest_logreport(report):
    """In a mutmut run of one mutant: remember which test killed it. In mutmut's stats run:
    time each test whole."""
    global _tests_run
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        _seconds_by_test[report.nodeid] = _seconds_by_test.get(report.nodeid, 0) + report.duration
    if not mutation_runs.running_a_mutant():
        return
    _tests_run += report.when == "call"
    if report.failed:
        mutation_runs.record_a_killer(report.nodeid)


_tests_run = 0
_seconds_by_test: dict[str, float] = {}


def pytest_sessionfinish(session, exitstatus):
    """In a mutmut run of one mutant: what its session cost (mutation-sessions.tsv). In
    mutmut's stats run: the tests' times (mutation-test-seconds.json)."""
    if mutation_runs.running_a_mutant():
        mutation_runs.record_the_session(_tests_run, killed=session.testsfailed > 0)
    elif _seconds_by_test:
        mutation_runs.record_test_seconds(_seconds_by_test)


# Settings are configured before this conftest is imported, the test database not yet.
_CONFIGURED_DATABASE_NAME = settings.DATABASES["default"]["NAME"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    """pytest-django's test database, plus a snapshot of the rows the migrations seeded, taken
    right after migrating (pytest-django takes it only when a collected test asks for a
    serialized rollback): `restore_seeded_rows` puts the database back to exactly this.
    pytest-django creates no database when no collected test asks for one (only browser tests
    selected, which use their own `committed_db`): then it is created here."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    created = None
    if _reusing_the_migrated_database:  # a mutant's session (tests/mutation_runs.py)
        if _kept_seeded_rows is None:  # no selected test commits: no snapshot needed
            yield
            return
        connection._test_serialized_contents, connection._test_seeded_row_counts = (
            _kept_seeded_rows)
        yield
        with django_db_blocker.unblock():
            restore_seeded_rows(unless_intact=True)
        return
    with django_db_blocker.unblock():
        if connection.settings_dict["NAME"] == _CONFIGURED_DATABASE_NAME:  # not the test one
            created = setup_databases(verbosity=0, interactive=False, aliases={"default"},
                                      serialized_aliases={"default"})
        elif getattr(connection, "_test_serialized_contents", None) is None:
            connection._test_serialized_contents = connection.creation.serialize_db_to_string()
        connection._test_seeded_row_counts = _row_counts()
        mutation_runs.keep_the_seeded_rows(connection._test_serialized_contents,
                                           connection._test_seeded_row_counts)
    yield
    with django_db_blocker.unblock():
        if created is not None:
            teardown_databases(created, verbosity=0)
        elif request.config.getoption("reuse_db", False):
            # A committed test ends by flushing every table (Django's serialized rollback
            # restores the rows before the next such test, not after the last). The database
            # is kept for the next --reuse-db run, which snapshots the rows it finds: put the
            # seeded rows back, or that run (a mutmut run's next mutant, say) finds none.
            restore_seeded_rows(unless_intact=True)


def _row_counts() -> tuple[int, ...]:
    from django.db import connection

    tables = sorted(connection.introspection.django_table_names(only_existing=True))
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT count(*) FROM {quote(table)})"
                                             for table in tables))
        return tuple(cursor.fetchone())


def restore_seeded_rows(*, unless_intact: bool = False) -> None:
    """Empty every table and load the seeded rows again, as Django's serialized rollback does
    (flush without post-migrate: content types and permissions are in the snapshot).
    `unless_intact`: skip it when every table holds as many rows as right after migrating (a
    committed test either restores the rows or flushes them all, never edits them)."""
    from django.core.management import call_command
    from django.db import connection

    if unless_intact and _row_counts() == connection._test_seeded_row_counts:
        return
    # The sequences keep counting (as in Django's own serialized rollback): the seeded rows
    # come back with their primary keys, and new rows must not be given those again.
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False,
                 inhibit_post_migrate=True)
    # Without history while the rows go back: their many-to-many fields would each add a
    # history row the snapshot lacks, and the database would never count as intact again.
    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        connection.creation.deserialize_db_from_string(connection._test_serialized_contents)


@contextlib.contextmanager
def committed_database(django_db_blocker):
    """Database access outside any test transaction, for a live server or another process to
    see the rows: it starts and ends as the migrations seeded it, whatever ran before and
    whatever runs next (unlike `transactional_db`, which leaves every table empty)."""
    with django_db_blocker.unblock():
        restore_seeded_rows(unless_intact=True)
        try:
            yield
        finally:
            restore_seeded_rows()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (the public status page's figures), as the rows
    it wrote before are rolled back."""
    from django.core.cache import cache

    cache.clear()
    yield


_usernames = itertools.count(1)


def create_user(group: str | None = None, username: str | None = None, **extra) -> User:
    username = username or f"user{next(_usernames)}"
    user = User.objects.create_user(
        username=username, password="correct-horse-battery", email=f"{username}@example.com",
        **extra,
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    # A fresh instance, so the permission cache reflects the groups just added.
    return User.objects.get(pk=user.pk)


@pytest.fixture
def make_user(db):
    return create_user


@pytest.fixture
def responder(make_user):
    return make_user("Responder", username="rita", first_name="Rita", last_name="Responder")


@pytest.fixture
def incident_manager(make_user):
    return make_user("Incident manager", username="ivan", first_name="Ivan", last_name="Manager")


@pytest.fixture
def manager(make_user):
    return make_user("Manager", username="mona", first_name="Mona", last_name="Boss",
                     is_staff=True)


@pytest.fixture
def product_manager(make_user):
    return make_user("Product manager", username="paul", first_name="Paul", last_name="PM")


@pytest.fixture
def client_for():
    """client_for(user) -> a test client logged in as `user`."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def core_guards_only():
    """Only the lifecycle's own guards: the rules other areas add (checklists, post-mortems
    before close) are tested by those areas, so tests elsewhere don't depend on their data."""
    with guards.only_own_guards():
        yield


@pytest.fixture
def severities(db) -> dict[str, SeverityLevel]:
    return {level.code: level for level in SeverityLevel.objects.all()}


def retire_for_a_successor(level: SeverityLevel, *, code: str, name: str) -> SeverityLevel:
    """Retire `level` and put a new active level at its rank, as a procedure that renames its
    levels does: the successor, a copy of the level under another code and name."""
    level.is_active = False
    level.save()
    successor = SeverityLevel.objects.get(pk=level.pk)
    successor.pk, successor.code, successor.name, successor.is_active = None, code, name, True
    successor.save()
    return successor


@pytest.fixture
def incident_types(db) -> dict[str, IncidentType]:
    return {incident_type.code: incident_type for incident_type in IncidentType.objects.all()}


@pytest.fixture
def payments(db) -> Service:
    return Service.objects.create(name="Payments", slug="payments", is_critical_path=True)


@pytest.fixture
def declare(db, severities, make_user):
    """declare(title=..., severity="P1", by=user, **impact) -> Incident, through the service."""
    reporter = None

    def _declare(title: str = "Checkout returns 500", severity: str = "P1", by=None, **kwargs):
        nonlocal reporter
        if by is None:
            reporter = reporter or make_user("Responder")
            by = reporter
        return services.incident_declare(
            by=by, title=title, severity=severities[severity], **kwargs
        )

    return _declare
