"""Which configuration makes up a procedure, and how each part is keyed in the file.

Every app registers its configuration models here (in its AppConfig.ready), in dependency
order: a section may refer to the sections registered before it. The incident core owns only
this mechanism; escalation, the war room and post-mortems register their own sections, so the
core never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models


@dataclass(frozen=True)
class Part:
    """Rows of one model, each identified by `key` (field names, unique together).

    `exclude` names fields that are not part of a procedure (people, run-time state). Fields
    pointing at user accounts are always left out: a procedure file carries no people."""

    model: type[models.Model]
    key: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    def fields(self) -> list[models.Field]:
        """The fields written to and read from the file, in the model's order."""
        chosen = []
        for f in self.model._meta.get_fields():
            if f.auto_created or not getattr(f, "concrete", False) and not f.many_to_many:
                continue
            if f.primary_key or f.name in self.exclude or not getattr(f, "editable", True):
                continue
            if f.is_relation and f.related_model is not None and _is_user_model(f.related_model):
                continue
            chosen.append(f)
        return chosen


@dataclass(frozen=True)
class Children(Part):
    """Rows that belong to one entry of a section (a ladder's levels, a checklist's items).

    In the file they are a list inside their parent's entry, under `name`; on import the list
    is the whole truth for that parent: rows missing from it are deleted."""

    name: str = ""
    parent_field: str = ""


@dataclass(frozen=True)
class Section(Part):
    """A top-level list of the procedure file, e.g. `severities`.

    `retire_field`: a boolean field switched off (instead of deleting the row) when an import
    with `prune` no longer lists the entry, so incidents that refer to it keep their history.
    `prunable=False`: entries the file does not list are always kept (services: incidents
    link to them, and a procedure names only the ones it needs).
    `order`: sections are read in this order, so a section may refer only to those before it
    (calendars 10, severities and types 20, roles 30, rotas and ladders 40, policies, rules and
    integrations 50, triage rules 51, checklists, cadences and templates 60, reviews 70).
    `prepare`: called on a row the file creates, before it is validated, to give it what a
    file never carries (an integration's account and a fresh secret); returns a note for the
    plan, or "".
    `in_use`: whether a row is still needed by something no foreign key shows (a pending
    timer naming an escalation level); such a row is retired or kept, never deleted."""

    name: str = ""
    order: int = 100
    children: tuple[Children, ...] = ()
    retire_field: str | None = None
    prunable: bool = True
    prepare: Callable[[models.Model], str] | None = None
    in_use: Callable[[models.Model], bool] | None = None
    help: str = ""

    def queryset(self):
        return self.model._default_manager.all()


_sections: dict[str, Section] = {}


def register(section: Section) -> Section:
    if not section.name:
        raise ValueError("A procedure section needs a name.")
    for key_field in section.key:
        section.model._meta.get_field(key_field)  # fail at start-up, not on the first import
    _sections[section.name] = section
    return section


def sections() -> list[Section]:
    """Registered sections in dependency order."""
    return sorted(_sections.values(), key=lambda section: section.order)


def section_for_model(model: type[models.Model]) -> Section | None:
    for section in _sections.values():
        if section.model is model:
            return section
    return None


def children_for_model(model: type[models.Model]) -> Children | None:
    """The child part rows of `model` belong to; siblings refer to them by their key."""
    for section in _sections.values():
        for child in section.children:
            if child.model is model:
                return child
    return None


def _is_user_model(model) -> bool:
    label = settings.AUTH_USER_MODEL.lower()
    return f"{model._meta.app_label}.{model._meta.model_name}" == label


@dataclass
class Change:
    """One line of an import's plan: what happens to one entry."""

    action: str  # "create", "update", "delete", "retire", "keep"
    where: str  # e.g. "severities[P1]" or "ladders[default].levels[2]"
    details: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.action:7} {self.where}"
        if self.details:
            text += ": " + "; ".join(self.details)
        return text
