"""Presets: whole procedures shipped as files in `presets/`, loaded by name.

A preset is an ordinary procedure file; loading one is an import with `prune`, so the
configuration becomes exactly that procedure while rows that incidents still refer to are
retired rather than deleted (their incidents keep their history and clocks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .files import ImportResult, procedure_import

PRESET_DIR = Path(__file__).resolve().parent / "presets"


@dataclass(frozen=True)
class Preset:
    slug: str
    name: str
    description: str
    path: Path

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def presets() -> list[Preset]:
    found = []
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            head = yaml.safe_load(handle) or {}
        found.append(Preset(slug=path.stem, name=str(head.get("name") or path.stem),
                            description=str(head.get("description") or ""), path=path))
    return found


def preset_named(slug: str) -> Preset:
    for preset in presets():
        if preset.slug == slug:
            return preset
    names = ", ".join(p.slug for p in presets()) or "none"
    raise LookupError(f"No preset named {slug!r}. The presets are: {names}.")


def preset_load(slug: str, *, by=None, reason: str, dry_run: bool = False) -> ImportResult:
    preset = preset_named(slug)
    return procedure_import(preset.text(), by=by, reason=reason, dry_run=dry_run, prune=True,
                            preset=preset.slug)
