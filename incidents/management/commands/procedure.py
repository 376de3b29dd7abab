"""`manage.py procedure export [FILE]`, `import FILE [--dry-run]`, `presets`, `load NAME`."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from incidents.models import ProcedureRevision
from incidents.procedure import ProcedureError, procedure_export, procedure_import
from incidents.procedure.presets import preset_load, presets


class Command(BaseCommand):
    help = ("Export the whole procedure configuration as one YAML file, or import one: "
            "validated, shown as a plan, and applied in one transaction.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        export = commands.add_parser("export", help="Write the configuration as YAML.")
        export.add_argument("file", nargs="?", default="-", help="Output file (default: stdout).")
        export.add_argument("--name", default="", help="A name written into the file.")
        imp = commands.add_parser("import", help="Apply a procedure file.")
        imp.add_argument("file", help="The YAML file ('-' for stdin).")
        imp.add_argument("--dry-run", action="store_true",
                         help="Validate and show what would change; change nothing.")
        imp.add_argument("--prune", action="store_true",
                         help="Retire (or delete, where unused) entries the file does not list.")
        imp.add_argument("--reason", default="",
                         help="Recorded in the history of every changed entry "
                              "(default: 'Imported from FILE').")
        imp.add_argument("--verbose-plan", action="store_true",
                         help="Also list the entries that stay as they are.")
        commands.add_parser("presets", help="List the shipped presets and the active procedure.")
        load = commands.add_parser("load", help="Switch to a preset by name (entries it does "
                                                "not list are retired).")
        load.add_argument("name", help="The preset's name (see `procedure presets`).")
        load.add_argument("--dry-run", action="store_true",
                          help="Show what would change; change nothing.")
        load.add_argument("--reason", default="", help="Recorded in the history.")
        load.add_argument("--verbose-plan", action="store_true")
        load.add_argument("--unless-active", action="store_true",
                          help="Do nothing when this preset is already the active procedure "
                               "(what `./firebreak start` uses with FIREBREAK_PROCEDURE).")

    def handle(self, *args, action, **options):
        if action == "export":
            return self.export(options["file"], options["name"])
        if action == "presets":
            return self.list_presets()
        if action == "load":
            active = ProcedureRevision.active()
            if options["unless_active"] and active and active.preset == options["name"]:
                self.stdout.write(f"The preset {options['name']} is already the active procedure.")
                return None
            reason = options["reason"] or f"Loaded the preset {options['name']}"
            return self.apply(options, options["name"],
                              lambda: preset_load(options["name"], reason=reason,
                                                  dry_run=options["dry_run"]))
        return self.import_(options)

    def list_presets(self) -> None:
        active = ProcedureRevision.active()
        for preset in presets():
            mark = "*" if active and active.preset == preset.slug else " "
            self.stdout.write(f"{mark} {preset.slug:32} {preset.name}")
        self.stdout.write(f"Active: {active.name if active else 'the configuration set up by installation'}")

    def export(self, path: str, name: str) -> None:
        text = procedure_export(name=name)
        if path == "-":
            self.stdout.write(text, ending="")
            return
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
        self.stderr.write(f"Wrote the procedure to {path}.")

    def import_(self, options) -> None:
        path = options["file"]
        try:
            data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        reason = options["reason"] or f"Imported from {path if path != '-' else 'stdin'}"
        self.apply(options, path, lambda: procedure_import(
            data, reason=reason, dry_run=options["dry_run"], prune=options["prune"]))

    def apply(self, options, path: str, run) -> None:
        try:
            result = run()
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        except ProcedureError as exc:
            for error in exc.errors:
                self.stderr.write(f"error: {error}")
            raise CommandError(f"{path}: {len(exc.errors)} problem(s); nothing was changed.") from None
        shown = result.changes if options["verbose_plan"] else result.changed
        for change in shown:
            self.stdout.write(str(change))
        verb = "would change" if options["dry_run"] else "changed"
        self.stdout.write(f"{len(result.changed)} entr{'y' if len(result.changed) == 1 else 'ies'} "
                          f"{verb}; {len(result.changes) - len(result.changed)} unchanged."
                          + (" Nothing was applied (dry run)." if options["dry_run"] else ""))
