"""Incidents: severities and services as data, the incident with its lifecycle, and its timeline.

Models hold state and invariants only; every write goes through `incidents.services`."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from .. import guards
from ..durations import MINUTE, YEAR, BoundedDurationField, format_duration
from .procedure import CodeNamedManager, IncidentType, default_incident_type


class SeverityLevelQuerySet(models.QuerySet):
    def active(self):
        """The levels offered when declaring, triaging and changing severity."""
        return self.filter(is_active=True)


SeverityLevelManager = CodeNamedManager.from_queryset(SeverityLevelQuerySet)


class SeverityLevel(models.Model):
    """A severity with its SLA targets, and what it means for firefighting and the public
    status page. Rank 0 is the most severe.

    SLA targets are optional: an empty target means no SLA for that level (seed 000's P2
    "sprint" and P3 "backlog"): no clock runs, pages say "no SLA", and compliance counts the
    incident neither met nor breached. A response target of 0 means "immediate" (seed 003's
    P0): see `is_immediate_response`."""

    class Clock(models.TextChoices):
        ALWAYS = "24x7", "24x7"
        BUSINESS_HOURS = "business_hours", "Business hours"

    class Firefighting(models.TextChoices):
        NO = "no", "No"
        FROM_DECLARATION = "declared", "Yes, from declaration (unconfirmed incidents count)"
        FROM_CONFIRMATION = "confirmed", "Yes, once triage confirms the severity"

    class PublicStatus(models.TextChoices):
        OUTAGE = "outage", "Outage"
        DEGRADED = "degraded", "Degraded performance"
        OPERATIONAL = "operational", "Operational (not shown as affected)"

    code = models.CharField(max_length=8, unique=True, help_text="Short code, e.g. P0.")
    name = models.CharField(max_length=60)
    rank = models.PositiveSmallIntegerField(
        help_text="0 is the most severe. Unique among the active levels.")
    is_active = models.BooleanField(
        default=True,
        help_text="Inactive levels are no longer offered; incidents that have one keep it, "
                  "with its clocks (a procedure switch retires the levels it no longer lists).",
    )
    description = models.TextField(blank=True)
    examples = models.TextField(blank=True, help_text="One example per line.")
    response_target = BoundedDurationField(
        null=True, blank=True, maximum=YEAR,
        help_text="Time to acknowledge and triage. Empty: no response SLA. 0 or "
                  "\u201cimmediate\u201d: whoever a breach would reach is paged at declaration "
                  "and the time to acknowledge is recorded, but the clock never breaches "
                  "(there is no time to miss), so compliance does not count it.",
    )
    resolution_target = BoundedDurationField(
        null=True, blank=True, minimum=MINUTE, maximum=YEAR,
        help_text="Time to resolve. Empty: no resolution SLA.",
    )
    at_risk_percent = models.PositiveSmallIntegerField(
        "at risk after (%)", null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="An SLA clock turns \u201cat risk\u201d after this share of its time "
                  "(1\u201399). Empty: the portal default (FIREBREAK_SLA_AT_RISK_SHARE, 75%).",
    )
    firefighting = models.CharField(
        max_length=10, choices=Firefighting.choices, default=Firefighting.NO,
        help_text="While an open incident of this level exists the team is in firefighting "
                  "mode (the red banner on every page). Seed 002 counts from confirmation.",
    )
    public_status = models.CharField(
        "on the public status page", max_length=12, choices=PublicStatus.choices,
        default=PublicStatus.DEGRADED,
        help_text="How the public services an open incident of this level affects are shown.",
    )
    update_cadence = BoundedDurationField(
        null=True, blank=True, help_text="How often stakeholders get a status update.",
        minimum=MINUTE, maximum=YEAR,
    )
    clock = models.CharField(max_length=20, choices=Clock.choices, default=Clock.ALWAYS)
    postmortem_required = models.BooleanField(default=False)
    postmortem_due_within = BoundedDurationField(null=True, blank=True, minimum=MINUTE,
                                                 maximum=YEAR)
    history = HistoricalRecords()
    objects = SeverityLevelManager()

    class Meta:
        ordering = ["rank", "code"]
        constraints = [
            # Retired levels keep their rank for their incidents' sake; only the levels in use
            # must be ordered unambiguously.
            models.UniqueConstraint(
                fields=["rank"], condition=models.Q(is_active=True),
                name="one_active_severity_per_rank",
                violation_error_message="Another active severity level has this rank."),
        ]

    def natural_key(self):
        return (self.code,)

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"

    @property
    def example_list(self) -> list[str]:
        return [line.strip() for line in self.examples.splitlines() if line.strip()]

    def change_from(self, old: SeverityLevel) -> str:
        """How going from `old` to this level reads: "raised" to a more urgent level (a lower
        rank), "lowered", or "changed" between a retired level and the one in use at its rank."""
        if self.rank == old.rank:
            return "changed"
        return "raised" if self.rank < old.rank else "lowered"

    @classmethod
    def top(cls) -> SeverityLevel | None:
        return cls.objects.active().order_by("rank").first()

    @property
    def is_immediate_response(self) -> bool:
        return self.response_target is not None and not self.response_target

    def target_text(self, kind: str) -> str:
        """"no SLA", "immediate", or the target as typed ("4h", "1 business day")."""
        target = getattr(self, f"{kind}_target")
        if target is None:
            return "no SLA"
        if not target:
            return "immediate"
        return format_duration(target, business_days=self.clock == self.Clock.BUSINESS_HOURS)

    @property
    def response_target_text(self) -> str:
        return self.target_text("response")

    @property
    def resolution_target_text(self) -> str:
        return self.target_text("resolution")


class ServiceManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Service(models.Model):
    """A system an incident can affect, with the people who answer for it. A role required at
    declaration can be filled from them (see `RoleRequirement`)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_critical_path = models.BooleanField(
        default=False, help_text="Payments, registration and other paths whose failure is severe."
    )
    is_public = models.BooleanField(default=True, help_text="Listed on the public status page.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="services_owned",
        help_text="Answers for the service (seed 000's repository owner).",
    )
    technical_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="services_led",
    )
    team = models.ForeignKey(
        "auth.Group", on_delete=models.SET_NULL, null=True, blank=True, related_name="services",
        help_text="The team that builds and runs the service.",
    )
    history = HistoricalRecords()
    objects = ServiceManager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def natural_key(self):
        return (self.slug,)


class ReferenceCounter(models.Model):
    """Last number handed out per year, for references like INC-2026-0042."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)


class IncidentQuerySet(models.QuerySet):
    def open(self):
        return self.filter(state__in=Incident.OPEN_STATES)

    def closed_out(self):
        return self.exclude(state__in=Incident.OPEN_STATES)


class Incident(ConcurrentTransitionMixin, models.Model):
    class State(models.TextChoices):
        REPORTED = "reported", "Reported"
        TRIAGED = "triaged", "Triaged"
        INVESTIGATING = "investigating", "Investigating"
        MITIGATED = "mitigated", "Mitigated"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"
        DUPLICATE = "duplicate", "Duplicate"

    class RootCause(models.TextChoices):
        UNKNOWN = "", "Not yet known"
        CODE = "code", "Code defect"
        DEPLOYMENT = "deployment", "Deployment or release"
        CONFIGURATION = "configuration", "Configuration"
        DATABASE = "database", "Database"
        AUTH = "auth", "Authentication or authorisation"
        CAPACITY = "capacity", "Capacity or performance"
        NETWORK = "network", "Network"
        THIRD_PARTY = "third_party", "Third-party dependency"
        SECURITY = "security", "Security"
        HUMAN = "human", "Human or process error"

    OPEN_STATES = (State.REPORTED, State.TRIAGED, State.INVESTIGATING, State.MITIGATED)
    EARLY_STATES = (State.REPORTED, State.TRIAGED, State.INVESTIGATING)
    ACTIVE_STATES = (State.TRIAGED, State.INVESTIGATING, State.MITIGATED)

    reference = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    severity = models.ForeignKey(SeverityLevel, on_delete=models.PROTECT, related_name="incidents")
    services = models.ManyToManyField(Service, blank=True, related_name="incidents")
    state = FSMField(
        max_length=20, choices=State.choices, default=State.REPORTED, protected=True, db_index=True
    )
    # Bumped on every write; forms carry it so a stale edit is refused instead of overwriting.
    version = models.PositiveIntegerField(default=1, editable=False)

    # Roles
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incidents_reported"
    )
    incident_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents_managed",
    )
    communications_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents_communicating",
    )
    scribe = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents_scribed",
    )
    responders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="incidents_responding"
    )

    # Impact
    customers_affected = models.PositiveIntegerField(null=True, blank=True)
    customers_affected_pct = models.DecimalField(
        "customers affected (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    revenue_impact_per_hour = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(max_length=3, default="EUR")
    incident_type = models.ForeignKey(
        IncidentType, on_delete=models.PROTECT, related_name="incidents",
        default=default_incident_type, verbose_name="type",
    )
    root_cause_category = models.CharField(
        max_length=20, choices=RootCause.choices, blank=True, default=RootCause.UNKNOWN
    )
    is_customer_facing = models.BooleanField("customer-facing", default=False)
    is_security = models.BooleanField("security", default=False)
    is_data_integrity = models.BooleanField("data integrity", default=False)
    is_compliance = models.BooleanField("compliance", default=False)

    # Times
    detected_at = models.DateTimeField(default=timezone.now)
    declared_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    workaround = models.TextField(blank=True)
    resolution_summary = models.TextField(blank=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates"
    )

    # Visibility: see models/access.py and selectors.visible_incidents. Changed only by
    # services.incident_set_visibility (history with reason, timeline entry).
    is_restricted = models.BooleanField(
        "restricted", default=False,
        help_text="Only participants, the groups named here and holders of “view all "
                  "restricted incidents” see a restricted incident.",
    )
    visible_to_groups = models.ManyToManyField(
        "auth.Group", blank=True, related_name="restricted_incidents",
        help_text="Groups that may see the incident while it is restricted.",
    )

    # History rows copy the protected state field; FSMModelMixin lets them be loaded.
    history = HistoricalRecords(bases=[FSMModelMixin, models.Model], excluded_fields=["version"])
    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-declared_at"]
        indexes = [
            models.Index(fields=["state", "severity"]),
            models.Index(fields=["incident_manager", "state"]),
            # The admin's and the list's order (-declared_at, -pk), read backwards.
            models.Index(fields=["declared_at", "id"]),
            # Recently resolved (the dashboard, the status page): the newest resolutions first.
            models.Index(fields=["resolved_at"]),
            # And, on PostgreSQL only, trigram indexes on UPPER(reference), UPPER(title) and
            # UPPER(description) for the list's search (migration 0026: SQLite has none).
        ]
        permissions = [
            ("declare_incident", "Can declare an incident"),
            ("triage_incident", "Can triage an incident"),
            ("work_incident", "Can investigate, mitigate and resolve an incident"),
            ("close_incident", "Can close an incident"),
            ("reopen_incident", "Can reopen a resolved incident"),
            ("cancel_incident", "Can cancel an incident or mark it a duplicate"),
            ("change_incident_severity", "Can change an incident's severity"),
            ("assign_incident_roles", "Can assign incident roles"),
            ("view_reports", "Can view reports and dashboards"),
            ("export_reports", "Can export stakeholder reports"),
            ("view_restricted_incidents", "Can view all restricted incidents"),
            ("change_incident_visibility", "Can restrict an incident or open it to all staff"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", kwargs={"reference": self.reference})

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    # --- Lifecycle ------------------------------------------------------------------------
    # Transitions only move the state and stamp times; `incidents.services` wraps them with
    # locking, permission checks, history, timeline and side effects. Conditions delegate to
    # `guards`, so other apps (checklists, post-mortems) can add reasons to refuse.

    @transition(
        field=state,
        source=State.REPORTED,
        target=State.TRIAGED,
        permission="incidents.triage_incident",
        conditions=[guards.condition("triage")],
        custom={"label": "Triage", "verb": "triaged"},
    )
    def triage(self):
        self.acknowledged_at = self.acknowledged_at or timezone.now()

    @transition(
        field=state,
        source=State.TRIAGED,
        target=State.INVESTIGATING,
        permission="incidents.work_incident",
        conditions=[guards.condition("investigate")],
        custom={"label": "Start investigating", "verb": "moved to investigating"},
    )
    def investigate(self):
        pass

    @transition(
        field=state,
        source=[State.TRIAGED, State.INVESTIGATING],
        target=State.MITIGATED,
        permission="incidents.work_incident",
        conditions=[guards.condition("mitigate")],
        custom={"label": "Mark mitigated", "verb": "mitigated"},
    )
    def mitigate(self):
        self.mitigated_at = timezone.now()

    @transition(
        field=state,
        source=[State.TRIAGED, State.INVESTIGATING, State.MITIGATED],
        target=State.RESOLVED,
        permission="incidents.work_incident",
        conditions=[guards.condition("resolve")],
        custom={"label": "Resolve", "verb": "resolved"},
    )
    def resolve(self):
        now = timezone.now()
        self.mitigated_at = self.mitigated_at or now
        self.resolved_at = now

    @transition(
        field=state,
        source=State.RESOLVED,
        target=State.INVESTIGATING,
        permission="incidents.reopen_incident",
        conditions=[guards.condition("reopen")],
        custom={"label": "Reopen", "verb": "reopened"},
    )
    def reopen(self):
        self.resolved_at = None

    @transition(
        field=state,
        source=State.RESOLVED,
        target=State.CLOSED,
        permission="incidents.close_incident",
        conditions=[guards.condition("close")],
        custom={"label": "Close", "verb": "closed"},
    )
    def close(self):
        self.closed_at = timezone.now()

    @transition(
        field=state,
        source=EARLY_STATES,
        target=State.CANCELLED,
        permission="incidents.cancel_incident",
        conditions=[guards.condition("cancel")],
        custom={"label": "Cancel", "verb": "cancelled"},
    )
    def cancel(self):
        self.closed_at = timezone.now()

    @transition(
        field=state,
        source=EARLY_STATES,
        target=State.DUPLICATE,
        permission="incidents.cancel_incident",
        conditions=[guards.condition("mark_duplicate")],
        custom={"label": "Mark duplicate", "verb": "marked a duplicate"},
    )
    def mark_duplicate(self):
        self.closed_at = timezone.now()


class TimelineEntry(models.Model):
    """One line of the war-room timeline: automatic (transitions, changes, escalations, ...)
    or a manual note whose occurred_at can be backdated."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        DECLARED = "declared", "Declared"
        TRANSITION = "transition", "State change"
        SEVERITY = "severity", "Severity change"
        ROLE = "role", "Role change"
        IMPACT = "impact", "Impact update"
        ESCALATION = "escalation", "Escalation"
        SLA = "sla", "SLA"
        CHECKLIST = "checklist", "Checklist"
        MESSAGE = "message", "Message sent"
        ALERT = "alert", "Alert"
        POSTMORTEM = "postmortem", "Post-mortem"
        VISIBILITY = "visibility", "Visibility"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.NOTE)
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    text = models.TextField()
    is_key_event = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name_plural = "timeline entries"
        indexes = [
            models.Index(fields=["incident", "occurred_at"]),
            # The admin timeline's default order, a page at a time over a million rows.
            models.Index(fields=["occurred_at", "id"]),
        ]

    def __str__(self) -> str:
        # In the organisation's time zone, like every time a person reads.
        when = timezone.localtime(self.occurred_at)
        return f"{when:%Y-%m-%d %H:%M} {self.get_kind_display()}: {self.text[:60]}"
