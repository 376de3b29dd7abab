"""On-call rotas: members take turns; overrides cover holidays and swaps."""

from __future__ import annotations

from datetime import time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents.durations import DAY, MINUTE, BoundedDurationField

from .clocks import validate_time_zone
from .keys import SluggedModel


class Rota(SluggedModel):
    """An on-call rotation: members take turns of `shift_length`, handing off at `handoff_time`
    on the wall clock of `time_zone` (so a 09:00 hand-off stays 09:00 across DST changes).

    A rota can also be a duty (seed 002's daily log checker): whoever is on it is asked to
    triage new incidents, and holds extra permissions for the length of the shift only."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, default="Europe/Amsterdam",
                                 validators=[validate_time_zone])
    handoff_time = models.TimeField(default=time(9, 0))
    shift_length = BoundedDurationField(default=timedelta(days=1), minimum=15 * MINUTE,
                                        maximum=90 * DAY, help_text="e.g. 1d, 7d or 12h.")
    rotation_start = models.DateField(
        default=timezone.localdate,
        help_text="The first member's first shift starts at the hand-off time on this date.",
    )
    fills_roles = models.ManyToManyField(
        "incidents.IncidentRole", blank=True, related_name="rotas",
        help_text="When an incident requires one of these roles and nobody holds it, whoever is "
                  "on call here is paged.",
    )
    asks_to_triage = models.BooleanField(
        "asked to triage new incidents", default=False,
        help_text="Whoever is on duty is asked to confirm the severity of each new incident "
                  "that has no incident manager, and to assign one (if they may triage).",
    )
    duty_permissions = models.ManyToManyField(
        "auth.Permission", blank=True, related_name="duty_rotas",
        help_text="What whoever is on duty may also do during their shift, whatever their "
                  "groups (e.g. triage, change severity, assign roles).",
    )
    history = HistoricalRecords(m2m_fields=[fills_roles, duty_permissions])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RotaMemberManager(models.Manager):
    def get_by_natural_key(self, rota_slug: str, username: str):
        return self.get(rota__slug=rota_slug, user__username=username)


class RotaMember(models.Model):
    rota = models.ForeignKey(Rota, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="rota_memberships")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()
    objects = RotaMemberManager()

    class Meta:
        ordering = ["rota", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["rota", "user"],
                                               name="one_membership_per_rota")]

    def __str__(self) -> str:
        return f"{self.rota}: {self.user} (#{self.order})"

    def natural_key(self) -> tuple:
        return (*self.rota.natural_key(), self.user.get_username())

    natural_key.dependencies = ["escalation.rota"]


class RotaOverride(models.Model):
    """Someone covers the rota from `starts_at` to `ends_at` (holiday swaps, sick leave)."""

    rota = models.ForeignKey(Rota, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="rota_overrides")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["rota", "starts_at", "ends_at"])]

    def __str__(self) -> str:
        return (f"{self.user} covers {self.rota} "
                f"{self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}")

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "An override must end after it starts."})
