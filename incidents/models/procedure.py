"""The record of every procedure file applied: which procedure is active, and how it got so."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ProcedureRevision(models.Model):
    """One applied procedure file (a preset loaded by name, or a file imported). The newest
    row names the procedure the portal runs; every configuration row it changed also has the
    reason in its own history."""

    name = models.CharField(max_length=200, help_text="The procedure's name, from its file.")
    preset = models.CharField(max_length=100, blank=True,
                              help_text="The preset it was loaded from, if any.")
    applied_at = models.DateTimeField(default=timezone.now, db_index=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=200)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the file applied.")
    changes = models.TextField(blank=True, help_text="What the import changed, one line each.")

    class Meta:
        ordering = ["-applied_at", "-id"]
        get_latest_by = "applied_at"
        permissions = [("switch_procedure", "Can preview and switch the active procedure")]

    def __str__(self) -> str:
        return f"{self.name} ({timezone.localtime(self.applied_at):%Y-%m-%d %H:%M})"

    @classmethod
    def active(cls) -> ProcedureRevision | None:
        return cls.objects.order_by("-applied_at", "-id").first()
