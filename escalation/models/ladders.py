"""Escalation as data: ladders of ordered levels, policies that pick a ladder and time its steps
per severity x incident type, impact rules with their conditions (per type or for all), and the
escalation events that record each escalation of an incident.

Every configuration row has a natural key (a slug, or its parent's key plus a number), so a
procedure can be exported and imported as a file without database ids."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents.durations import YEAR, BoundedDurationField
from incidents.models.sole_default import SoleDefault

from .. import sla
from .keys import SluggedModel
from .rotas import Rota


class EscalationLadder(SoleDefault, SluggedModel):
    """A named, ordered set of levels: the default first line to executives (L1-L4), or a type's
    own matrix, e.g. security: security team, CISO, executives and legal, board and regulator,
    customer notification."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(
        default=False,
        help_text="Used for incidents whose severity and type have no policy of their own, and "
                  "for SLA breach notices before any escalation.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="one_default_escalation_ladder"),
        ]

    def __str__(self) -> str:
        return self.name


class LevelManager(models.Manager):
    def get_by_natural_key(self, ladder_slug: str, number: int):
        return self.get(ladder__slug=ladder_slug, number=number)


class EscalationLevel(models.Model):
    """One rung of a ladder: named people, everyone in some groups, and whoever is on call on a
    rota at that moment."""

    ladder = models.ForeignKey(EscalationLadder, on_delete=models.CASCADE, related_name="levels")
    number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)],
                                              help_text="1 is the first line.")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                   related_name="escalation_levels")
    groups = models.ManyToManyField("auth.Group", blank=True, related_name="escalation_levels")
    rota = models.ForeignKey(Rota, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="escalation_levels",
                             help_text="Whoever is on call on this rota is also called.")
    history = HistoricalRecords(m2m_fields=[users, groups])
    objects = LevelManager()

    class Meta:
        ordering = ["ladder", "number"]
        constraints = [models.UniqueConstraint(fields=["ladder", "number"],
                                               name="one_level_number_per_ladder")]

    def __str__(self) -> str:
        return f"L{self.number} {self.name}"

    def natural_key(self) -> tuple:
        return (*self.ladder.natural_key(), self.number)

    natural_key.dependencies = ["escalation.escalationladder"]


class LevelResponseTimeManager(models.Manager):
    def get_by_natural_key(self, ladder_slug: str, number: int, severity_code: str):
        return self.get(level__ladder__slug=ladder_slug, level__number=number,
                        severity__code=severity_code)


class LevelResponseTime(models.Model):
    """How fast a level is expected to respond to an escalation at a severity (e.g. a team lead
    within 15 minutes for critical). Unanswered by then, the level and incident manager are
    reminded."""

    level = models.ForeignKey(EscalationLevel, on_delete=models.CASCADE,
                              related_name="response_times")
    severity = models.ForeignKey("incidents.SeverityLevel", on_delete=models.CASCADE,
                                 related_name="escalation_response_times")
    response_time = BoundedDurationField(maximum=YEAR)
    history = HistoricalRecords()
    objects = LevelResponseTimeManager()

    class Meta:
        ordering = ["level", "severity__rank"]
        constraints = [models.UniqueConstraint(fields=["level", "severity"],
                                               name="one_response_time_per_level_severity")]

    def __str__(self) -> str:
        return f"{self.level} at {self.severity.code}: {self.response_time}"

    def natural_key(self) -> tuple:
        return (*self.level.natural_key(), self.severity.code)

    natural_key.dependencies = ["escalation.escalationlevel", "incidents.severitylevel"]


class StepClock(models.TextChoices):
    SEVERITY = "severity", "The severity's clock"
    ALWAYS = sla.ALWAYS, "24x7"
    BUSINESS_HOURS = sla.BUSINESS_HOURS, "Business hours"


class EscalationPolicy(SluggedModel):
    """For incidents of one severity and type: which ladder they climb and the timed steps up
    it. A policy without a type serves every type that has no policy of its own at that
    severity (so seed 004's security incidents can climb the security matrix while the other
    types keep the standard ladder)."""

    name = models.CharField(max_length=100)
    severity = models.ForeignKey("incidents.SeverityLevel", on_delete=models.CASCADE,
                                 related_name="escalation_policies")
    incident_type = models.ForeignKey(
        "incidents.IncidentType", on_delete=models.CASCADE, null=True, blank=True,
        related_name="escalation_policies", verbose_name="type",
        help_text="Empty: every type without a policy of its own at this severity.",
    )
    ladder = models.ForeignKey(EscalationLadder, on_delete=models.PROTECT,
                               related_name="policies")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["severity__rank", "name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            # Among active policies only: a retired one (a procedure switched away from, still
            # named by past escalations) must not block its successor at the same place.
            models.UniqueConstraint(fields=["severity", "incident_type"],
                                    condition=Q(incident_type__isnull=False, is_active=True),
                                    name="one_escalation_policy_per_severity_and_type"),
            models.UniqueConstraint(fields=["severity"],
                                    condition=Q(incident_type__isnull=True, is_active=True),
                                    name="one_escalation_policy_per_severity_for_any_type"),
        ]

    def __str__(self) -> str:
        return self.name


class StepManager(models.Manager):
    def get_by_natural_key(self, policy_slug: str, order: int):
        return self.get(policy__slug=policy_slug, order=order)


class EscalationStep(models.Model):
    """After `delay` from the incident's start (declaration) or from an SLA breach, escalate
    to `level` (a level of the policy's ladder) unless the incident is resolved by then."""

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
    objects = StepManager()

    class Meta:
        ordering = ["policy", "order", "delay"]
        constraints = [models.UniqueConstraint(fields=["policy", "order"],
                                               name="one_escalation_step_per_order")]

    def __str__(self) -> str:
        return f"{self.policy}, step {self.order}"

    def natural_key(self) -> tuple:
        return (*self.policy.natural_key(), self.order)

    natural_key.dependencies = ["escalation.escalationpolicy", "escalation.escalationlevel"]

    def clean(self):
        try:
            policy, level = self.policy, self.level
        except ObjectDoesNotExist:  # the form reports the missing field itself
            return
        if policy.ladder_id and level.ladder_id != policy.ladder_id:
            raise ValidationError({"level": f"Choose a level of the policy's ladder "
                                            f"“{policy.ladder}”."})


class ImpactRule(SluggedModel):
    """Impact-based escalation: when an incident (of the rule's type, if it has one) matches the
    rule's conditions (any or all of them), escalate to `level` after `delay` (0 = at once)
    unless it is resolved first. Fires once per incident."""

    class Match(models.TextChoices):
        ANY = "any", "Any condition"
        ALL = "all", "All conditions"

    name = models.CharField(max_length=100)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ANY)
    delay = BoundedDurationField(default=timedelta(0), maximum=YEAR,
                                 help_text="0 = at once; e.g. 15m.")
    level = models.ForeignKey(EscalationLevel, on_delete=models.PROTECT,
                              related_name="impact_rules")
    incident_type = models.ForeignKey(
        "incidents.IncidentType", on_delete=models.CASCADE, null=True, blank=True,
        related_name="impact_rules", verbose_name="type",
        help_text="Only incidents of this type; empty: every type.",
    )
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["delay", "name"]

    def __str__(self) -> str:
        return self.name

    def applies_to(self, incident) -> bool:
        return self.incident_type_id is None or self.incident_type_id == incident.incident_type_id

    def matches(self, incident, conditions=None) -> bool:
        """Whether `incident` meets the rule; a rule without conditions matches every incident.
        Pass `conditions` when they were prefetched."""
        conditions = list(self.conditions.all()) if conditions is None else conditions
        if not conditions:
            return True
        results = (condition.matches(incident) for condition in conditions)
        return all(results) if self.match == self.Match.ALL else any(results)


class ConditionManager(models.Manager):
    def get_by_natural_key(self, rule_slug: str, attribute: str, value: str):
        return self.get(rule__slug=rule_slug, attribute=attribute, value=value)


class ImpactCondition(models.Model):
    """One test on an incident's impact: a flag is set, a figure is above zero or at least a
    threshold, or the incident is of a type."""

    class Attribute(models.TextChoices):
        CUSTOMER_FACING = "is_customer_facing", "Customer-facing (flag)"
        SECURITY = "is_security", "Security (flag)"
        DATA_INTEGRITY = "is_data_integrity", "Data integrity (flag)"
        COMPLIANCE = "is_compliance", "Compliance (flag)"
        CUSTOMERS = "customers_affected", "Customers affected (count)"
        CUSTOMERS_PCT = "customers_affected_pct", "Customers affected (%)"
        REVENUE = "revenue_impact_per_hour", "Revenue impact per hour"
        INCIDENT_TYPE = "incident_type", "Type is"

    FLAGS = (Attribute.CUSTOMER_FACING, Attribute.SECURITY, Attribute.DATA_INTEGRITY,
             Attribute.COMPLIANCE)
    FIGURES = (Attribute.CUSTOMERS, Attribute.CUSTOMERS_PCT, Attribute.REVENUE)

    rule = models.ForeignKey(ImpactRule, on_delete=models.CASCADE, related_name="conditions")
    attribute = models.CharField(max_length=30, choices=Attribute.choices)
    at_least = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="For figures: matches at this value or more; empty means above zero.",
    )
    value = models.CharField(max_length=60, blank=True,
                             help_text="For “type is”: the type's code, e.g. security.")
    history = HistoricalRecords()
    objects = ConditionManager()

    class Meta:
        ordering = ["rule", "id"]
        constraints = [models.UniqueConstraint(fields=["rule", "attribute", "value"],
                                               name="one_impact_condition_per_attribute")]

    def __str__(self) -> str:
        label = self.get_attribute_display()
        if self.attribute == self.Attribute.INCIDENT_TYPE:
            return f"{label} {self.value}"
        if self.attribute in self.FIGURES:
            return f"{label} ≥ {self.at_least}" if self.at_least is not None else f"{label} > 0"
        return label

    def natural_key(self) -> tuple:
        return (*self.rule.natural_key(), self.attribute, self.value)

    natural_key.dependencies = ["escalation.impactrule"]

    def clean(self):
        errors = {}
        if self.attribute in self.FIGURES:
            if self.value:
                errors["value"] = "Only “type is” takes a value; figures take “at least”."
        elif self.at_least is not None:
            errors["at_least"] = "Only figures (customers, revenue) take a threshold."
        if self.attribute == self.Attribute.INCIDENT_TYPE:
            from incidents.models import IncidentType

            if not IncidentType.objects.filter(code=self.value.strip()).exists():
                codes = ", ".join(IncidentType.objects.values_list("code", flat=True))
                errors["value"] = f"Name a type by its code: {codes}."
        elif self.attribute in self.FLAGS and self.value:
            errors["value"] = "Flags take no value."
        if errors:
            raise ValidationError(errors)

    def matches(self, incident) -> bool:
        if self.attribute == self.Attribute.INCIDENT_TYPE:
            return incident.incident_type.code == self.value
        current = getattr(incident, self.attribute)
        if self.attribute in self.FIGURES:
            current = current or 0
            return current >= self.at_least if self.at_least is not None else current > 0
        return bool(current)


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
