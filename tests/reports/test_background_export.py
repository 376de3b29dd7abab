"""XLSX exports too big for a web worker: built by a Celery worker, with a status page that
shows the progress and then the download, the same workbook as the direct export."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from incidents.models import ReportExport
from incidents.reports import background

from .test_metrics import NOW, november  # noqa: F401  (the hand-computed fixture)
from .test_views import NOVEMBER_QUERY, _get

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """The export ids handed to the worker (instead of a broker)."""
    asked = []
    monkeypatch.setattr(background, "ask_worker", asked.append)
    return asked


def _ask_for_workbook(client, user, django_capture_on_commit_callbacks, **query):
    with django_capture_on_commit_callbacks(execute=True):
        return _get(client, user, "export_xlsx", **(query or NOVEMBER_QUERY))


def _sheets(body: bytes) -> dict:
    workbook = load_workbook(io.BytesIO(body))
    return {sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()]
            for sheet in workbook.worksheets}


def _build(export_id):
    with time_machine.travel(NOW, tick=False):
        return background.export_build(export_id)


def test_a_report_over_the_threshold_is_built_by_a_worker_with_the_rows_of_the_direct_export(
        client, product_manager, november, settings, queued,  # noqa: F811
        django_capture_on_commit_callbacks):
    direct = _get(client, product_manager, "export_xlsx", **NOVEMBER_QUERY)
    assert direct.status_code == 200

    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 3  # the period has 4 incidents
    response = _ask_for_workbook(client, product_manager, django_capture_on_commit_callbacks)
    export = ReportExport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:export_status", args=[export.pk])
    assert queued == [export.pk]
    assert export.rows_expected == 4

    _build(export.pk)
    download = _get_url(client, reverse("reports:export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"] == (
        'attachment; filename="firebreak-report-2026-11-01_2026-11-30.xlsx"')
    assert _sheets(download.body) == _sheets(direct.body)


def test_a_report_at_the_threshold_is_still_sent_at_once(
        client, product_manager, november, settings, queued,  # noqa: F811
        django_capture_on_commit_callbacks):
    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 4
    response = _ask_for_workbook(client, product_manager, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.body))["Incidents"].max_row == 5
    assert not ReportExport.objects.exists() and not queued


def _get_url(client, url):
    with time_machine.travel(NOW, tick=False):
        response = client.get(url)
    response.body = (b"".join(response.streaming_content) if response.streaming
                     else response.content)
    return response


def test_the_status_page_shows_the_wait_the_progress_and_then_the_download(
        client, manager, november, settings, queued, monkeypatch,  # noqa: F811
        django_capture_on_commit_callbacks):
    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 1
    _ask_for_workbook(client, manager, django_capture_on_commit_callbacks)
    export = ReportExport.objects.get()
    status_url = reverse("reports:export_status", args=[export.pk])

    waiting = _get_url(client, status_url).body.decode()
    assert "Waiting for a worker" in waiting
    assert 'http-equiv="refresh"' in waiting
    # Not ready yet: the download link leads back to the status page.
    assert _get_url(client, reverse("reports:export_download", args=[export.pk]))[
        "Location"] == status_url

    monkeypatch.setattr(background, "PROGRESS_EVERY", 2)
    _build(export.pk)
    export.refresh_from_db()
    assert export.state == ReportExport.State.READY
    assert export.rows_written == 4  # written at rows 2 and 4

    ready = _get_url(client, status_url).body.decode()
    assert 'http-equiv="refresh"' not in ready
    assert reverse("reports:export_download", args=[export.pk]) in ready
    assert "Ready: 4 incidents." in ready


def test_only_the_person_who_asked_sees_or_downloads_an_export(
        client, manager, product_manager, november, settings, queued,  # noqa: F811
        django_capture_on_commit_callbacks):
    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 1
    _ask_for_workbook(client, manager, django_capture_on_commit_callbacks)
    export = ReportExport.objects.get()
    _build(export.pk)

    client.force_login(product_manager)
    assert _get_url(client, reverse("reports:export_status", args=[export.pk])).status_code == 404
    assert _get_url(client, reverse("reports:export_download",
                                    args=[export.pk])).status_code == 404


def test_a_responder_may_not_see_an_export_page(client, responder, manager, november,  # noqa: F811
                                                settings, queued,
                                                django_capture_on_commit_callbacks):
    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 1
    _ask_for_workbook(client, manager, django_capture_on_commit_callbacks)
    client.force_login(responder)
    url = reverse("reports:export_status", args=[ReportExport.objects.get().pk])
    assert _get_url(client, url).status_code == 403


def test_asking_again_for_the_same_report_shows_the_export_already_on_its_way(
        client, manager, november, settings, queued,  # noqa: F811
        django_capture_on_commit_callbacks):
    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 1
    first = _ask_for_workbook(client, manager, django_capture_on_commit_callbacks)
    again = _ask_for_workbook(client, manager, django_capture_on_commit_callbacks)
    assert again["Location"] == first["Location"]
    assert ReportExport.objects.count() == 1 and len(queued) == 1

    other = _ask_for_workbook(client, manager, django_capture_on_commit_callbacks,
                              date_from="2026-11-02", date_to="2026-11-30")
    assert other["Location"] != first["Location"]
    assert ReportExport.objects.count() == 2


def test_a_build_that_cannot_be_done_says_why_and_offers_to_try_again(
        client, manager, november, checkout, settings, queued,  # noqa: F811
        django_capture_on_commit_callbacks):
    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 1
    _ask_for_workbook(client, manager, django_capture_on_commit_callbacks,
                      service="checkout", **NOVEMBER_QUERY)
    export = ReportExport.objects.get()
    checkout.delete()  # the filter's service is gone before the worker starts

    _build(export.pk)
    export.refresh_from_db()
    assert export.state == ReportExport.State.FAILED
    page = _get_url(client, reverse("reports:export_status", args=[export.pk])).body.decode()
    assert "The report can no longer be built" in page
    assert "Try again" in page
    assert 'http-equiv="refresh"' not in page


def test_an_unexpected_error_fails_the_export_instead_of_leaving_it_building(
        client, manager, november, settings, queued, monkeypatch,  # noqa: F811
        django_capture_on_commit_callbacks):
    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 1
    _ask_for_workbook(client, manager, django_capture_on_commit_callbacks)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(background.exports, "xlsx_report", broken)
    export = _build(ReportExport.objects.get().pk)
    assert export.state == ReportExport.State.FAILED
    assert "unexpected error" in export.error


def test_a_second_delivery_of_the_task_builds_nothing_while_the_first_holds_the_export(
        client, manager, november, settings, queued,  # noqa: F811
        django_capture_on_commit_callbacks):
    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 1
    _ask_for_workbook(client, manager, django_capture_on_commit_callbacks)
    export = ReportExport.objects.get()
    ReportExport.objects.filter(pk=export.pk).update(
        state=ReportExport.State.BUILDING, started_at=NOW - timedelta(minutes=5))
    assert _build(export.pk) is None  # another worker is on it

    # That worker died: once its lease has run out, a redelivered task takes over.
    ReportExport.objects.filter(pk=export.pk).update(
        started_at=NOW - background.BUILD_LEASE - timedelta(seconds=1))
    assert _build(export.pk).state == ReportExport.State.READY
    assert _build(export.pk) is None  # and a finished export is never built again


def test_the_tidy_up_asks_again_for_exports_no_worker_took_and_deletes_expired_ones(
        client, manager, november, settings, queued,  # noqa: F811
        django_capture_on_commit_callbacks):
    settings.REPORT_XLSX_DIRECT_MAX_ROWS = 1
    _ask_for_workbook(client, manager, django_capture_on_commit_callbacks)
    export = ReportExport.objects.get()
    queued.clear()

    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert background.exports_tidy() == (0, 0)  # a worker may still take it
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        assert background.exports_tidy() == (1, 0)
    assert queued == [export.pk]

    export = _build(export.pk)
    storage, name = export.file.storage, export.file.name
    assert storage.exists(name)
    keep = timedelta(hours=settings.REPORT_EXPORT_KEEP_HOURS)
    with time_machine.travel(NOW + keep - timedelta(minutes=1), tick=False):
        assert background.exports_tidy() == (0, 0)
    with time_machine.travel(NOW + keep + timedelta(minutes=1), tick=False):
        assert background.exports_tidy() == (0, 1)
    assert not ReportExport.objects.exists()
    assert not storage.exists(name)
