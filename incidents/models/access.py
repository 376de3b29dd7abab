"""Who takes part in an incident. A restricted incident is visible to its participants, its
named groups and holders of `incidents.view_restricted_incidents`; the one rule that decides
this is `incidents.selectors.visible_incidents`.

A participant row stays when its reason ends (a responder leaving, a role handed on): they
have seen the incident already, and the war room keeps what they wrote."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .core import Incident


class IncidentParticipant(models.Model):
    class Reason(models.TextChoices):
        REPORTER = "reporter", "Reporter"
        ROLE = "role", "Role holder"
        RESPONDER = "responder", "Responder"
        PAGED = "paged", "Paged"
        ESCALATED = "escalated", "Escalated to"
        ADDED = "added", "Added"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="incident_participations")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Also the index behind the visibility EXISTS (incident = outer row, user = viewer).
            models.UniqueConstraint(fields=["incident", "user"], name="one_participation_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} on incident {self.incident_id} ({self.get_reason_display()})"
