"""What changes when mutmut runs one mutant's tests (scripts/mutation.sh).

mutmut forks a fresh pytest session for every mutant, from a process that has already run the
selection once (its "stats" run, which created and migrated the test database with
--reuse-db). Three costs of that session do nothing for a mutant and are cut:
- pytest-django's `--reuse-db` still runs `migrate` (the migration graph, 87 migrations'
  states) and serializes the seeded rows: about 0.4 s, on a mutant whose tests may take less;
- its tests run in mutmut's order, which is a set's: running first the tests that killed
  other mutants of the same function, then the fastest, means a killed mutant usually stops
  (`-x`) at its first test;
- a mutant listed as equivalent survives by definition, after every test of its function:
  it is skipped while its code is what was listed.
The set-up stays as always when a selected test commits (it needs the seeded rows' snapshot),
and outside a mutant's run: the full suite and mutmut's own runs ("stats", the forced
failure, the clean run)."""

from __future__ import annotations

import ast
import contextlib
import functools
import gc
import hashlib
import json
import os
import signal
from pathlib import Path

# mutmut's own runs, which set up the database and time the tests like any other run.
_MUTMUT_OWN_RUNS = {"", "stats", "fail", "list_all_tests"}


def running_a_mutant() -> bool:
    return os.environ.get("MUTANT_UNDER_TEST", "") not in _MUTMUT_OWN_RUNS


def commits(item) -> bool:
    """A test whose transactions really commit needs the seeded rows' snapshot, taken when
    the database is set up: with one selected, the set-up is left as it is."""
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("serialized_rollback")):
        return True
    return bool({"transactional_db", "live_server", "committed_db"} & set(item.fixturenames))


def reuse_the_migrated_test_database(seeded_rows: str | None = None) -> None:
    """Point the connections at the test database the stats run migrated, without migrating
    or serializing it again (what `create_test_db(keepdb=True)` does, minus both). With a
    committing test selected, pytest-django serializes the database after creating it (half a
    second): `seeded_rows`, the snapshot kept by mutmut's own runs, is that serialization."""
    from django.conf import settings
    from django.db import OperationalError
    from django.db.backends.base.creation import BaseDatabaseCreation

    create_and_migrate = BaseDatabaseCreation.create_test_db
    if seeded_rows is not None:
        BaseDatabaseCreation.serialize_db_to_string = lambda self: seeded_rows

    def use(connection, name: str) -> None:
        connection.close()
        settings.DATABASES[connection.alias]["NAME"] = name
        connection.settings_dict["NAME"] = name

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        name, configured = self._get_test_db_name(), self.connection.settings_dict["NAME"]
        use(self.connection, name)
        try:
            self.connection.ensure_connection()
        except OperationalError:  # not there: set it up as usual rather than fail every test
            use(self.connection, configured)
            return create_and_migrate(self, verbosity, autoclobber, serialize, keepdb)
        return name

    BaseDatabaseCreation.create_test_db = create_test_db


# The rows the migrations seeded, as mutmut's own runs (stats, clean) snapshot them right after
# migrating. A committed test needs them (it flushes every table and the rows are put back), so a
# mutant's session with one selected used to migrate and serialize again, about a second per
# mutant of every function such a test reaches; it loads this file instead.
SNAPSHOT_FILE = Path("mutation-seeded-rows.json")


def keep_the_seeded_rows(contents: str, counts: tuple[int, ...]) -> None:
    """In mutmut's own runs: write the snapshot for the mutants' sessions."""
    if "MUTANT_UNDER_TEST" in os.environ and not running_a_mutant():
        SNAPSHOT_FILE.write_text(json.dumps({"contents": contents, "counts": counts}))


def kept_seeded_rows() -> tuple[str, tuple[int, ...]] | None:
    """The snapshot this mutmut run's own runs kept, if any."""
    if not SNAPSHOT_FILE.exists():
        return None
    kept = json.loads(SNAPSHOT_FILE.read_text())
    return kept["contents"], tuple(kept["counts"])


# The test that failed on each killed mutant, with the mutant, one a line: a test that killed
# one mutant of a function usually kills the mutants made near it in the code too, so it runs
# first. (Lines of an earlier layout name the function only.)
KILLERS_FILE = Path("mutation-killers.tsv")


def likeliest_killers_first(items: list) -> None:
    """Order the tests that killed a mutant of this mutant's function (in this work folder, or
    in the runs tests/mutation_killers.txt keeps) first, the killer of the nearest mutant
    first (mutmut numbers a function's mutants in the order of its code, so a mutant's
    neighbours break the same line), then the rest; ties fastest first, by the times of
    mutmut's stats run (this module's mutation-test-seconds.json, else mutmut's call times in
    mutmut-stats.json, in the folder the tests run from). Tests it did not time go last, in
    their own order. Tests that commit go after all others, killers or not (putting the seeded
    rows back after one costs seconds), except for a mutant of a row lock, which only they can
    kill: for it they go first; and except for the test known to have killed this very mutant,
    which goes first whatever it costs."""
    duration = seconds_by_test()
    if not duration and Path("mutmut-stats.json").exists():
        duration = json.loads(Path("mutmut-stats.json").read_text()).get("duration_by_test", {})
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    function, number = _function_and_number(mutant)
    distance: dict[str, float] = {}
    for killed_number, test in [*_killers_recorded_here(function), *known_killers(function)]:
        apart = abs(number - killed_number) if None not in (number, killed_number) else _FAR
        distance[test] = min(apart, distance.get(test, _NOT_A_KILLER))
    lock = changes_a_lock(mutant)
    items.sort(key=lambda item: (distance.get(item.nodeid) != 0, commits(item) != lock,
                                 distance.get(item.nodeid, _NOT_A_KILLER),
                                 duration.get(item.nodeid, float("inf"))))


def _killers_recorded_here(function: str) -> list[tuple[int | None, str]]:
    """(mutant number, test) of each mutant of `function` killed in this work folder."""
    if not KILLERS_FILE.exists():
        return []
    found = []
    for line in KILLERS_FILE.read_text().splitlines():
        killed, _, test = line.partition("\t")
        killed_function, killed_number = _function_and_number(killed)
        if killed_function == function or killed == function:
            found.append((killed_number, test))
    return found


# The killers of the last runs, kept in the repository (scripts/mutation_report.py
# --keep-killers writes it after each run; commit it with the tests): a fresh work folder then
# starts with every mutant's own killer first instead of finding it test by test (the first
# mutant of each kind used to run most of its function's tests, more than half a run's time).
# One line per function and test: the function, the numbers of the mutants the test killed
# (`1-3,7`), the test. Names that shifted since (an edited function) only cost their order.
KNOWN_KILLERS_FILE = Path("tests/mutation_killers.txt")


def known_killers(function: str, path: Path = KNOWN_KILLERS_FILE) -> list[tuple[int, str]]:
    """(mutant number, test) of each mutant of `function` the kept file names a killer of."""
    if not path.exists():
        return []
    return _parse_known_killers(path.resolve(), path.stat().st_mtime_ns).get(function, [])


@functools.lru_cache(maxsize=2)
def _parse_known_killers(path: Path, modified: int) -> dict[str, list[tuple[int, str]]]:
    """A line that is not function, numbers and test (a merge's conflict markers, a hand edit)
    is passed over: the file only orders tests, and an error here would fail every mutant's
    session, which mutmut would count as killed."""
    by_function: dict[str, list[tuple[int, str]]] = {}
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or line.startswith("#"):
            continue
        function, numbers, test = parts
        try:
            by_function.setdefault(function, []).extend(
                (number, test) for number in numbers_of(numbers))
        except ValueError:
            continue
    return by_function


def numbers_of(ranges: str) -> list[int]:
    """`1-3,7`: [1, 2, 3, 7]."""
    numbers = []
    for part in ranges.split(","):
        first, _, last = part.partition("-")
        numbers.extend(range(int(first), int(last or first) + 1))
    return numbers


def ranges_of(numbers: list[int]) -> str:
    """[1, 2, 3, 7]: `1-3,7`."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


_FAR = 10**6  # a killer recorded without its mutant's number: after the numbered ones
_NOT_A_KILLER = float("inf")


_LOCK_WORDS = ("'select_for_update'", "arg='skip_locked'", "arg='no_key'", "arg='nowait'",
               "arg='of'")


def changes_a_lock(mutant: str) -> bool:
    """Whether the mutant's change is in a select_for_update call or its arguments."""
    path = mutated_file(mutant) if mutant else None
    pair = _original_and_mutant(mutant, module_code(path)) if path and path.exists() else None
    if pair is None:
        return False
    before, after = pair
    start = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b),
                 min(len(before), len(after)))
    end = len(before) - next((i for i, (a, b) in enumerate(zip(before[::-1], after[::-1]))
                              if a != b), 0)
    around = before[max(0, start - 160):max(end, start) + 40]
    return any(word in around for word in _LOCK_WORDS)


def record_a_killer(nodeid: str) -> None:
    """The test `nodeid` failed on the mutant under test (pytest stops there, -x)."""
    with KILLERS_FILE.open("a") as killers:
        killers.write(f"{os.environ.get('MUTANT_UNDER_TEST', '')}\t{nodeid}\n")


# One line a mutant's session: the mutant, how many tests ran, whether one failed, and the
# seconds from the fork to the session's end. Where a run's time goes: a mutant that ran many
# tests before its killer says the order missed, one test in a second says the session costs.
SESSIONS_FILE = Path("mutation-sessions.tsv")


def record_the_session(tests_run: int, killed: bool) -> None:
    seconds = _seconds_since_this_process_started()
    with SESSIONS_FILE.open("a") as sessions:
        sessions.write(f"{os.environ.get('MUTANT_UNDER_TEST', '')}\t{tests_run}\t{int(killed)}"
                       f"\t{seconds:.3f}\n")


def _seconds_since_this_process_started() -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    started = int(Path("/proc/self/stat").read_text().rpartition(")")[2].split()[19]) / ticks
    return float(Path("/proc/uptime").read_text().split()[0]) - started


def _function_and_number(mutant: str) -> tuple[str, int | None]:
    """`module.x_function__mutmut_12`: ("module.x_function", 12)."""
    function, _, number = mutant.rpartition("__mutmut_")
    return function, int(number) if number.isdigit() else None


# Mutants listed in tests/mutation_equivalent.txt survive every run by definition, and a
# survivor costs its function's whole test selection (most of a run's time went to them).
# One whose code is still what was listed is not tested again: mutmut records it as skipped.
# Set MUTATION_CHECK_EQUIVALENTS=1 to test them all the same (a listed mutant that a test
# kills is then reported as a stale line).
EQUIVALENTS_FILE = Path("tests/mutation_equivalent.txt")
SKIPPED = 34  # mutmut's exit code for "skipped"
_FINGERPRINT_TAG = "sha:"


def listed_equivalents(path: Path = EQUIVALENTS_FILE) -> dict[str, tuple[str | None, str]]:
    """Each listed mutant's (fingerprint, reason). A line is the mutant's name, optionally
    `sha:` and the fingerprint of its code when it was listed, then why it is equivalent."""
    if not path.exists():
        return {}
    listed = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, rest = line.partition(" ")
        first, _, after = rest.partition(" ")
        if first.startswith(_FINGERPRINT_TAG):
            listed[name] = (first.removeprefix(_FINGERPRINT_TAG), after.strip())
        else:
            listed[name] = (None, rest.strip())
    return listed


def equivalent_line(name: str, fingerprint: str, reason: str) -> str:
    """A line of the equivalents file, as listed_equivalents reads it."""
    return f"{name} {_FINGERPRINT_TAG}{fingerprint} {reason}\n"


def mutated_file(mutant: str, mutants: Path = Path(".")) -> Path:
    """Where mutmut wrote the module of `mutant` (module.x_function__mutmut_N)."""
    module = mutant.rpartition(".")[0].replace(".", "/")
    path = mutants / f"{module}.py"
    return path if path.exists() else mutants / module / "__init__.py"


def fingerprint(mutant: str, code: str) -> str | None:
    """A short hash of the mutant's function and of the original it was made from, as mutmut
    wrote them in `code`: it changes when either does, so a listed equivalent is tested again
    after its function is edited (mutant numbers shift too). None when `code` has no such
    mutant."""
    pair = _original_and_mutant(mutant, code)
    if pair is None:
        return None
    return hashlib.sha256("\n".join(pair).encode()).hexdigest()[:12]


def _original_and_mutant(mutant: str, code: str) -> tuple[str, str] | None:
    """The dumps of the function `mutant` was made from and of the mutant, as mutmut wrote
    them in `code`; None when `code` has no such mutant."""
    function = mutant.rpartition(".")[2]
    original = function.rpartition("__mutmut_")[0] + "__mutmut_orig"
    functions = _functions_in(code)
    if function not in functions or original not in functions:
        return None
    return functions[original], functions[function]


def module_code(path: Path) -> str:
    """A mutated module's code, read once in the fork server (it holds every mutant of the
    module, so reading and hashing it again cost each session tens of milliseconds)."""
    return _read(path.resolve(), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read(path: Path, modified: int) -> str:
    return path.read_text()


@functools.lru_cache(maxsize=4)
def _functions_in(code: str) -> dict[str, str]:
    """Every function of `code` by name, as its arguments and body (the name left out)."""
    return {node.name: ast.dump(node.args) + ast.dump(ast.Module(body=node.body, type_ignores=[]))
            for node in ast.walk(ast.parse(code))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def skip_a_listed_equivalent() -> None:
    """In the session of one mutant: end it at once as skipped when the mutant is listed as
    equivalent with the fingerprint of its current code."""
    if os.environ.get("MUTATION_CHECK_EQUIVALENTS"):
        return
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    listed = listed_equivalents().get(name)
    if listed and listed[0] and listed[0] == fingerprint(name, module_code(mutated_file(name))):
        import pytest

        pytest.exit(f"{name} is listed as equivalent (tests/mutation_equivalent.txt)",
                    returncode=SKIPPED)


# mutmut's fork server collects the tests once (--collect-only), then forks one session per
# mutant: what it loads then, every mutant's session has without loading it again. Two loads
# cost a mutant's session more than its tests often do: the URL patterns (about 0.4 s, the
# first `reverse`), and the parse of the mutated module for a listed equivalent's fingerprint
# or a lock mutant's test order (1 to 2 s; the mutated module holds every mutant of every
# function).
def warming_the_fork_server(config) -> bool:
    """This session is mutmut's warm-up: a collection only, inside a mutmut run."""
    return bool(config.option.collectonly) and "MUTANT_UNDER_TEST" in os.environ


def _mutated_modules() -> list[Path]:
    """The modules this run mutates (mutmut's only_mutate, in the folder it runs from)."""
    from mutmut.configuration import config

    return [Path(pattern) for pattern in config().only_mutate if "*" not in pattern]


def warm_the_fork_server() -> None:
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - reading it builds the URL patterns
    # Read in place of the file by the sessions: a listed equivalent's fingerprint, a lock
    # mutant's test order.
    paths = {mutated_file(name) for name in listed_equivalents()} | set(_mutated_modules())
    for path in sorted(p for p in paths if p.exists()):
        code = module_code(path)
        if "__mutmut_orig" in code:  # a module mutated in this run
            _functions_in(code)
    _warm_the_models_metadata()
    seconds_by_test()
    known_killers("")
    # What is loaded by now lives as long as the fork server: out of the garbage collector's
    # sight, each session's collections at its end (pytest's unraisable-exception check runs
    # several) no longer walk all of Django and the test modules (about 0.2 s a mutant).
    gc.collect()
    gc.freeze()


def _warm_the_models_metadata() -> None:
    """Django builds each model's field maps and the graph of relations between all models on
    first use (the graph alone took a twentieth of a short session: every delete and cascade
    needs it)."""
    from django.apps import apps

    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        meta.get_fields(include_hidden=True)
        for cached in ("related_objects", "fields_map", "_forward_fields_map", "concrete_fields",
                       "local_concrete_fields", "db_returning_fields", "_property_names",
                       "_non_pk_concrete_field_names", "managers", "_reverse_one_to_one_field_names"):
            getattr(meta, cached, None)


# A mutant that makes a rule loop (a batch that never empties, a retry at once forever) used to
# hold its session until mutmut's own timeout, 15 x (the call time of every test of the function
# + 1 s): half a minute or more for a mutant that is obviously caught. mutmut's stats run records
# each test's whole time (set-up, call, tear-down; mutmut times the call alone); in a mutant's
# session a test that runs LIMIT_FACTOR times that long plus LIMIT_SLACK seconds is stopped, and
# the mutant is recorded as mutmut's "timeout" (caught, as mutmut counts it), not as killed.
TEST_SECONDS_FILE = Path("mutation-test-seconds.json")
LIMIT_FACTOR = 10
LIMIT_SLACK = 2.0  # seconds: a busy machine, a session's first template or query
TIMEOUT = 36  # mutmut's exit code for "timeout"


class RanPastItsLimit(BaseException):
    """Raised inside a test that ran past its limit. Not an Exception: a rule that catches
    Exception to record a failure and go on (a delivery's send) would swallow it and loop on."""


def record_test_seconds(seconds: dict[str, float]) -> None:
    """In mutmut's stats run: every test's whole time."""
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        TEST_SECONDS_FILE.write_text(json.dumps(seconds))


def seconds_by_test() -> dict[str, float]:
    """The stats run's times of the tests, by node id (none before a stats run)."""
    if not TEST_SECONDS_FILE.exists():
        return {}
    return _read_json(TEST_SECONDS_FILE.resolve(), TEST_SECONDS_FILE.stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _read_json(path: Path, modified: int):
    return json.loads(path.read_text())


_ran_past_its_limit: str | None = None


def ran_past_its_limit() -> str | None:
    """The test of this session that was stopped for running past its limit, if one was."""
    return _ran_past_its_limit


@contextlib.contextmanager
def time_limit(nodeid: str):
    """Stop the test `nodeid` (set-up, call and tear-down) when it runs past its limit. A test
    the stats run did not time runs under mutmut's own timeout only."""
    seconds = seconds_by_test().get(nodeid)
    if seconds is None:
        yield
        return

    def ran_out(signum, frame):
        global _ran_past_its_limit
        _ran_past_its_limit = nodeid
        raise RanPastItsLimit(f"{nodeid} ran past {limit:.1f} s ({seconds:.2f} s unmutated)")

    limit = LIMIT_FACTOR * seconds + LIMIT_SLACK
    previous = signal.signal(signal.SIGALRM, ran_out)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
