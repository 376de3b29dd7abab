#!/usr/bin/env bash
# Mutation testing of the rule modules with mutmut (dev extras; configuration in pyproject.toml,
# [tool.mutmut]): break each rule module one small change at a time, run the tests that reach
# the changed function, and report per module how many changes a test noticed, and the rest.
#
#   scripts/mutation.sh                          every rule module
#   scripts/mutation.sh "postmortems.roi.*"      some (mutmut mutant-name patterns)
#
# Needs PostgreSQL like the suite: TEST_POSTGRES_URL (default: a `firebreak_mutation` database on
# 127.0.0.1). Work is kept in ./mutants/: a second run only tests what changed (delete the
# folder to start afresh). `mutmut show NAME` shows a survivor's change, `mutmut browse` all.
# One mutant at a time (--max-children 1): they share one test database.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
export DJANGO_SETTINGS_MODULE=config.settings.test
export TEST_POSTGRES_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/firebreak_mutation}
"$PY" -m mutmut --version >/dev/null 2>&1 ||
    { echo "mutmut is missing: ./firebreak test installs the dev extras." >&2; exit 1; }
"$PY" -m mutmut run --max-children 1 "$@" || echo "mutmut stopped with status $?" >&2
"$PY" scripts/mutation_report.py
