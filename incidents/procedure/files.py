"""A procedure as one readable YAML file: export what the database holds, import a file back.

Import is a plan and an apply in one pass: every entry is validated with the model's own rules
(the same ones the admin applies) and written inside one transaction; a dry run, or any error,
rolls the whole transaction back. So the plan a manager previews is exactly what applying does,
and a bad file changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import hashlib

import yaml
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.deletion import Collector

from ..models import ProcedureRevision
from .registry import Change, Children, Part, Section, sections
from .values import duration_to_text, from_file, to_file

FORMAT = 1
MAX_FILE_BYTES = 2 * 1024 * 1024


class ProcedureError(Exception):
    """A file that cannot be applied; `errors` name the entry and field of each problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


# --- export ----------------------------------------------------------------------------------

def procedure_export(*, name: str = "", description: str = "") -> str:
    document: dict = {"firebreak_procedure": FORMAT}
    if name:
        document["name"] = name
    if description:
        document["description"] = description
    for section in sections():
        document[section.name] = [_entry(section, row) for row in section.queryset()]
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _entry(part: Part, row, *, skip: str = "") -> dict:
    entry = {}
    for f in sorted(part.fields(), key=lambda f: f.name not in part.key):  # keys first
        if f.name == skip:
            continue
        value = to_file(f, row)
        if f.name not in part.key and _is_default(f, value):
            continue  # omitted fields take their default on import: shorter files, same meaning
        entry[f.name] = value
    for child in getattr(part, "children", ()):
        rows = child.model._default_manager.filter(**{child.parent_field: row})
        entry[child.name] = [_entry(child, r, skip=child.parent_field) for r in rows]
    return entry


def _is_default(f: models.Field, value) -> bool:
    if f.many_to_many:
        return value == []
    if not f.has_default():
        return value is None or (value == "" and f.blank)
    default = f.get_default()
    return value == (to_file(f, _Holder(f.name, default)) if default is not None else None)


class _Holder:
    """Lets `to_file` format a default value as it formats a row's."""

    def __init__(self, name, value):
        setattr(self, name, value)


class _Dumper(yaml.SafeDumper):
    pass


def _represent_text(dumper, text: str):
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


# --- import ----------------------------------------------------------------------------------

@dataclass
class ImportResult:
    changes: list[Change] = field(default_factory=list)
    applied: bool = False

    @property
    def changed(self) -> list[Change]:
        return [c for c in self.changes if c.action != "keep"]


class _Rollback(Exception):
    pass


def procedure_import(text: str | bytes, *, by=None, reason: str, dry_run: bool = False,
                     prune: bool = False, preset: str = "") -> ImportResult:
    """Validate the file and apply it in one transaction (or only plan it with `dry_run`).

    Entries are matched by their key; fields missing from an entry take their default.
    With `prune`, entries the file no longer lists are retired (or deleted where nothing
    refers to them); without it they are kept and listed as such. An applied file is
    recorded as a `ProcedureRevision`: the newest one is the active procedure."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    document = _load(raw)
    if not reason.strip():
        raise ProcedureError(["A reason is required: it is recorded in the history of every "
                              "entry the import changes."])
    run = _Run(by=by, reason=reason.strip()[:100], prune=prune)
    try:
        with transaction.atomic():
            listed = {section.name: run.section(section, document.get(section.name))
                      for section in sections()}
            # Prune last and in reverse order: a checklist goes before the phases it uses.
            for section in reversed(sections()):
                if listed[section.name] is not None and not run.errors:
                    run.prune_unlisted(section, listed[section.name])
            if run.errors or dry_run:
                raise _Rollback
            ProcedureRevision.objects.create(
                name=str(document.get("name") or "Unnamed procedure")[:200], preset=preset,
                applied_by=by, reason=reason.strip()[:200],
                digest=hashlib.sha256(raw).hexdigest(),
                changes="\n".join(str(c) for c in run.changes if c.action != "keep"),
            )
    except _Rollback:
        pass
    if run.errors:
        raise ProcedureError(run.errors)
    return ImportResult(changes=run.changes, applied=not dry_run)


def _load(text) -> dict:
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise ProcedureError([f"The file is larger than {MAX_FILE_BYTES // 1024} KiB."])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ProcedureError(["The file is not UTF-8 text."]) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProcedureError([f"Not valid YAML: {exc}"]) from None
    if not isinstance(document, dict) or "firebreak_procedure" not in document:
        raise ProcedureError(["Not a Firebreak procedure file: the first line must be "
                              f"'firebreak_procedure: {FORMAT}'."])
    if document["firebreak_procedure"] != FORMAT:
        raise ProcedureError([f"Unsupported format {document['firebreak_procedure']!r}; this "
                              f"version reads format {FORMAT}."])
    known = {"firebreak_procedure", "name", "description"} | {s.name for s in sections()}
    unknown = sorted(set(document) - known)
    if unknown:
        raise ProcedureError([f"Unknown section {name!r}; the sections are: "
                              f"{', '.join(s.name for s in sections())}." for name in unknown])
    return document


@dataclass
class _Run:
    by: object
    reason: str
    prune: bool
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    vacated: set = field(default_factory=set)
    parked: dict = field(default_factory=dict)

    def section(self, section: Section, entries) -> set | None:
        """Apply a section's entries; returns the keys of the rows it lists (None: not in the
        file, so not touched)."""
        if entries is None:
            return None
        if not isinstance(entries, list):
            self.errors.append(f"{section.name}: expected a list of entries.")
            return None
        if section.retire_field:
            self.clear_the_way(section, entries)
        seen = set()
        for index, entry in enumerate(entries):
            where = f"{section.name}[{_label(section, entry, index)}]"
            row = self.entry(section, entry, where, parent=None)
            if row is not None:
                if row.pk in seen:
                    self.errors.append(f"{where}: listed twice.")
                seen.add(row.pk)
        return seen

    def clear_the_way(self, section: Section, entries: list) -> None:
        """Switch active rows off before the file's entries are applied, so an entry may take
        what only active rows must not share (two levels swapping ranks; seed 004's P1 taking
        rank 0 from P0, and back).

        A listed row is parked quietly (no history) and switched back as its entry applies
        (`entry`), so an unchanged row stays unchanged. With prune, an unlisted row is retired
        for good; the prune at the end then deletes those nothing refers to."""
        listed = {_file_key(section, entry) for entry in entries if isinstance(entry, dict)}
        for row in section.queryset().filter(**{section.retire_field: True}):
            if _row_key(section, row) in listed:
                section.model._default_manager.filter(pk=row.pk).update(
                    **{section.retire_field: False})
                self.parked[(section.model, row.pk)] = {section.retire_field: True}
            elif self.prune and section.prunable:
                setattr(row, section.retire_field, False)
                row._history_user = self.by
                row._change_reason = self.reason
                row.save()
                self.vacated.add((section.model, row.pk))

    def prune_unlisted(self, section: Section, seen: set) -> None:
        for row in section.queryset().exclude(pk__in=seen):
            self.unlisted(section, row)

    def entry(self, part: Part, entry, where: str, *, parent) -> models.Model | None:
        if not isinstance(entry, dict):
            self.errors.append(f"{where}: expected a mapping of fields, got {entry!r}.")
            return None
        fields = {f.name: f for f in part.fields()}
        if isinstance(part, Children):
            fields.pop(part.parent_field, None)
        child_names = {c.name: c for c in getattr(part, "children", ())}
        unknown = sorted(set(entry) - set(fields) - set(child_names))
        for name in unknown:
            self.errors.append(f"{where}: unknown field {name!r} (fields: "
                               f"{', '.join(list(fields) + list(child_names))}).")
        # A key field that may be empty may be left out (a contact's subscription to every
        # service); the others name the entry, so they must be there.
        missing = [k for k in part.key if k not in entry and k in fields and not fields[k].null]
        for name in missing:
            self.errors.append(f"{where}: the key field {name!r} is missing.")
        if missing:
            return None

        values, m2m, unreadable = {}, {}, []
        for name, f in fields.items():
            raw = entry.get(name) if name in entry else _default_in_file(f)
            try:
                value = from_file(f, raw, parent=parent)
            except (ValueError, LookupError) as exc:
                self.errors.append(f"{where}: {name}: {exc}.")
                unreadable.append(name)
                continue
            (m2m if f.many_to_many else values)[name] = value
        if any(k in unreadable for k in part.key):
            return None
        if parent is not None:
            values[part.parent_field] = parent

        lookup = {k: values[k] for k in part.key}
        if parent is not None:
            lookup[part.parent_field] = parent
        row = part.model._default_manager.filter(**lookup).first()
        created = row is None
        row = row or part.model()
        parked = self.parked.pop((part.model, row.pk), {}) if not created else {}
        for name, value in parked.items():  # compare with what the row was before parking
            setattr(row, name, value)
        details = []
        for name, value in values.items():
            old = getattr(row, name, None) if not created else None
            if created or old != value:
                if not created:
                    details.append(f"{name}: {_show(old)} → {_show(value)}")
                setattr(row, name, value)
        if created and getattr(part, "prepare", None) and not unreadable:
            note = part.prepare(row)
            if note:
                details.append(note)
        try:
            # The fields that could not be read are already reported; check all the others,
            # so one pass over a file lists every problem in it.
            row.full_clean(exclude=unreadable)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                label = "" if name == "__all__" else f"{name}: "
                self.errors.extend(f"{where}: {label}{m}" for m in messages)
            return None
        if unreadable:
            return None
        # An unknown field is already an error, so nothing of this import is kept; the entry
        # is still written inside its transaction so that its children are checked too and
        # one pass over a file lists every problem in it.
        if created or details:
            row._history_user = self.by
            row._change_reason = self.reason
            row.save()
        elif parked:
            part.model._default_manager.filter(pk=row.pk).update(**parked)
        for name, targets in m2m.items():
            manager = getattr(row, name)
            before = set(manager.all()) if not created else set()
            if set(targets) != before:
                manager.set(targets)
                if not created:
                    details.append(f"{name}: {sorted(map(str, before))} → "
                                   f"{sorted(map(str, targets))}")
        self.changes.append(Change("create" if created else ("update" if details else "keep"),
                                   where, details))
        for child in getattr(part, "children", ()):
            self.children(child, row, entry.get(child.name, []), where)
        return row

    def children(self, child: Children, parent, entries, where: str) -> None:
        if not isinstance(entries, list):
            self.errors.append(f"{where}.{child.name}: expected a list.")
            return
        kept = set()
        for index, entry in enumerate(entries):
            row = self.entry(child, entry, f"{where}.{child.name}[{_label(child, entry, index)}]",
                             parent=parent)
            if row is not None:
                kept.add(row.pk)
        for row in child.model._default_manager.filter(**{child.parent_field: parent}).exclude(
                pk__in=kept):
            if not _deletes_only(row, {child.model}):
                self.errors.append(f"{where}.{child.name}: {row} is still used by incidents, so "
                                   f"it cannot be left out.")
                continue
            self.changes.append(Change("delete", f"{where}.{child.name}[{row}]"))
            row.delete()

    def unlisted(self, section: Section, row) -> None:
        where = f"{section.name}[{row}]"
        if not self.prune or not section.prunable:
            self.changes.append(Change("keep", where, ["not in the file; kept"]))
            return
        if _deletes_only_configuration(section, row) and not (
                section.in_use and section.in_use(row)):
            row.delete()
            self.changes.append(Change("delete", where))
        elif section.retire_field and (section.model, row.pk) in self.vacated:
            # Switched off already by clear_the_way, which switches off every active row the
            # file leaves out (a row switched off before stays off, and says nothing).
            self.changes.append(Change("retire", where, ["still used, so switched off"]))
        elif not section.retire_field:
            self.changes.append(Change("keep", where, ["still used, so kept"]))


def _deletes_only_configuration(section: Section, row) -> bool:
    """Whether deleting `row` removes or changes nothing but the entry and its own children,
    never an incident's data."""
    return _deletes_only(row, {section.model, *(child.model for child in section.children)})


def _deletes_only(row, own: set) -> bool:
    collector = Collector(using=row._state.db)
    try:
        collector.collect([row])
    except (models.ProtectedError, models.RestrictedError):
        return False
    own = own | {f.remote_field.through for model in own for f in model._meta.many_to_many}
    if any(model not in own for model in collector.data):
        return False
    if any(qs.model not in own and qs.exists() for qs in collector.fast_deletes):
        return False
    # Rows elsewhere that would merely lose their link (SET_NULL: an escalation event's rule)
    # still count as use: the entry is retired instead, so their history keeps its name.
    for (f, _value), batches in collector.field_updates.items():
        if f.model not in own and any(
                batch.exists() if hasattr(batch, "exists") else len(batch) for batch in batches):
            return False
    # Many-to-many links from other rows (an incident's services) are deleted silently.
    return not any(
        rel.through._default_manager.filter(**{rel.field.m2m_reverse_field_name(): row}).exists()
        for rel in row._meta.related_objects if rel.many_to_many
    )


def _file_key(section: Section, entry: dict) -> tuple:
    return tuple(str(entry.get(k)) for k in section.key)


def _row_key(section: Section, row) -> tuple:
    """The row's key as the file writes it (a related row by its own key)."""
    return tuple(str(to_file(row._meta.get_field(k), row)) for k in section.key)


def _default_in_file(f: models.Field):
    if f.many_to_many:
        return []
    if f.has_default():
        default = f.get_default()
        return to_file(f, _Holder(f.name, default)) if default is not None else None
    return None


def _label(part: Part, entry, index: int) -> str:
    if isinstance(entry, dict):
        values = [entry.get(k) for k in part.key if k in entry]
        if values:
            return ", ".join(str(v) for v in values)
    return str(index)


def _show(value) -> str:
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, timedelta):
        return duration_to_text(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    # Numbers, dates and times as a manager writes them (1250.50, 09:00:00), not Python's
    # spelling (Decimal('1250.50'), datetime.time(9, 0)).
    return str(value)
