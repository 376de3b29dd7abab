"""A report export built in the background: an XLSX workbook too big to write while a web
worker waits (see incidents.reports.background). The row is the job and, once built, points at
the file in the "exports" storage; its requester downloads it from the status page."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import storages
from django.db import models


def exports_storage():
    """STORAGES["exports"]: a folder web and worker processes share (or any Django storage)."""
    return storages["exports"]


class ReportExport(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Being built"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    FINISHED_STATES = (State.READY, State.FAILED)

    # The id is the URL of the status page and the download: not guessable, and only the
    # requester is let in anyway.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="+")
    requested_at = models.DateTimeField(db_index=True)
    query = models.JSONField(help_text="The report's period and filters as GET parameters.")
    description = models.CharField(max_length=300)
    filename = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    rows_expected = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(storage=exports_storage, upload_to="reports/", blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "report export"
        indexes = [models.Index(fields=["state", "requested_at"], name="report_export_state")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_state_display()})"

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES

    @property
    def percent_done(self) -> int:
        if self.state == self.State.READY:
            return 100
        if not self.rows_expected:
            return 0
        return min(99, self.rows_written * 100 // self.rows_expected)
