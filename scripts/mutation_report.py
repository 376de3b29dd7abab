"""Mutation score per rule module from mutmut's results in ./mutants/ (see scripts/mutation.sh).

Killed (a test failed, or the mutant timed out) over all mutants made in the module; a mutant no
test reaches counts as a survivor. Survivors listed in tests/mutation_equivalent.txt (a mutant
name, the fingerprint of its code, then one line of why no behaviour can tell it apart) are shown
apart and left out of the score; a run skips those whose code still has the listed fingerprint
(tests/mutation_runs.py). Prints each module's score and its other survivors (`mutmut show NAME`
shows the change).

    scripts/mutation_report.py [FOLDER...]          the scores of runs in these folders
    scripts/mutation_report.py --survivors FOLDER   the survivors' names, one a line
    scripts/mutation_report.py --stamp FOLDER...    record the fingerprint of each listed
                                                    equivalent these runs tested and saw survive
    scripts/mutation_report.py --keep-killers FOLDER...
                                                    write each killed mutant's killer into
                                                    tests/mutation_killers.txt (commit it)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.mutation_runs import (  # noqa: E402  (the project root is on the path from here)
    EQUIVALENTS_FILE,
    KILLERS_FILE,
    KNOWN_KILLERS_FILE,
    SKIPPED,
    equivalent_line,
    fingerprint,
    listed_equivalents,
    numbers_of,
    ranges_of,
)

KILLED = {1, 3, 24, -24, 36, 37, 152, 255}  # failed test, pytest error, timeouts, type check
TARGET = 85.0


def results_in(folders: list[str]):
    """(module, its mutants folder, {mutant: exit code}) of each module mutmut checked."""
    for folder in folders:
        mutants = Path(folder) / "mutants"
        for meta in sorted(mutants.rglob("*.py.meta")):
            results = json.loads(meta.read_text()).get("exit_code_by_key", {})
            yield str(meta.relative_to(mutants))[: -len(".meta")], mutants, results


def survivors_in(folder: str) -> list[str]:
    """Every surviving mutant (listed equivalents too, unless the run skipped them)."""
    return sorted(name for _, _, results in results_in([folder])
                  for name, code in results.items()
                  if code is not None and code not in KILLED | {SKIPPED})


def tested_equivalents(folders: list[str]) -> dict[str, str | None]:
    """Each listed mutant that these runs tested and saw survive, with its code's fingerprint."""
    listed = listed_equivalents(EQUIVALENTS_FILE)
    found = {}
    for module, mutants, results in results_in(folders):
        tested = [name for name, code in results.items()
                  if name in listed and code is not None and code not in KILLED | {SKIPPED}]
        if tested:
            code = (mutants / module).read_text()
            found.update({name: fingerprint(name, code) for name in tested})
    return found


def stamp(folders: list[str]) -> int:
    """Write the fingerprint of every listed equivalent these runs saw survive into its line."""
    found, listed = tested_equivalents(folders), listed_equivalents(EQUIVALENTS_FILE)
    lines = []
    for line in EQUIVALENTS_FILE.read_text().splitlines(keepends=True):
        name = line.partition(" ")[0]
        if found.get(name) and not line.startswith("#"):
            line = equivalent_line(name, found[name], listed[name][1])
        lines.append(line)
    EQUIVALENTS_FILE.write_text("".join(lines))
    print(f"Stamped {sum(1 for value in found.values() if value)} listed equivalents.")
    return 0


KNOWN_KILLERS_HEADER = """\
# The test that killed each mutant in the last mutation runs: a mutant's session runs it first
# (tests/mutation_runs.py). Written by scripts/mutation.sh after each run; commit it with the
# tests. One line per function and test: function, mutant numbers, test (tab-separated).
"""


def keep_killers(folders: list[str], path: Path = KNOWN_KILLERS_FILE) -> int:
    """Rewrite `path` with the killer of each mutant these runs killed (the last test recorded
    for it), in place of the earlier lines of the modules they ran; other modules' lines stay."""
    killers: dict[str, str] = {}
    modules: set[str] = set()
    for module, mutants, results in results_in(folders):
        modules.add(module.removesuffix(".py").removesuffix("/__init__").replace("/", "."))
        recorded = {}
        if (mutants / KILLERS_FILE.name).exists():
            for line in (mutants / KILLERS_FILE.name).read_text().splitlines():
                mutant, _, test = line.partition("\t")
                recorded[mutant] = test
        killers.update({name: recorded[name] for name, code in results.items()
                        if code in KILLED and name in recorded})
    numbers: dict[tuple[str, str], list[int]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                function, ranges, test = line.split("\t")
                if function.rpartition(".")[0] not in modules:
                    numbers[function, test] = numbers_of(ranges)
    for mutant, test in killers.items():
        function, _, number = mutant.rpartition("__mutmut_")
        if number.isdigit():
            numbers.setdefault((function, test), []).append(int(number))
    path.write_text(KNOWN_KILLERS_HEADER + "".join(
        f"{function}\t{ranges_of(kept)}\t{test}\n"
        for (function, test), kept in sorted(numbers.items())))
    print(f"Kept the killers of {len(killers)} mutants of {len(modules)} module(s) in {path}.")
    return 0


def main(folders: list[str]) -> int:
    """folders: where mutmut ran (each holds a mutants/ folder); by default this one."""
    folders = folders or ["."]
    listed = listed_equivalents(EQUIVALENTS_FILE)
    rows, below, killed_equivalents = [], 0, []
    for module, _, results in results_in(folders):
        checked = {name: code for name, code in results.items() if code is not None}
        if not checked:
            continue
        survivors = sorted(name for name, code in checked.items()
                           if code not in KILLED and name not in listed)
        equivalent = [name for name in checked if name in listed]
        # An equivalent mutant cannot be killed by a test that passes on the real code: one
        # that was means its line is stale, or the run failed every test (a broken set-up).
        killed_equivalents += [name for name in equivalent if checked[name] in KILLED]
        skipped = sum(1 for name in equivalent if checked[name] == SKIPPED)
        counted = len(checked) - len(equivalent)
        killed = counted - len(survivors)
        score = 100.0 * killed / counted if counted else 100.0
        below += score < TARGET
        rows.append((module, killed, counted, len(equivalent), skipped, score, survivors,
                     len(results) - len(checked)))
    if not rows:
        print("No mutation results yet: run scripts/mutation.sh first.")
        return 1
    print(f"{'module':45} {'killed':>7} {'of':>5} {'equiv.':>6} {'score':>7}  not run"
          "  (equiv.: listed as equivalent, of which skipped)")
    for module, killed, counted, equivalent, skipped, score, _, not_run in rows:
        print(f"{module:45} {killed:7} {counted:5} {equivalent:6} {score:6.1f}%  {not_run}"
              f"  ({skipped} skipped)")
    for module, *_, survivors, _ in rows:
        if survivors:
            print(f"\nSurvivors in {module} ({len(survivors)}):")
            for name in survivors:
                print(f"  {name}")
    unstamped = sorted(name for name, found in tested_equivalents(folders).items()
                       if listed[name][0] != found)
    if unstamped:
        print(f"\nListed as equivalent, tested because its code is new since it was listed, "
              f"and still surviving ({len(unstamped)}): check its reason still holds, then "
              f"`scripts/mutation_report.py --stamp FOLDER` records its code's fingerprint:")
        for name in unstamped:
            print(f"  {name}")
    if killed_equivalents:
        print(f"\nListed as equivalent but killed ({len(killed_equivalents)}): a stale line in "
              f"{EQUIVALENTS_FILE}, or a run whose tests all failed (check its mutmut-run.log):")
        for name in sorted(killed_equivalents):
            print(f"  {name}")
    print(f"\n{below} module(s) below {TARGET:.0f}%.")
    return 1 if killed_equivalents else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--survivors"]:
        print("\n".join(survivors_in(sys.argv[2])))
        sys.exit(0)
    if sys.argv[1:2] == ["--stamp"]:
        sys.exit(stamp(sys.argv[2:] or ["."]))
    if sys.argv[1:2] == ["--keep-killers"]:
        sys.exit(keep_killers(sys.argv[2:] or ["."]))
    sys.exit(main(sys.argv[1:]))
