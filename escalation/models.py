"""Timers and the notification outbox: the database is the source of truth for both.

`Deadline` rows are swept by one beat task (`escalation.deadlines.deadlines_sweep`);
`Notification` rows are the transactional outbox, delivered by workers. Below them: SLA clocks,
business calendars, escalation levels, policies and impact rules, escalation events and on-call
rotas (configuration is data that managers edit in the admin)."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from datetime import timedelta
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents.durations import DAY, MINUTE, YEAR, BoundedDurationField

from . import sla

PENDING = Q(fired_at__isnull=True, cancelled_at__isnull=True)


class Deadline(models.Model):
    """A timer: at `due_at` the handler registered for `kind` runs, exactly once.

    `subject` is what the timer is about (an incident, a post-mortem, an action item, ...);
    `key` names the timer within its subject, so rescheduling replaces the pending one."""

    kind = models.CharField(max_length=64, db_index=True)
    key = models.CharField(max_length=200)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, null=True, blank=True,
        related_name="deadlines",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            # The sweep reads only pending rows by due time, so its cost follows the number of
            # due timers, not the number of incidents or of timers ever fired.
            models.Index(fields=["due_at"], condition=PENDING, name="deadline_pending_due_idx"),
            models.Index(fields=["content_type", "object_id"], name="deadline_subject_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "key"], condition=PENDING,
                name="deadline_one_pending_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_pending(self) -> bool:
        return self.fired_at is None and self.cancelled_at is None

    @property
    def acts_at(self):
        """The moment the timer stands for: its due time, kept in the payload when a failed
        attempt moved `due_at` later for the retry (handlers act as at this moment)."""
        first = self.payload.get("acts_at")
        return datetime.fromisoformat(first) if first else self.due_at


class Heartbeat(models.Model):
    """When a periodic job last completed, for the health page and the admin warning."""

    name = models.CharField(max_length=64, primary_key=True)
    last_run_at = models.DateTimeField()
    last_duration_ms = models.PositiveIntegerField(default=0)
    last_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class Notification(models.Model):
    """Outbox row: one message for one recipient on one channel about one subject and reason.

    `dedup_key` is unique, so the same (subject, reason, recipient, channel) is queued once,
    however often a timer or a retried task asks for it."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        INAPP = "inapp", "In-app"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    dedup_key = models.CharField(max_length=255, unique=True)
    idempotency_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
        related_name="notifications",
    )
    webhook = models.ForeignKey(
        "escalation.WebhookEndpoint", on_delete=models.CASCADE, null=True, blank=True,
        related_name="notifications",
    )
    # Someone without a login (a client, a partner team): e-mail only, no link to the portal.
    to_address = models.EmailField(blank=True)
    to_name = models.CharField(max_length=120, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, null=True, blank=True,
        related_name="notifications",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    reason = models.CharField(max_length=120)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"),
                name="notification_due_idx",
            ),
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox_idx"),
        ]

    def __str__(self) -> str:
        target = self.recipient or self.webhook or self.to_address
        return f"{self.get_channel_display()} to {target}: {self.title}"


class WebhookEndpoint(models.Model):
    """An incoming webhook that managers configure: Slack, Microsoft Teams or signed JSON."""

    class Format(models.TextChoices):
        SLACK = "slack", "Slack incoming webhook"
        TEAMS = "teams", "Microsoft Teams incoming webhook"
        JSON = "json", "Generic JSON (HMAC-SHA256 signed)"

    name = models.CharField(max_length=100, unique=True)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.JSON)
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=200, blank=True, help_text="Signs generic JSON payloads (X-Webhook-Signature)."
    )
    is_active = models.BooleanField(default=True)
    min_severity_rank = models.PositiveSmallIntegerField(
        default=3, help_text="Receive incidents at this severity rank or more severe (0 = P0 only)."
    )
    history = HistoricalRecords(excluded_fields=["secret"])  # who pointed alerts where, and when

    def __str__(self) -> str:
        return self.name


class NotificationPreference(models.Model):
    """How a person wants to be told. In-app notifications are always on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.BooleanField(default=True, help_text="Also send notifications by email.")
    weekly_summary = models.BooleanField(
        default=False, help_text="Email me the weekly management summary (managers)."
    )
    monthly_summary = models.BooleanField(
        default=False, help_text="Email me the monthly management summary (managers)."
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class DeliveryAttempt(models.Model):
    """One try at delivering a notification, kept for the admin and for debugging."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts_log"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-attempted_at"]


# --- SLA clocks, escalation and on-call rotas ------------------------------------------------
# Configuration rows (calendars, levels, policies, rules, rotas) are edited by managers in the
# admin; clocks and escalation events are written only by `escalation.services` and handlers.


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"“{value}” is not a time zone name such as Europe/Amsterdam.")


class BusinessCalendar(models.Model):
    """Working days and hours in a time zone, with holidays: what a business-hours clock counts."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="Europe/Amsterdam",
                                 validators=[validate_time_zone])
    monday = models.BooleanField(default=True)
    tuesday = models.BooleanField(default=True)
    wednesday = models.BooleanField(default=True)
    thursday = models.BooleanField(default=True)
    friday = models.BooleanField(default=True)
    saturday = models.BooleanField(default=False)
    sunday = models.BooleanField(default=False)
    day_start = models.TimeField(default=time(9, 0))
    day_end = models.TimeField(default=time(17, 0))
    holiday_country = models.CharField(
        max_length=8, blank=True,
        help_text="Also skip this country's public holidays (ISO code, e.g. NL), besides the "
                  "holidays listed below.",
    )
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    is_default = models.BooleanField(
        default=False, help_text="Used by every business-hours SLA clock and escalation step."
    )
    history = HistoricalRecords()

    WEEKDAY_FIELDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="one_default_business_calendar"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.day_start and self.day_end and self.day_end <= self.day_start:
            raise ValidationError({"day_end": "The working day must end after it starts."})
        if self.holiday_country:
            import holidays

            if self.holiday_country.upper() not in holidays.list_supported_countries():
                raise ValidationError({"holiday_country": "Unknown country code."})

    def working_calendar(self) -> sla.WorkingCalendar:
        return sla.WorkingCalendar(
            time_zone=ZoneInfo(self.time_zone),
            working_days=frozenset(
                i for i, name in enumerate(self.WEEKDAY_FIELDS) if getattr(self, name)),
            day_start=self.day_start,
            day_end=self.day_end,
            holidays=frozenset(self.holidays.values_list("date", flat=True)),
            country=self.holiday_country.upper(),
            subdivision=self.holiday_subdivision,
            name=self.name,
        )


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE,
                                 related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"],
                                               name="one_holiday_per_calendar_day")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class SlaClock(models.Model):
    """One SLA target of one incident: respond (triage) or resolve, and how it went.

    `due_at` and `at_risk_at` are computed when the clock starts or the severity changes, so
    status and the dashboard's "at risk / breached" lists are plain indexed queries."""

    class Kind(models.TextChoices):
        RESPONSE = "response", "Response"
        RESOLUTION = "resolution", "Resolution"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE,
                                 related_name="sla_clocks")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    clock = models.CharField(max_length=20, default=sla.ALWAYS,
                             choices=[(sla.ALWAYS, "24x7"), (sla.BUSINESS_HOURS, "Business hours")])
    target = models.DurationField()
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    at_risk_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    breach_by = models.DurationField(
        null=True, blank=True,
        help_text="How late: at the breach, the sweep's delay; once met, met time minus due time.",
    )
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="The incident was cancelled or marked a duplicate."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["incident", "kind"]
        verbose_name = "SLA clock"
        constraints = [models.UniqueConstraint(fields=["incident", "kind"],
                                               name="one_sla_clock_per_kind")]
        indexes = [
            models.Index(fields=["due_at"],
                         condition=Q(met_at__isnull=True, stopped_at__isnull=True),
                         name="slaclock_running_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} SLA due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_running(self) -> bool:
        return self.met_at is None and self.stopped_at is None

    @property
    def is_immediate(self) -> bool:
        """An "immediate" response (a target of 0): paged at declaration and measured by the
        time to acknowledge; with no time to miss, it never breaches."""
        return not self.target


class Rota(models.Model):
    """An on-call rotation: members take turns of `shift_length`, handing off at `handoff_time`
    on the wall clock of `time_zone` (so a 09:00 hand-off stays 09:00 across DST changes)."""

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
    history = HistoricalRecords(m2m_fields=[fills_roles])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RotaMember(models.Model):
    rota = models.ForeignKey(Rota, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="rota_memberships")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["rota", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["rota", "user"],
                                               name="one_membership_per_rota")]

    def __str__(self) -> str:
        return f"{self.rota}: {self.user} (#{self.order})"


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


class EscalationLevel(models.Model):
    """Who is called at each level (seed 004: L1 first-line ... L4 executive): named people,
    everyone in some groups, and whoever is on call on a rota at that moment."""

    number = models.PositiveSmallIntegerField(unique=True, help_text="1 is the first line.")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                   related_name="escalation_levels")
    groups = models.ManyToManyField("auth.Group", blank=True, related_name="escalation_levels")
    rota = models.ForeignKey(Rota, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="escalation_levels",
                             help_text="Whoever is on call on this rota is also called.")
    history = HistoricalRecords(m2m_fields=[users, groups])

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"L{self.number} {self.name}"


class LevelResponseTime(models.Model):
    """How fast a level is expected to respond to an escalation at a severity (seed 004, e.g.
    L2: 15 minutes for critical). Unanswered by then, the level and incident manager are
    reminded."""

    level = models.ForeignKey(EscalationLevel, on_delete=models.CASCADE,
                              related_name="response_times")
    severity = models.ForeignKey("incidents.SeverityLevel", on_delete=models.CASCADE,
                                 related_name="escalation_response_times")
    response_time = BoundedDurationField(maximum=YEAR)
    history = HistoricalRecords()

    class Meta:
        ordering = ["level", "severity__rank"]
        constraints = [models.UniqueConstraint(fields=["level", "severity"],
                                               name="one_response_time_per_level_severity")]

    def __str__(self) -> str:
        return f"{self.level} at {self.severity.code}: {self.response_time}"


class StepClock(models.TextChoices):
    SEVERITY = "severity", "The severity's clock"
    ALWAYS = sla.ALWAYS, "24x7"
    BUSINESS_HOURS = sla.BUSINESS_HOURS, "Business hours"


class EscalationPolicy(models.Model):
    """The timed escalation steps for incidents of one severity."""

    severity = models.OneToOneField("incidents.SeverityLevel", on_delete=models.CASCADE,
                                    related_name="escalation_policy")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["severity__rank"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    """After `delay` from the incident's start (declaration) or from an SLA breach, escalate
    to `level` unless the incident is resolved by then."""

    class Anchor(models.TextChoices):
        START = "start", "Incident start (declaration)"
        RESPONSE_BREACH = "response_breach", "Response SLA breach"
        RESOLUTION_BREACH = "resolution_breach", "Resolution SLA breach"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=0)
    anchor = models.CharField(max_length=20, choices=Anchor.choices, default=Anchor.START)
    delay = BoundedDurationField(maximum=YEAR, help_text="e.g. 2h; on a business-hours clock "
                                                         "1d = 1 business day.")
    clock = models.CharField(max_length=20, choices=StepClock.choices, default=StepClock.SEVERITY)
    level = models.ForeignKey(EscalationLevel, on_delete=models.PROTECT, related_name="steps")
    action = models.CharField(max_length=200, help_text="What the level is asked to do.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["policy", "order", "delay"]

    def __str__(self) -> str:
        return f"{self.policy}: {self.action} ({self.level})"


class ImpactRule(models.Model):
    """Seed 004 impact-based triggers: when an incident has this impact, escalate to `level`
    after `delay` (0 = at once) unless it is resolved first. Fires once per incident."""

    class Condition(models.TextChoices):
        CUSTOMER_FACING = "customer_facing", "Customer-affecting"
        SECURITY = "security", "Security incident"
        REVENUE = "revenue", "Revenue-impacting"
        DATA_INTEGRITY = "data_integrity", "Data integrity"
        COMPLIANCE = "compliance", "Compliance violation"

    name = models.CharField(max_length=100)
    condition = models.CharField(max_length=20, choices=Condition.choices)
    delay = BoundedDurationField(default=timedelta(0), maximum=YEAR)
    level = models.ForeignKey(EscalationLevel, on_delete=models.PROTECT,
                              related_name="impact_rules")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["delay", "name"]

    def __str__(self) -> str:
        return self.name

    def matches(self, incident) -> bool:
        condition = self.Condition(self.condition)
        if condition == self.Condition.CUSTOMER_FACING:
            return bool(incident.is_customer_facing or (incident.customers_affected or 0) > 0)
        if condition == self.Condition.SECURITY:
            return bool(incident.is_security or incident.incident_type.code == "security")
        if condition == self.Condition.REVENUE:
            return (incident.revenue_impact_per_hour or 0) > 0
        if condition == self.Condition.DATA_INTEGRITY:
            return bool(incident.is_data_integrity)
        return bool(incident.is_compliance)


class EscalationEvent(models.Model):
    """One escalation of an incident to a level: by a policy step, an impact rule or a person."""

    class Source(models.TextChoices):
        STEP = "step", "Policy step"
        RULE = "rule", "Impact rule"
        MANUAL = "manual", "Manual"

    class ReasonCategory(models.TextChoices):
        TIME = "time", "Time without resolution"
        SLA_BREACH = "sla_breach", "SLA breached"
        IMPACT = "impact", "Impact"
        COMPLEXITY = "complexity", "Complexity"
        RESOURCES = "resources", "Resources"
        BUSINESS_IMPACT = "business_impact", "Business impact"
        SECURITY = "security", "Security"

    MANUAL_REASONS = (ReasonCategory.COMPLEXITY, ReasonCategory.RESOURCES,
                      ReasonCategory.BUSINESS_IMPACT, ReasonCategory.SECURITY)

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE,
                                 related_name="escalations")
    level = models.ForeignKey(EscalationLevel, on_delete=models.PROTECT, related_name="events")
    source = models.CharField(max_length=10, choices=Source.choices)
    step = models.ForeignKey(EscalationStep, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="events")
    rule = models.ForeignKey(ImpactRule, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="events")
    reason_category = models.CharField(max_length=20, choices=ReasonCategory.choices)
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                           blank=True, related_name="escalations_made")
    at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                        null=True, blank=True,
                                        related_name="escalations_acknowledged")
    reminded_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"])]
        permissions = [("escalate_incident", "Can escalate an incident by hand")]

    def __str__(self) -> str:
        return f"{self.incident_id} to {self.level} at {self.at:%Y-%m-%d %H:%M}"
