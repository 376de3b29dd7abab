"""Procedures as data: the registry of configuration sections and the YAML file format.

`register(Section(...))` in an app's ready(); `procedure_export()` and `procedure_import()`
read and write the whole configuration as one file (`manage.py procedure export|import`)."""

from .files import ProcedureError, procedure_export, procedure_import
from .registry import Children, Section, register, sections

__all__ = ["Children", "ProcedureError", "Section", "procedure_export", "procedure_import",
           "register", "sections"]
