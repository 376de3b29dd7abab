"""Prepare the work folder of a one-module mutation run (see scripts/mutation.sh --module).

mutmut 3.8.1 reads its settings only from ./pyproject.toml and keeps its work in ./mutants/, and
a change of test selection throws away every cached result. So each module gets its own copy of
the project, mutants-by-module/<module>/, refreshed with rsync (mtimes kept, so a second run only
re-tests what changed), whose pyproject.toml is the project's own with [tool.mutmut] narrowed:
only_mutate is that one module, and the tests are those given, or else the module's entry in
scripts/mutation_modules.toml. pyproject.toml itself is never edited. In the copy, the module's
decorated top-level functions are rewritten undecorated (scripts/mutation_undecorate.py), since
mutmut makes no mutant of a decorated function.

Prints the work folder's path."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from mutation_undecorate import undecorate

ROOT = Path(__file__).resolve().parent.parent
MODULES_FILE = ROOT / "scripts" / "mutation_modules.toml"
# MUTATION_WORK_ROOT: another place for the copies (e.g. a fresh run beside kept work).
WORK_ROOT = Path(os.environ.get("MUTATION_WORK_ROOT", ROOT / "mutants-by-module"))
# The tests that a one-module run never selects, whatever its list says (see [tool.mutmut]):
# browser and Celery tests, which need a live server and workers.
MARKERS = ["-m", "not browser and not integration"]


def module_tests() -> dict[str, list[str]]:
    return {path: entry["tests"]
            for path, entry in tomllib.loads(MODULES_FILE.read_text()).items()}


def work_folder(module: str) -> Path:
    return WORK_ROOT / module.removesuffix(".py").replace("/", ".").replace("*", "all")


def narrowed_pyproject(module: str, tests: list[str]) -> str:
    """The project's pyproject.toml with only_mutate and the test selection replaced."""
    text = (ROOT / "pyproject.toml").read_text()
    head, marker, rest = text.partition("[tool.mutmut]\n")
    if not marker:
        sys.exit("pyproject.toml has no [tool.mutmut] section.")
    lines = rest.splitlines(keepends=True)
    end = next((i for i, line in enumerate(lines) if line.startswith("[")), len(lines))
    section, tail = lines[:end], lines[end:]
    kept, skipping = [], False
    for line in section:
        key = line.split("=", 1)[0].strip()
        if key in {"only_mutate", "pytest_add_cli_args_test_selection"}:
            skipping = not line.rstrip().endswith("]")
            continue
        if skipping:
            skipping = not line.startswith("]")
            continue
        kept.append(line)
    generated = (f"only_mutate = {json.dumps([module])}\n"
                 f"pytest_add_cli_args_test_selection = {json.dumps(tests + MARKERS)}\n")
    return head + marker + generated + "".join(kept) + "".join(tail)


def prepare(module: str, tests: list[str]) -> Path:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    folder = work_folder(module)
    folder.mkdir(parents=True, exist_ok=True)
    copied = [*config["source_paths"], *config.get("also_copy", []), "tests"]
    subprocess.run(["rsync", "-a", "--delete", "--exclude", "__pycache__",
                    *[str(ROOT / name) for name in copied], f"{folder}/"], check=True)
    for copy in sorted(path for path in folder.glob(module) if path.suffix == ".py"):
        # mutmut 3.8.1 makes no mutant of a decorated function: `@a def f` becomes `def f` then
        # `f = a(f)` in the copy. The copy keeps the source's mtime: mutmut makes the mutants
        # again only when a file is newer than them, i.e. when the source changed.
        source = ROOT / copy.relative_to(folder)
        rewritten = undecorate(source.read_text())
        if rewritten != copy.read_text():
            copy.write_text(rewritten)
            stat = source.stat()
            os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    pyproject = folder / "pyproject.toml"
    wanted = narrowed_pyproject(module, tests)
    # Rewritten only when it changes: mutmut treats a changed pyproject.toml as a new setup.
    if not pyproject.exists() or pyproject.read_text() != wanted:
        pyproject.write_text(wanted)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="a path in only_mutate, e.g. escalation/deadlines.py")
    parser.add_argument("--tests", help="test files or folders, separated by spaces "
                        "(default: the module's entry in scripts/mutation_modules.toml)")
    args = parser.parse_args()
    if args.tests:
        tests = args.tests.split()
    else:
        known = module_tests()
        if args.module not in known:
            sys.exit(f"{args.module} has no entry in {MODULES_FILE.relative_to(ROOT)}: "
                     "give its tests with --tests.")
        tests = known[args.module]
    missing = [t for t in tests if not (ROOT / t.split("::")[0]).exists()]
    if missing:
        sys.exit(f"No such test file or folder: {' '.join(missing)}")
    print(prepare(args.module, tests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
