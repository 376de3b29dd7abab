"""With a real Celery worker over Redis and PostgreSQL: a report export too big for a web worker
is built by the worker, into the storage the web side serves it from, with the rows of the
direct export."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from django.core.files.storage import storages
from django.utils import timezone
from openpyxl import load_workbook

from config.celery import app
from incidents.models import ReportExport
from incidents.reports import background, exports, metrics
from incidents.reports.forms import ReportFilterForm
from incidents.reports.tasks import build_report_export

from .conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _values(workbook_file) -> dict:
    workbook = load_workbook(workbook_file)
    # The Summary sheet says when it was generated; the worker built it a moment later.
    return {sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()]
            for sheet in workbook.worksheets if sheet.title != "Summary"}


def test_a_worker_builds_the_workbook_the_web_side_then_serves(
    celery_stack, celery_env, broker_url, declare, make_user
):
    # The worker writes where this process's "exports" storage reads: a shared folder.
    celery_env["FIREBREAK_EXPORTS_DIR"] = storages["exports"].location
    celery_stack.worker("worker-a")
    for number in range(3):
        declare(title=f"Checkout errors {number}", severity="P1")
    manager = make_user("Manager", username="pm", is_superuser=True)
    today = timezone.localdate().isoformat()
    form = ReportFilterForm({"date_from": today, "date_to": today})
    assert form.is_valid(), form.errors

    export = background.export_request(by=manager, form=form, filename="report.xlsx")
    # What ask_worker does once the request commits, over the test's own broker.
    with app.connection_for_write(broker_url) as connection:
        build_report_export.apply_async(args=[str(export.pk)], connection=connection)

    wait_until(lambda: ReportExport.objects.get(pk=export.pk).is_finished, timeout=60,
               what="the worker to build the export",
               explain=lambda: celery_stack.logs())
    export.refresh_from_db()
    assert export.state == ReportExport.State.READY, export.error
    assert export.rows_expected == 3

    form.filters = replace(form.filters, viewer=manager)
    direct = exports.xlsx_report(metrics.report_summary(form.period, form.filters), form.period,
                                 form.filters)
    with export.file.open("rb") as built:
        assert _values(io.BytesIO(built.read())) == _values(direct)
