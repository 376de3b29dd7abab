"""The dashboard and the exports: who may see them, what they show, how they refuse bad input."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from .conftest import at
from .test_metrics import NOW, november  # noqa: F401  (the hand-computed fixture)

pytestmark = pytest.mark.django_db

NOVEMBER_QUERY = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


def _get(client, user, name, **params):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse(f"reports:{name}"), params)
        if getattr(response, "streaming", False):
            response.body = b"".join(response.streaming_content)
        elif hasattr(response, "file_to_stream") and response.file_to_stream is not None:
            response.body = b"".join(response.streaming_content)
        else:
            response.body = response.content
    return response


def _csv_rows(response):
    return list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))


# --- Permissions -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dashboard", "export_csv", "export_xlsx", "export_pdf"])
def test_responders_may_not_see_reports_or_exports(client, responder, name):
    assert _get(client, responder, name).status_code == 403


@pytest.mark.parametrize("name", ["dashboard", "export_csv", "export_xlsx", "export_pdf"])
def test_product_managers_and_managers_may_see_reports_and_export_them(
        client, product_manager, manager, name):
    assert _get(client, product_manager, name).status_code == 200
    assert _get(client, manager, name).status_code == 200


def test_people_who_are_not_logged_in_are_sent_to_log_in(client):
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_a_responder_may_not_download_an_incident_summary(client, responder, make_incident):
    incident = make_incident("P0", declared="2026-11-02 10:00")
    client.force_login(responder)
    for name in ("incident_summary_pdf", "incident_summary_txt"):
        url = reverse(f"reports:{name}", kwargs={"reference": incident.reference})
        assert client.get(url).status_code == 403


# --- Dashboard ---------------------------------------------------------------------------------


def test_the_dashboard_shows_the_same_figures_as_the_selectors(client, product_manager, november):  # noqa: F811
    response = _get(client, product_manager, "dashboard", **NOVEMBER_QUERY)
    assert response.status_code == 200
    html = response.body.decode()
    summary = response.context["summary"]
    assert summary.declared["incidents"] == 4
    assert 'id="figure-incidents">4<' in html
    assert 'id="figure-mtta">2.50 h<' in html
    assert 'id="figure-mttr">11.67 h<' in html  # 35 h / 3
    assert 'id="figure-response-sla">50.0%<' in html
    assert 'id="figure-resolution-sla">33.3%<' in html
    assert 'id="figure-breaches">4<' in html
    assert "6,725.00 EUR" in html
    assert 'id="figure-recurring">1<' in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "cdn" not in html.lower()


def test_the_dashboard_lists_the_costliest_incidents_with_their_stakeholder_summaries(
        client, product_manager, november):  # noqa: F811
    response = _get(client, product_manager, "dashboard", **NOVEMBER_QUERY)
    costliest = response.context["costliest"]
    assert [row["incident"].reference for row in costliest] == [
        november["A"].reference, november["B"].reference, november["E"].reference]
    assert [row["revenue_lost"] for row in costliest] == ["4,000.00 EUR", "2,600.00 EUR", "125.00 EUR"]
    summary_url = reverse("reports:incident_summary_pdf",
                          kwargs={"reference": november["A"].reference})
    assert summary_url in response.body.decode()


def test_a_preset_period_is_resolved_to_dates_the_form_shows(client, product_manager):
    with time_machine.travel(at("2026-11-18 09:00"), tick=False):
        client.force_login(product_manager)
        response = client.get(reverse("reports:dashboard"), {"preset": "last_month"})
    assert response.context["summary"].period.start.isoformat() == "2026-10-01"
    assert 'value="2026-10-31"' in response.content.decode()


def test_without_parameters_the_dashboard_shows_the_last_30_days(client, manager):
    response = _get(client, manager, "dashboard")
    period = response.context["summary"].period
    assert (period.start.isoformat(), period.end.isoformat()) == ("2026-11-02", "2026-12-01")


@pytest.mark.parametrize("params, message", [
    ({"date_from": "2026-11-30", "date_to": "2026-11-01"}, "is after the end date"),
    ({"date_from": "30/11/2026", "date_to": "2026-12-01"}, "Enter a valid date"),
    ({"date_from": "2026-11-01"}, "Give both a start and an end date"),
    ({"preset": "last_7", "severity": "P9"}, "Select a valid choice"),
    ({"preset": "since_forever"}, "Select a valid choice"),
])
def test_bad_parameters_show_form_errors_on_the_dashboard(client, manager, params, message):
    response = _get(client, manager, "dashboard", **params)
    assert response.status_code == 200
    assert "summary" not in response.context
    assert message in response.body.decode()


def test_the_dashboard_uses_a_bounded_number_of_queries(
        client, product_manager, make_incident, checkout, django_assert_max_num_queries):
    for day in range(1, 29):
        make_incident("P1", declared=f"2026-11-{day:02d} 10:00", acknowledged=f"2026-11-{day:02d} 11:00",
                      resolved=f"2026-11-{day:02d} 15:00", services=[checkout],
                      revenue_impact_per_hour=50)
    client.force_login(product_manager)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(30):
        response = client.get(reverse("reports:dashboard"), NOVEMBER_QUERY)
    assert response.context["summary"].declared["incidents"] == 28


# --- Exports -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export_csv", "export_xlsx", "export_pdf"])
@pytest.mark.parametrize("params, message", [
    ({"date_from": "2026-11-30", "date_to": "2026-11-01"}, "is after the end date"),
    ({"date_from": "yesterday", "date_to": "2026-11-01"}, "Enter a valid date"),
    ({"preset": "last_decade"}, "Select a valid choice"),
    ({"preset": "last_7", "service": "no-such-service"}, "Select a valid choice"),
])
def test_bad_export_parameters_get_a_400_with_a_json_error(client, manager, name, params, message):
    response = _get(client, manager, name, **params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert message in response.json()["error"]


def test_an_unknown_csv_table_gets_a_400(client, manager):
    response = _get(client, manager, "export_csv", table="everything", **NOVEMBER_QUERY)
    assert response.status_code == 400
    assert "Unknown table" in response.json()["error"]


def test_the_incidents_csv_streams_one_typed_row_per_incident(client, product_manager, november):  # noqa: F811
    response = _get(client, product_manager, "export_csv", **NOVEMBER_QUERY)
    assert response.streaming
    assert 'filename="firebreak-report-incidents-2026-11-01_2026-11-30.csv"' in (
        response["Content-Disposition"])
    rows = _csv_rows(response)
    header, body = rows[0], rows[1:]
    by_reference = {row[0]: dict(zip(header, row)) for row in body}
    assert [row[0] for row in body] == [november[k].reference for k in "ABCE"]  # declared order
    a = by_reference[november["A"].reference]
    assert a["Severity"] == "P0"
    assert a["Declared (Europe/Amsterdam)"] == "2026-11-02 10:00"
    assert a["Time to acknowledge (h)"] == "0.50"
    assert a["Time to resolve (h)"] == "4.00"
    assert a["Response SLA"] == "Met"
    assert a["Revenue lost"] == "4000.00"
    assert a["Services"] == "Checkout"
    c = by_reference[november["C"].reference]
    assert (c["Acknowledged (Europe/Amsterdam)"], c["Response SLA"], c["Revenue lost"]) == (
        "", "Breached", "")
    assert by_reference[november["E"].reference]["Resolution SLA"] == "Pending"


def test_the_breaches_csv_lists_each_missed_target(client, manager, november):  # noqa: F811
    rows = _csv_rows(_get(client, manager, "export_csv", table="breaches", **NOVEMBER_QUERY))
    header, body = rows[0], rows[1:]
    found = {(row[0], row[3]) for row in body}
    b, c = november["B"].reference, november["C"].reference
    assert found == {(b, "Response"), (b, "Resolution"), (c, "Response"), (c, "Resolution")}
    b_response = next(dict(zip(header, r)) for r in body if r[0] == b and r[3] == "Response")
    assert b_response["Target (h)"] == "4.00"
    assert b_response["Over by (h)"] == "2.00"  # acknowledged at 14:00, due 12:00


def test_the_summary_csv_has_the_headline_figures(client, manager, november):  # noqa: F811
    rows = _csv_rows(_get(client, manager, "export_csv", table="summary", **NOVEMBER_QUERY))
    figures = {row[0]: row[1] for row in rows[1:]}
    assert figures["Incidents declared"] == "4"
    assert figures["Mean time to acknowledge (h)"] == "2.50"
    assert figures["Response SLA compliance (%)"] == "50.0"
    assert figures["Revenue lost EUR"] == "6725.00"


def test_the_workbook_has_a_sheet_per_table_with_real_numbers_and_dates(
        client, product_manager, november):  # noqa: F811
    response = _get(client, product_manager, "export_xlsx", **NOVEMBER_QUERY)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.body))
    assert workbook.sheetnames[:3] == ["Summary", "Incidents", "SLA breaches"]
    incidents = workbook["Incidents"]
    header = [cell.value for cell in incidents[1]]
    first = {h: cell for h, cell in zip(header, incidents[2])}
    assert first["Reference"].value == november["A"].reference
    assert first["Declared (Europe/Amsterdam)"].value == datetime(2026, 11, 2, 10, 0)
    assert first["Declared (Europe/Amsterdam)"].number_format == "yyyy-mm-dd hh:mm"
    assert first["Revenue lost"].value == 4000
    assert first["Revenue lost"].number_format == "#,##0.00"
    assert first["Time to resolve (h)"].value == 4
    assert incidents.max_row == 5  # header + A, B, C, E
    summary = {row[0].value: row[1].value for row in workbook["Summary"].iter_rows()
               if row[0].value}
    assert summary["Incidents declared"] == 4
    assert Decimal(str(summary["Response SLA compliance (%)"])) == Decimal("50.0")
    assert workbook["SLA breaches"].max_row == 5  # header + 4 breaches


def test_the_pdf_report_has_the_summary_charts_and_incident_table(client, manager, november):  # noqa: F811
    response = _get(client, manager, "export_pdf", **NOVEMBER_QUERY)
    assert response["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.body)).pages)
    assert "Stakeholder report" in text
    assert "Incidents declared" in text
    assert "Incidents per week by severity" in text
    assert "Mean time to resolve per week" in text
    assert "SLA compliance per week" in text
    for key in "ABCE":
        assert november[key].reference in text
    assert november["F"].reference not in text  # declared after the period


def test_an_empty_period_still_exports_headers_and_a_readable_pdf(client, manager):
    rows = _csv_rows(_get(client, manager, "export_csv", **NOVEMBER_QUERY))
    assert rows[0][0] == "Reference" and len(rows) == 1
    response = _get(client, manager, "export_pdf", **NOVEMBER_QUERY)
    text = PdfReader(io.BytesIO(response.body)).pages[0].extract_text()
    assert "Stakeholder report" in text


def test_a_large_csv_is_sent_in_chunks_while_rows_are_read(client, manager, severities, make_user):
    from incidents.models import Incident

    reporter = make_user("Responder")
    Incident.objects.bulk_create([
        Incident(reference=f"BULK-{n:05d}", title=f"Bulk incident {n}", severity=severities["P2"],
                 reporter=reporter, declared_at=at("2026-11-10 10:00"),
                 detected_at=at("2026-11-10 09:00"))
        for n in range(1500)
    ])
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("reports:export_csv"), NOVEMBER_QUERY)
        chunks = list(response.streaming_content)
    assert len(chunks) > 1
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert len(rows) == 1501


def test_the_csv_download_starts_before_any_incident_row_is_read(
        client, manager, severities, make_user):
    """At 100,000 incidents the rows take seconds to read: the browser gets the header at
    once, and the rows follow as they are read (issue 14)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents.models import Incident

    reporter = make_user("Responder")
    Incident.objects.bulk_create([
        Incident(reference=f"BULK-{n:05d}", title=f"Bulk incident {n}", severity=severities["P2"],
                 reporter=reporter, declared_at=at("2026-11-10 10:00"),
                 detected_at=at("2026-11-10 09:00"))
        for n in range(1500)
    ])
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("reports:export_csv"), NOVEMBER_QUERY)
        assert response.streaming
        content = iter(response.streaming_content)
        with CaptureQueriesContext(connection) as before_first_chunk:
            first = next(content)
        rest = b"".join(content)
    assert first.decode("utf-8-sig").startswith("Reference,")
    assert first.count(b"\n") == 1  # the header line alone
    assert not any("incidents_incident" in q["sql"] for q in before_first_chunk.captured_queries)
    rows = list(csv.reader(io.StringIO((first + rest).decode("utf-8-sig"))))
    assert len(rows) == 1501
