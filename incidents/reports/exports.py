"""CSV and XLSX writers for the report's tables. Neither holds the rows in memory: CSV is
yielded to a StreamingHttpResponse, its header at once and then the rows in chunks as they
are read; XLSX is written by XlsxWriter in constant-memory mode (each row goes to a temporary
file as it comes, several times faster than openpyxl's writer at 100,000 rows) into a
temporary file the response streams."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from xlsxwriter import Workbook
from xlsxwriter.worksheet import Worksheet

from .formulas import spreadsheet_safe
from .metrics import ReportFilters
from .periods import ReportPeriod
from .tables import (
    BOOL,
    DATE,
    DATETIME,
    HOURS,
    INT,
    MONEY,
    PERCENT,
    TEXT,
    Table,
    action_item_table,
    breach_table,
    incident_table,
    summary_figures,
    text_formatter,
)

# Excel's Byte Order Mark: without it, Excel reads UTF-8 CSV as Windows-1252 and mangles "€".
BOM = "\ufeff"
CSV_FLUSH_BYTES = 64 * 1024

NUMBER_FORMATS = {
    HOURS: "0.00",
    MONEY: "#,##0.00",
    PERCENT: "0.0",
    INT: "0",
    DATETIME: "yyyy-mm-dd hh:mm",
    DATE: "yyyy-mm-dd",
}
COLUMN_WIDTHS = {TEXT: 22, DATETIME: 17, DATE: 12, HOURS: 12, MONEY: 14, PERCENT: 10, INT: 10,
                 BOOL: 10}


class _Echo:
    """A file-like object whose write() returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def _header(column: str, column_type: str) -> str:
    # Times are shown in the organisation's zone; say which in the header.
    if column_type == DATETIME:
        return f"{column} ({settings.TIME_ZONE})"
    return column


_plain_text = text_formatter(TEXT)


def _safe_text(value) -> str:
    """A text column's cell: typed text formula-safe (see formulas.py)."""
    return spreadsheet_safe(value) if isinstance(value, str) else _plain_text(value)


def _safe_text_formatter(column_type: str):
    """The column's text formatter, formula-safe for text. Numbers and dates are the portal's
    own (a negative number stays a number), so only text columns pay for the check: a CSV of a
    year is millions of cells."""
    return _safe_text if column_type == TEXT else text_formatter(column_type)


def csv_lines(table: Table) -> Iterator[str]:
    """The table as CSV text: the header line, then chunks of about 64 KB."""
    writer = csv.writer(_Echo())
    formatters = [_safe_text_formatter(column_type) for _, column_type in table.columns]
    # The header goes at once: the download starts before the first row is read.
    yield BOM + writer.writerow([_header(h, t) for h, t in table.columns])
    buffer, size = [], 0
    for row in table.rows:
        line = writer.writerow([fmt(value) for fmt, value in zip(formatters, row, strict=True)])
        buffer.append(line)
        size += len(line)
        if size >= CSV_FLUSH_BYTES:
            yield "".join(buffer)
            buffer, size = [], 0
    yield "".join(buffer)


def _write_cell(sheet: Worksheet, row: int, column: int, value, cell_format=None) -> None:
    """One cell by its Python type: text always as a string (formula-safe), never a formula
    or a link; numbers, dates and booleans as such; None left blank."""
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, column, value, cell_format)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, column, value, cell_format)
    elif isinstance(value, datetime | date):
        if isinstance(value, datetime):
            # Excel has no time zones: the organisation's wall clock (see the header).
            value = value.replace(tzinfo=None)
        sheet.write_datetime(row, column, value, cell_format)
    else:
        # A line end is "\n" in a cell (a carriage return would be stored escaped, _x000D_).
        text = spreadsheet_safe(str(value)).replace("\r\n", "\n").replace("\r", "\n")
        sheet.write_string(row, column, text, cell_format)


def _new_workbook(output) -> Workbook:
    return Workbook(output, {
        "constant_memory": True,
        # Text is text: never read as a formula, a number or a link, whatever it looks like.
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    })


def _write_sheet(workbook: Workbook, table: Table, progress=None) -> None:
    """The table as a sheet; `progress(rows)` is called after each row when given."""
    sheet = workbook.add_worksheet(table.title[:31])
    for index, (_, column_type) in enumerate(table.columns):
        sheet.set_column(index, index, COLUMN_WIDTHS.get(column_type, 14))
    sheet.freeze_panes(1, 0)
    bold = workbook.add_format({"bold": True})
    for index, (name, column_type) in enumerate(table.columns):
        sheet.write_string(0, index, _header(name, column_type), bold)
    # One format per number format, shared by every cell that uses it.
    formats = {column_type: workbook.add_format({"num_format": number_format})
               for column_type, number_format in NUMBER_FORMATS.items()}
    column_formats = [formats.get(column_type) for _, column_type in table.columns]
    for row_index, row in enumerate(table.rows, start=1):
        for column, (value, cell_format) in enumerate(zip(row, column_formats, strict=True)):
            _write_cell(sheet, row_index, column, value, cell_format)
        if progress is not None:
            progress(row_index)


def _write_summary_sheet(workbook: Workbook, period: ReportPeriod, filters: ReportFilters,
                         figures) -> None:
    sheet = workbook.add_worksheet("Summary")
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, 1, 16)
    sheet.set_column(2, 2, 60)
    bold = workbook.add_format({"bold": True})
    sheet.write_string(0, 0, "Firebreak stakeholder report",
                       workbook.add_format({"bold": True, "font_size": 14}))
    sheet.write_string(1, 0, "Period")
    _write_cell(sheet, 1, 1, period.label)
    sheet.write_string(2, 0, "Filters")
    _write_cell(sheet, 2, 1, filters.describe())
    _write_cell(sheet, 3, 0, f"Generated ({settings.TIME_ZONE})")
    _write_cell(sheet, 3, 1, timezone.localtime(),
                workbook.add_format({"num_format": NUMBER_FORMATS[DATETIME]}))
    for column, name in enumerate(("Figure", "Value", "Note")):
        sheet.write_string(5, column, name, bold)
    formats = {}
    for row, figure in enumerate(figures, start=6):
        number_format = NUMBER_FORMATS.get(figure.type)
        cell_format = None
        if number_format:
            cell_format = formats.setdefault(
                figure.type, workbook.add_format({"num_format": number_format}))
        _write_cell(sheet, row, 0, figure.label)
        _write_cell(sheet, row, 1, figure.value, cell_format)
        _write_cell(sheet, row, 2, figure.note)


def xlsx_report(summary, period: ReportPeriod, filters: ReportFilters, now=None, progress=None):
    """The stakeholder workbook (Summary, Incidents, SLA breaches, Action items sheets) in a
    temporary file, rewound, for FileResponse to stream and close. `progress(rows)` hears of
    each incident row written (background exports show it)."""
    output = tempfile.TemporaryFile(suffix=".xlsx")
    workbook = _new_workbook(output)
    _write_summary_sheet(workbook, period, filters, summary_figures(summary))
    _write_sheet(workbook, incident_table(period, filters, now), progress)
    _write_sheet(workbook, breach_table(period, filters, now))
    action_items = action_item_table(period, filters)
    if action_items is not None:
        _write_sheet(workbook, action_items)
    workbook.close()
    output.seek(0)
    return output
