"""Mutation score per rule module from mutmut's results in ./mutants/ (see scripts/mutation.sh).

Killed (a test failed, or the mutant timed out) over all mutants made in the module; a mutant no
test reaches counts as a survivor. Survivors listed in tests/mutation_equivalent.txt (a mutant
name, then one line of why no behaviour can tell it apart) are shown apart and left out of the
score. Prints each module's score and its other survivors (`mutmut show NAME` shows the change)."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

KILLED = {1, 3, 24, -24, 36, 37, 152, 255}  # failed test, pytest error, timeouts, type check
EQUIVALENT_FILE = Path("tests/mutation_equivalent.txt")
TARGET = 85.0


def equivalents() -> dict[str, str]:
    if not EQUIVALENT_FILE.exists():
        return {}
    found = {}
    for line in EQUIVALENT_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            found[name] = reason.strip()
    return found


def survivors_in(folder: str) -> list[str]:
    """Every surviving mutant (equivalent ones too) of a run in `folder`."""
    names = []
    for meta in sorted((Path(folder) / "mutants").rglob("*.py.meta")):
        results = json.loads(meta.read_text()).get("exit_code_by_key", {})
        names += [name for name, code in results.items()
                  if code is not None and code not in KILLED]
    return sorted(names)


def main(folders: list[str]) -> int:
    """folders: where mutmut ran (each holds a mutants/ folder); by default this one."""
    known = equivalents()
    rows, below, killed_equivalents = [], 0, []
    metas = [(Path(folder) / "mutants", meta) for folder in folders or ["."]
             for meta in sorted((Path(folder) / "mutants").rglob("*.py.meta"))]
    for mutants, meta in metas:
        results = json.loads(meta.read_text()).get("exit_code_by_key", {})
        checked = {name: code for name, code in results.items() if code is not None}
        if not checked:
            continue
        module = str(meta.relative_to(mutants))[: -len(".meta")]
        survivors = sorted(name for name, code in checked.items()
                           if code not in KILLED and name not in known)
        equivalent = [name for name in checked if name in known]
        # An equivalent mutant cannot be killed by a test that passes on the real code: one
        # that was means its line is stale, or the run failed every test (a broken set-up).
        killed_equivalents += [name for name in equivalent if checked[name] in KILLED]
        counted = len(checked) - len(equivalent)
        killed = counted - len(survivors)
        score = 100.0 * killed / counted if counted else 100.0
        below += score < TARGET
        rows.append((module, killed, counted, len(equivalent), score, survivors,
                     len(results) - len(checked)))
    if not rows:
        print("No mutation results yet: run scripts/mutation.sh first.")
        return 1
    print(f"{'module':45} {'killed':>7} {'of':>5} {'equiv.':>6} {'score':>7}  not run")
    for module, killed, counted, equivalent, score, _, not_run in rows:
        print(f"{module:45} {killed:7} {counted:5} {equivalent:6} {score:6.1f}%  {not_run}")
    for module, *_, survivors, _ in rows:
        if survivors:
            print(f"\nSurvivors in {module} ({len(survivors)}):")
            for name in survivors:
                print(f"  {name}")
    if killed_equivalents:
        print(f"\nListed as equivalent but killed ({len(killed_equivalents)}): a stale line in "
              f"{EQUIVALENT_FILE}, or a run whose tests all failed (check its mutmut-run.log):")
        for name in sorted(killed_equivalents):
            print(f"  {name}")
    print(f"\n{below} module(s) below {TARGET:.0f}%.")
    return 1 if killed_equivalents else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--survivors"]:
        print("\n".join(survivors_in(sys.argv[2])))
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
