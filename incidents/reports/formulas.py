"""Spreadsheet formula injection: text that people typed (titles, service names, summaries) must
never run as a formula when a stakeholder opens an export in Excel or LibreOffice.

Every CSV and XLSX cell holding text goes through `spreadsheet_safe`: text that a spreadsheet
would read as a formula or a command (starting with = + - @, a tab or a carriage return) gets a
leading apostrophe, which spreadsheets show as plain text. The XLSX writer writes text with
`write_string` and is told never to turn a string into a formula, number or link, so XLSX text
cells are always strings."""

from __future__ import annotations

from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """`value` itself, or, for text a spreadsheet would evaluate, the text behind an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
