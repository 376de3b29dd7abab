"""CSV and XLSX writers for the report's tables. Neither holds the rows in memory: CSV is
yielded in chunks to a StreamingHttpResponse, XLSX is written by openpyxl's write-only workbook
(rows go to a temporary file as they come) into a temporary file the response streams."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

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


def _safe_text_formatter(column_type: str):
    """The column's text formatter, formula-safe for text (numbers and dates are the portal's
    own; a negative number stays a number)."""
    formatter = text_formatter(column_type)
    return lambda value: (spreadsheet_safe(formatter(value)) if isinstance(value, str)
                          else formatter(value))


def csv_lines(table: Table) -> Iterator[str]:
    """The table as CSV text, in chunks of about 64 KB."""
    writer = csv.writer(_Echo())
    formatters = [_safe_text_formatter(column_type) for _, column_type in table.columns]
    buffer = [BOM, writer.writerow([_header(h, t) for h, t in table.columns])]
    size = 0
    for row in table.rows:
        line = writer.writerow([fmt(value) for fmt, value in zip(formatters, row, strict=True)])
        buffer.append(line)
        size += len(line)
        if size >= CSV_FLUSH_BYTES:
            yield "".join(buffer)
            buffer, size = [], 0
    yield "".join(buffer)


def _write_sheet(workbook: Workbook, table: Table) -> None:
    sheet = workbook.create_sheet(title=table.title[:31])
    for index, (_, column_type) in enumerate(table.columns):
        letter = _column_letter(index)
        sheet.column_dimensions[letter].width = COLUMN_WIDTHS.get(column_type, 14)
    bold = Font(bold=True)
    header = []
    for name, column_type in table.columns:
        cell = WriteOnlyCell(sheet, value=_header(name, column_type))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    sheet.freeze_panes = "A2"
    # One style per number format, shared by every cell that uses it: setting number_format
    # cell by cell costs a style lookup each time, which adds up over 100,000s of cells.
    styles = {}
    for _, column_type in table.columns:
        number_format = NUMBER_FORMATS.get(column_type)
        if number_format and column_type not in styles:
            template = WriteOnlyCell(sheet)
            template.number_format = number_format
            styles[column_type] = template._style
    column_styles = [styles.get(column_type) for _, column_type in table.columns]
    for row in table.rows:
        cells = []
        for value, style in zip(row, column_styles, strict=True):
            if style is not None and value is not None:
                if isinstance(value, datetime):
                    # Excel has no time zones: the organisation's wall clock (see the header).
                    value = value.replace(tzinfo=None)
                cell = WriteOnlyCell(sheet, value=value)
                cell._style = style
                cells.append(cell)
            else:
                cells.append(spreadsheet_safe(value))
        sheet.append(cells)


def _write_summary_sheet(workbook: Workbook, period: ReportPeriod, filters: ReportFilters,
                         figures) -> None:
    sheet = workbook.create_sheet(title="Summary")
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 16
    sheet.column_dimensions["C"].width = 60
    bold = Font(bold=True)
    title = WriteOnlyCell(sheet, value="Firebreak stakeholder report")
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    sheet.append(["Period", period.label])
    sheet.append(["Filters", spreadsheet_safe(filters.describe())])
    generated = WriteOnlyCell(sheet, value=timezone.localtime().replace(tzinfo=None))
    generated.number_format = NUMBER_FORMATS[DATETIME]
    sheet.append([f"Generated ({settings.TIME_ZONE})", generated])
    sheet.append([])
    header = []
    for name in ("Figure", "Value", "Note"):
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for figure in figures:
        value = figure.value
        number_format = NUMBER_FORMATS.get(figure.type)
        if number_format and value is not None and not isinstance(value, str):
            value = WriteOnlyCell(sheet, value=value)
            value.number_format = number_format
        sheet.append([spreadsheet_safe(figure.label), spreadsheet_safe(value),
                      spreadsheet_safe(figure.note)])


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def xlsx_report(summary, period: ReportPeriod, filters: ReportFilters, now=None):
    """The stakeholder workbook (Summary, Incidents, SLA breaches, Action items sheets) in a
    temporary file, rewound, for FileResponse to stream and close."""
    workbook = Workbook(write_only=True)
    _write_summary_sheet(workbook, period, filters, summary_figures(summary))
    _write_sheet(workbook, incident_table(period, filters, now))
    _write_sheet(workbook, breach_table(period, filters, now))
    action_items = action_item_table(period, filters)
    if action_items is not None:
        _write_sheet(workbook, action_items)
    output = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(output)
    output.seek(0)
    return output
