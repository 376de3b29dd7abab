"""Report workbooks too big to write while a web worker waits, built by a Celery worker instead.

The XLSX export of more than settings.REPORT_XLSX_DIRECT_MAX_ROWS incidents becomes a
ReportExport row: the requester is sent to its status page, which refreshes itself and shows
the rows written so far, then the download. The worker builds exactly what the direct export
would have sent (the same writer, the same period, filters and viewer).

Failure handling, so no export is lost or built twice at once:
- the worker claims the row (SKIP LOCKED) before building; a second delivery of the task finds
  it claimed and does nothing;
- a worker killed mid-build leaves the row "building"; Celery redelivers the task (late
  acknowledgement) and the claim takes over a build whose lease ran out;
- a message lost on the way to the broker leaves the row "queued": the beat's tidy-up asks again;
- any error marks the row failed with a sentence for the requester (the traceback is logged).
The tidy-up also deletes exports, and their files, after settings.REPORT_EXPORT_KEEP_HOURS."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from incidents.models import ReportExport

from . import exports, metrics
from .expressions import without_jit
from .forms import ReportFilterForm

logger = logging.getLogger(__name__)

# Longer than any build may take (the task's hard time limit is 15 minutes).
BUILD_LEASE = timedelta(minutes=20)
# A queued export whose message never reached a worker is asked for again after this long.
REASK_AFTER = timedelta(minutes=2)
# The row's progress is written every this many incident rows (one UPDATE each).
PROGRESS_EVERY = 2000
# A repeated click on the XLSX link within this time shows the same export again.
REUSE_WITHIN = timedelta(minutes=10)
UNEXPECTED = ("The workbook could not be built because of an unexpected error, which was "
              "logged. Try again, or export the CSV tables instead.")


class ExportFailed(Exception):
    """A reason the export cannot be built, in words for its requester."""


def builds_in_background(form: ReportFilterForm) -> bool:
    """True when the report covers more incidents than a web worker writes while one waits.
    Counts at most one row past the threshold, whatever the period's size."""
    limit = settings.REPORT_XLSX_DIRECT_MAX_ROWS
    incidents = metrics.incidents_declared(form.period, form.filters)
    return incidents[: limit + 1].count() > limit


def export_request(*, by, form: ReportFilterForm, filename: str,
                   now: datetime | None = None) -> ReportExport:
    """The XLSX export of the form's report for `by`, queued for a worker; the same one again
    when `by` asked for the same report a moment ago and it is not failed (a reload or a second
    click must not build the workbook twice)."""
    now = now or timezone.now()
    query = form.query()
    recent = (
        ReportExport.objects.filter(requested_by=by, query=query,
                                    requested_at__gte=now - REUSE_WITHIN)
        .exclude(state=ReportExport.State.FAILED).order_by("-requested_at").first()
    )
    if recent is not None:
        return recent
    with transaction.atomic():
        export = ReportExport.objects.create(
            requested_by=by, requested_at=now, query=query, filename=filename,
            description=f"{form.period.label} · {form.filters.describe()}"[:300],
            rows_expected=metrics.incidents_declared(form.period, form.filters).count(),
        )
        transaction.on_commit(lambda: ask_worker(export.pk))
    return export


def ask_worker(export_id) -> None:
    """Queue the build. Best effort: if the broker is down, the beat's tidy-up asks again."""
    from .tasks import build_report_export

    try:
        build_report_export.apply_async(args=[str(export_id)], retry=False)
    except Exception:  # noqa: BLE001 - the row is safe; exports_tidy asks again
        logger.warning("Could not queue report export %s; the beat will ask again.", export_id,
                       exc_info=True)


def export_build(export_id, *, now: datetime | None = None) -> ReportExport | None:
    """Build the export's workbook and store it; None when there is nothing to do (it is
    finished, or another worker holds it)."""
    export = _claim(export_id, now or timezone.now())
    if export is None:
        return None
    try:
        workbook = _write_workbook(export)
    except ExportFailed as exc:
        return _failed(export, str(exc))
    except Exception:  # noqa: BLE001 - any error must reach the requester, not leave it spinning
        logger.exception("Report export %s failed", export.pk)
        return _failed(export, UNEXPECTED)
    with workbook:
        export.file.save(export.filename, File(workbook), save=False)
    export.state = ReportExport.State.READY
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "state", "finished_at"])
    return export


def _claim(export_id, now: datetime) -> ReportExport | None:
    claimable = Q(state=ReportExport.State.QUEUED) | Q(state=ReportExport.State.BUILDING,
                                                       started_at__lt=now - BUILD_LEASE)
    with transaction.atomic():
        export = (ReportExport.objects.select_for_update(skip_locked=True)
                  .filter(claimable, pk=export_id).first())
        if export is None:
            return None
        export.state = ReportExport.State.BUILDING
        export.started_at = now
        export.rows_written = 0
        export.save(update_fields=["state", "started_at", "rows_written"])
    return export


def _write_workbook(export: ReportExport):
    form = ReportFilterForm(dict(export.query))
    if not form.is_valid():
        # E.g. a service or severity in the filters was deleted since the export was asked for.
        raise ExportFailed(f"The report can no longer be built: {form.error_text()}")
    filters = replace(form.filters, viewer=export.requested_by)
    now = timezone.now()
    with without_jit():
        summary = metrics.report_summary(form.period, filters, now)
        return exports.xlsx_report(summary, form.period, filters, now,
                                   progress=_progress_writer(export))


def _progress_writer(export: ReportExport) -> Callable[[int], None]:
    def written(rows: int) -> None:
        if rows % PROGRESS_EVERY == 0:
            ReportExport.objects.filter(pk=export.pk).update(rows_written=rows)

    return written


def _failed(export: ReportExport, reason: str) -> ReportExport:
    export.state = ReportExport.State.FAILED
    export.error = reason
    export.finished_at = timezone.now()
    export.save(update_fields=["state", "error", "finished_at"])
    return export


def exports_tidy(now: datetime | None = None) -> tuple[int, int]:
    """Ask again for exports no worker took up, and delete expired ones with their files.
    Returns (asked again, deleted). Bounded work per run: the beat runs it every few minutes."""
    now = now or timezone.now()
    stuck = ReportExport.objects.filter(
        Q(state=ReportExport.State.QUEUED, requested_at__lt=now - REASK_AFTER)
        | Q(state=ReportExport.State.BUILDING, started_at__lt=now - BUILD_LEASE)
    ).values_list("pk", flat=True)[:50]
    asked = 0
    for export_id in stuck:
        ask_worker(export_id)
        asked += 1
    expired = ReportExport.objects.filter(
        requested_at__lt=now - timedelta(hours=settings.REPORT_EXPORT_KEEP_HOURS))[:200]
    deleted = 0
    for export in expired:
        if export.file:
            export.file.delete(save=False)
        export.delete()
        deleted += 1
    return asked, deleted
