"""A form submitted once: the answer to the first POST of a one-time form token, kept so that a
repeat of the same POST (a double click, a reload that re-posts, a retry over a slow network) is
answered with that first result instead of doing the work twice. See `incidents.once`."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FormSubmission(models.Model):
    token = models.UUIDField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField(null=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "form submission"

    def __str__(self) -> str:
        return f"{self.path} ({self.status})"
