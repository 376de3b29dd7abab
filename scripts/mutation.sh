#!/usr/bin/env bash
# Mutation testing of the rule modules with mutmut (dev extras; configuration in pyproject.toml,
# [tool.mutmut]): break each rule module one small change at a time, run the tests that reach
# the changed function, and report per module how many changes a test noticed, and the rest.
#
#   scripts/mutation.sh --module escalation/deadlines.py     one module, with the tests listed
#                                                            for it in scripts/mutation_modules.toml
#   scripts/mutation.sh --module escalation/deadlines.py --tests "tests/escalation/test_a.py tests/escalation/test_b.py"
#                                                            one module, with those tests only
#   scripts/mutation.sh --module X "escalation.deadlines.x_f*"   some of its mutants (mutmut names)
#   scripts/mutation.sh --module X show NAME                 a survivor's change (also: results, browse)
#   scripts/mutation.sh --each                               every module of mutation_modules.toml,
#                                                            one after another, then one report
#   scripts/mutation.sh --each --jobs 2                      the same, two modules at a time
#   scripts/mutation.sh                                      every rule module in one mutmut run
#   scripts/mutation.sh "postmortems.roi.*"                  some (mutmut mutant-name patterns)
#
# A --module run works in its own copy of the project, mutants-by-module/<module>/ (or under
# $MUTATION_WORK_ROOT), whose pyproject.toml only mutates that module and selects only its
# tests (pyproject.toml itself is left alone); see scripts/mutation_workdir.py. Work is kept
# there (and in ./mutants/ for a run of everything): a second run only tests what changed
# (delete the folder to start afresh). After a run, the test that killed each mutant is written
# into tests/mutation_killers.txt (commit it): the next run, in any folder, tries it first.
#
# Needs PostgreSQL like the suite: TEST_POSTGRES_URL (default: a `firebreak_mutation` database on
# 127.0.0.1). One mutant at a time (--max-children 1): they share one test database.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
export DJANGO_SETTINGS_MODULE=config.settings.test
export TEST_POSTGRES_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/firebreak_mutation}
"$PY" -m mutmut --version >/dev/null 2>&1 ||
    { echo "mutmut is missing: ./firebreak test installs the dev extras." >&2; exit 1; }

mutmut_run() {  # folder, then mutmut arguments
    local folder=$1
    shift
    if [[ -n "${QUIET:-}" ]]; then  # --each: mutmut's progress goes to a log in the folder
        (cd "$folder" && "$PY" "$ROOT/scripts/mutmut_run.py" run --max-children 1 "$@" >>mutmut-run.log 2>&1) ||
            echo "mutmut stopped with status $? (see ${folder#"$ROOT"/}/mutmut-run.log)" >&2
    else
        (cd "$folder" && "$PY" "$ROOT/scripts/mutmut_run.py" run --max-children 1 "$@") ||
            echo "mutmut stopped with status $?" >&2
    fi
}

run_module() {  # module, tests ("" = from mutation_modules.toml), then mutmut arguments
    local module=$1 tests=$2 folder
    shift 2
    folder=$("$PY" scripts/mutation_workdir.py "$module" ${tests:+--tests "$tests"})
    case "${1:-}" in
        show|results|browse|apply)
            (cd "$folder" && "$PY" -m mutmut "$@"); return ;;
    esac
    echo "== $module (in ${folder#"$ROOT"/}) =="
    local started=$SECONDS earlier=""
    # mutmut keeps a mutant's result until the mutant changes, so the last run's survivors are
    # tried again by name (a test written for one since then kills it now), then every mutant
    # without a result. In that order nothing runs twice, even when a changed test selection
    # makes mutmut throw all results away on the first call.
    [[ $# -ne 0 ]] || earlier=$("$PY" scripts/mutation_report.py --survivors "$folder")
    # shellcheck disable=SC2086  # mutant names hold no spaces
    [[ -z "$earlier" ]] || mutmut_run "$folder" $earlier
    mutmut_run "$folder" "$@"
    echo "== $module: $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s =="
    [[ -z "${QUIET:-}" ]] || return 0
    local status=0
    "$PY" scripts/mutation_report.py "$folder" || status=$?
    "$PY" scripts/mutation_report.py --keep-killers "$folder"
    return "$status"
}

case "${1:-}" in
    --module)
        module=${2:?--module needs a path, e.g. escalation/deadlines.py}; shift 2
        tests=""
        if [[ "${1:-}" == --tests ]]; then tests=${2:?--tests needs a list}; shift 2; fi
        run_module "$module" "$tests" "$@" ;;
    --each)
        jobs=1
        if [[ "${2:-}" == --jobs ]]; then jobs=${3:?--jobs needs a number, e.g. 2}; fi
        modules=$("$PY" -c 'import tomllib; print("\n".join(tomllib.load(open("scripts/mutation_modules.toml", "rb"))))')
        started=$SECONDS
        if ((jobs == 1)); then
            for module in $modules; do QUIET=1 run_module "$module" ""; done
        else
            # Modules side by side, each on its own database (its place in the list names it),
            # since a module's mutants share one test database.
            export -f run_module mutmut_run
            export PY ROOT
            n=0
            for module in $modules; do n=$((n + 1)); echo "$n $module"; done |
                xargs -P "$jobs" -L 1 bash -c \
                    'QUIET=1 TEST_POSTGRES_URL="${TEST_POSTGRES_URL}_$0" run_module "$1" ""'
        fi
        echo "== all modules: $(( (SECONDS - started) / 60 )) min =="
        "$PY" scripts/mutation_report.py "${MUTATION_WORK_ROOT:-mutants-by-module}"/* || status=$?
        "$PY" scripts/mutation_report.py --keep-killers "${MUTATION_WORK_ROOT:-mutants-by-module}"/*
        exit "${status:-0}" ;;
    *)
        "$PY" scripts/mutmut_run.py run --max-children 1 "$@" || echo "mutmut stopped with status $?" >&2
        "$PY" scripts/mutation_report.py || status=$?
        "$PY" scripts/mutation_report.py --keep-killers .
        exit "${status:-0}" ;;
esac
