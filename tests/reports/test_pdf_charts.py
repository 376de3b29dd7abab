"""The charts of the PDF report: a week with the only value still shows it, and each severity
has its badge's colour, the same as on the web page, whichever severities the chart shows."""

from datetime import date

import pytest
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.widgets.markers import Marker
from reportlab.lib import colors

from incidents.reports import pdf
from incidents.reports.metrics import ReportFilters, weekly_trends
from incidents.reports.periods import ReportPeriod
from incidents.reports.views import _chart_data

NOVEMBER = ReportPeriod(date(2026, 11, 1), date(2026, 11, 30))


def shapes(node):
    for child in getattr(node, "contents", []):
        yield child
        yield from shapes(child)


def test_a_week_with_the_only_value_is_drawn_as_a_point():
    drawing = pdf.line_chart("Mean time to resolve per week (hours)", ["02 Nov", "09 Nov", "16 Nov"],
                             [("MTTR (h)", [None, 4.0, None], "#0d6efd")])
    points = [shape for shape in shapes(drawing.expandUserNodes()) if isinstance(shape, Marker)]
    assert len(points) == 1


@pytest.mark.django_db
def test_severities_have_their_badge_colours_in_the_pdf_and_on_the_web(severities):
    everything = weekly_trends(NOVEMBER)
    assert everything["severity_colours"] == {
        "P0": "#dc3545", "P1": "#ffc107", "P2": "#0dcaf0", "P3": "#6c757d"}

    only_p2 = weekly_trends(NOVEMBER, ReportFilters(severity=severities["P2"]))
    assert [(series["label"], series["colour"]) for series in _chart_data(only_p2)["bySeverity"]] \
        == [("P2", "#0dcaf0")]  # not the first colour of a palette (P0's red)
    chart = next(shape for shape in pdf.incidents_per_week_chart(only_p2).contents
                 if isinstance(shape, VerticalBarChart))
    assert chart.bars[0].fillColor == colors.HexColor("#0dcaf0")
