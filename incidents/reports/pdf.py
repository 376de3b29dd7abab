"""PDF documents drawn with reportlab (no system packages): the stakeholder report for a
period (summary figures, charts, tables) and the per-incident business impact summary."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime
from itertools import islice

from django.conf import settings
from django.utils import timezone
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)
from reportlab.platypus import Table as PdfTable
from reportlab.platypus import TableStyle

from incidents import severity_style

from . import charts
from .metrics import ReportFilters, Summary
from .periods import ReportPeriod
from .stakeholder import IncidentSummary, format_moment
from .tables import as_text, incident_columns, incident_table, summary_figures

# A PDF is read by people: past this many incidents the table says "and N more" and points to
# the CSV/XLSX export, which has them all. It also bounds the memory a PDF build needs.
PDF_INCIDENT_ROWS = 500
PDF_INCIDENT_FIELDS = [
    ("reference", "Reference"), ("severity", "Sev."), ("title", "Title"),
    ("declared_at", "Declared"), ("impact_seconds", "Duration (h)"),
    ("response_sla", "Response SLA"), ("resolution_sla", "Resolution SLA"),
    ("customers_affected", "Customers"), ("revenue_lost", "Revenue lost"), ("currency", ""),
]
GRID = TableStyle([
    ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#adb5bd")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("REPEATROWS", (0, 0), (-1, 0)),
])


def _styles():
    return getSampleStyleSheet()


def _table(rows: list[list], widths=None) -> PdfTable:
    table = PdfTable(rows, colWidths=widths, repeatRows=1)
    table.setStyle(GRID)
    return table


def _sparse_labels(labels: list[str], most: int = 14) -> list[str]:
    step = max(1, -(-len(labels) // most))
    return [label if index % step == 0 else "" for index, label in enumerate(labels)]


def _chart_title(drawing: Drawing, text: str) -> None:
    drawing.add(String(0, drawing.height - 12, text, fontName="Helvetica-Bold", fontSize=10))


def incidents_per_week_chart(trends: dict, width=24 * cm, height=6 * cm) -> Drawing:
    drawing = Drawing(width, height)
    _chart_title(drawing, "Incidents per week by severity")
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 30, width - 120, height - 55
    series = list(trends["by_severity"].items()) or [("", [0] * len(trends["weeks"]))]
    # Each severity in its badge's colour, as on the web page.
    fills = [colors.HexColor(trends["severity_colours"].get(code, severity_style.OTHER_COLOUR))
             for code, _ in series]
    chart.data = [values for _, values in series]
    chart.categoryAxis.categoryNames = _sparse_labels([w[:6] for w in trends["labels"]])
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    for index in range(len(series)):
        chart.bars[index].fillColor = fills[index]
        chart.bars[index].strokeColor = None
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 80, height - 30
    legend.fontSize = 8
    legend.colorNamePairs = [(fills[i], code) for i, (code, _) in enumerate(series)]
    drawing.add(legend)
    return drawing


def line_chart(title: str, labels: list[str], series: list[tuple[str, list, str]],
               value_max=None, width=24 * cm, height=5.5 * cm) -> Drawing:
    """`series`: (name, values, colour). Every value is marked with a dot: a week with data
    between empty weeks has no line to draw, and the chart looked blank."""
    drawing = Drawing(width, height)
    _chart_title(drawing, title)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 30, 30, width - 140, height - 55
    chart.data = [[float(v) if v is not None else None for v in values]
                  for _, values, _ in series]
    chart.categoryAxis.categoryNames = _sparse_labels([label[:6] for label in labels])
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    if value_max is not None:
        chart.valueAxis.valueMax = value_max
    chart.valueAxis.labels.fontSize = 7
    for index, (_, _, colour) in enumerate(series):
        chart.lines[index].strokeColor = colors.HexColor(colour)
        chart.lines[index].strokeWidth = 1.5
        chart.lines[index].symbol = makeMarker("FilledCircle", size=4)
    chart.joinedLines = 1
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 100, height - 30
    legend.fontSize = 8
    legend.colorNamePairs = [(colors.HexColor(colour), name) for name, _, colour in series]
    drawing.add(legend)
    return drawing


def _has_values(values: Iterable) -> bool:
    return any(value is not None for value in values)


def _footer(generated_at: datetime):
    text = f"Firebreak · generated {format_moment(generated_at)}"

    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(doc.leftMargin, 0.7 * cm, text)
        canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 0.7 * cm, f"Page {doc.page}")
        canvas.restoreState()

    return draw


def report_pdf(summary: Summary, trends: dict, period: ReportPeriod, filters: ReportFilters,
               now: datetime | None = None) -> bytes:
    styles = _styles()
    story = [
        Paragraph("Stakeholder report", styles["Title"]),
        Paragraph(_escape(f"{period.label} · {filters.describe()}"), styles["Heading3"]),
        Paragraph(f"Times in {settings.TIME_ZONE}. Incidents are counted by the day they were "
                  "declared; MTTR covers incidents resolved in the period.", styles["Normal"]),
        Spacer(1, 0.3 * cm),
        Paragraph("Summary", styles["Heading2"]),
    ]
    rows = [["Figure", "Value", "Note"]]
    rows += [[f.label, as_text(f.type, f.value) or "—", f.note] for f in summary_figures(summary)]
    story.append(_table(rows, widths=[7 * cm, 3.5 * cm, 13 * cm]))

    story += [Spacer(1, 0.4 * cm), KeepTogether([incidents_per_week_chart(trends)])]
    if _has_values(trends["mttr_hours"]):
        story.append(line_chart("Mean time to resolve per week (hours)", trends["labels"],
                                [("MTTR (h)", trends["mttr_hours"], charts.MTTR)]))
    if _has_values(trends["response_compliance"]) or _has_values(trends["resolution_compliance"]):
        story.append(line_chart("SLA compliance per week (%)", trends["labels"],
                                [("Response", trends["response_compliance"],
                                  charts.RESPONSE_SLA),
                                 ("Resolution", trends["resolution_compliance"],
                                  charts.RESOLUTION_SLA)], value_max=100))
    week_rows = [["Week of", "Incidents", "Resolved", "MTTR (h)", "Response SLA %",
                  "Resolution SLA %"]]
    for index, label in enumerate(trends["labels"]):
        week_rows.append([label, trends["totals"][index], trends["resolved"][index],
                          as_text("hours", trends["mttr_hours"][index]),
                          as_text("percent", trends["response_compliance"][index]),
                          as_text("percent", trends["resolution_compliance"][index])])
    story += [Paragraph("Per week", styles["Heading2"]), _table(week_rows)]

    if summary.by_severity:
        severity_rows = [["Severity", "Incidents", "Open", "MTTA (h)", "Response SLA %",
                          "Resolution SLA %", "Breaches"]]
        for row in summary.by_severity:
            severity_rows.append([
                f"{row['severity__code']} {row['severity__name']}", row["incidents"], row["open"],
                as_text("hours", _hours(row["mtta_seconds"])),
                as_text("percent", row["response_compliance_pct"]),
                as_text("percent", row["resolution_compliance_pct"]), row["breaches"],
            ])
        story += [Paragraph("By severity", styles["Heading2"]), _table(severity_rows)]
    if summary.recurring:
        recurring_rows = [["Service", "Type", "Incidents"]]
        recurring_rows += [[r["service"], r["incident_type"], r["count"]] for r in summary.recurring]
        story += [Paragraph("Recurring issues", styles["Heading2"]), _table(recurring_rows)]

    story.append(Paragraph("Incidents", styles["Heading2"]))
    story += _incident_rows(period, filters, now, summary, styles)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), title=f"Stakeholder report {period.label}",
                            leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.2 * cm,
                            bottomMargin=1.5 * cm, author="Firebreak")
    footer = _footer(summary.generated_at)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _hours(seconds):
    from .tables import HOURS, typed

    return typed(HOURS, seconds)


def _incident_rows(period, filters, now, summary: Summary, styles) -> list:
    columns = [column.name for column in incident_columns()]
    picks = [(columns.index(name), header) for name, header in PDF_INCIDENT_FIELDS]
    table = incident_table(period, filters, now, limit=PDF_INCIDENT_ROWS)
    types = [column_type for _, column_type in table.columns]
    rows = [[header for _, header in picks]]
    for row in islice(table.rows, PDF_INCIDENT_ROWS):
        cells = []
        for index, _ in picks:
            text = as_text(types[index], row[index])
            cells.append(text[:48] + "…" if len(text) > 49 else text)
        rows.append(cells)
    flowables = [_table(rows)]
    total = summary.declared["incidents"]
    if total > PDF_INCIDENT_ROWS:
        flowables.append(Paragraph(
            f"… and {total - PDF_INCIDENT_ROWS:,} more incidents: the CSV and XLSX exports list "
            "all of them.", styles["Italic"]))
    if total == 0:
        flowables = [Paragraph("No incidents were declared in this period.", styles["Normal"])]
    return flowables


def incident_summary_pdf(summary: IncidentSummary) -> bytes:
    styles = _styles()
    incident = summary.incident
    story = [
        Paragraph(_escape(summary.subject), styles["Heading2"]),
        Paragraph(f"Generated {format_moment(timezone.now())}", styles["Italic"]),
        Spacer(1, 0.3 * cm),
        Paragraph("Resolution Summary", styles["Heading3"]),
    ]
    rows = [
        ["Issue", incident.title + (f" ({', '.join(summary.services)})" if summary.services else "")],
        ["Severity", str(incident.severity)],
        ["Duration", summary.duration],
        ["Business Impact", summary.business_impact],
        ["Customer Impact", summary.customer_impact],
        ["Resolution", incident.resolution_summary or "not written yet"],
        ["SLA", f"response {summary.response_sla}, resolution {summary.resolution_sla}"],
    ]
    story.append(_key_value_table(rows, styles))
    story.append(Paragraph("Next Steps", styles["Heading3"]))
    for step in summary.next_steps:
        box = "[x]" if step.done else "[  ]"
        detail = f" ({step.detail})" if step.detail else ""
        story.append(Paragraph(_escape(f"{box} {step.text}{detail}"), styles["Normal"]))
    story += [Spacer(1, 0.3 * cm),
              Paragraph(f"<b>ROI:</b> {_escape(summary.roi)}", styles["Normal"])]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=summary.subject, author="Firebreak")
    doc.build(story)
    return buffer.getvalue()


def _key_value_table(rows, styles) -> PdfTable:
    body = styles["BodyText"]
    cells = [[Paragraph(f"<b>{key}</b>", body), Paragraph(_escape(value), body)]
             for key, value in rows]
    table = PdfTable(cells, colWidths=[4 * cm, 13 * cm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#dee2e6"))]))
    return table


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
