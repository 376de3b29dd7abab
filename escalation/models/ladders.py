"""Escalation configuration (levels, policies, impact rules) and the escalation events that
record each escalation of an incident."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents.durations import YEAR, BoundedDurationField

from .. import sla
from .rotas import Rota


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
