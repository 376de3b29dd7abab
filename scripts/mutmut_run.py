"""mutmut's own command line, minus a second pass of every test that proves nothing new.

`mutmut run` (3.8.1) first collects its stats: it runs every selected test once, unmutated,
recording which functions each reaches, and stops if any test fails. Then it runs the same tests
once more, unmutated, as its "clean tests", to make sure they pass before it breaks anything.
When the stats were just collected in full by the same call, that second pass repeats the
first (the same tests, the same code, the same database) and costs a module minutes; it is
skipped then. On a later call, whose stats come from disk, the clean pass runs as before.

Used by scripts/mutation.sh in place of `python -m mutmut`; takes the same arguments."""

from __future__ import annotations

import os
import subprocess
import sys

import mutmut.__main__ as mutmut_main
from mutmut.configuration import config

_full_stats_passed = False
_collect_stats = mutmut_main.run_stats_collection
_mutant_runner = mutmut_main.get_mutant_runner


def run_stats_collection(runner, tests=None) -> None:
    global _full_stats_passed
    try:
        _collect_stats(runner, tests)  # exits the process when a test fails
    except SystemExit:
        _show_the_failures(tests)
        raise
    _full_stats_passed = _full_stats_passed or not tests  # no tests named: every test ran


def _show_the_failures(tests) -> None:
    """The stats pass runs in a forked child whose output mutmut drops: when it fails, say
    which tests fail by running them once more, plainly (in the mutants' folder, unmutated)."""
    settings = config()
    selection = list(tests or settings.pytest_add_cli_args_test_selection)
    print("A test failed in mutmut's stats pass; running the tests again to show which:",
          flush=True)
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly",
                    "--rootdir=.", *selection, *settings.pytest_add_cli_args],
                   cwd="mutants", env={**os.environ, "MUTANT_UNDER_TEST": ""}, check=False)


def get_mutant_runner(max_children):
    runner = _mutant_runner(max_children)
    run_clean_tests = runner.run_clean_tests
    runner.run_clean_tests = lambda tests: 0 if _full_stats_passed else run_clean_tests(tests)
    return runner


mutmut_main.run_stats_collection = run_stats_collection
mutmut_main.get_mutant_runner = get_mutant_runner

if __name__ == "__main__":
    mutmut_main.cli()
