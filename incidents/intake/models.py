"""Alert intake: integrations (one per monitoring source), alerts keyed by their identity, the
groups that gather alerts into one incident, and the ordered auto-triage rules.

Models hold state and invariants only; every write goes through `intake.services`."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.text import slugify
from simple_history.models import HistoricalRecords

from incidents.models import Incident, IncidentRole, IncidentType, Service, SeverityLevel

from . import matching


class Integration(models.Model):
    """A named source of alerts of one kind, with its own secret and defaults."""

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager webhook"
        GRAFANA = "grafana", "Grafana alerting webhook"
        PAGERDUTY = "pagerduty", "PagerDuty Events API v2"
        GENERIC = "generic", "Generic JSON (field mapping)"

    class WhenAllResolved(models.TextChoices):
        MITIGATE = "mitigate", "Mark the incident mitigated"
        NOTE = "note", "Add a timeline note only"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # In the endpoint URL; the secret is never stored, only its SHA-256 (it is random, so a
    # slow hash adds nothing) and its first characters, to recognise it.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    secret_hint = models.CharField(max_length=8, editable=False)
    secret_rotated_at = models.DateTimeField(default=timezone.now, editable=False)
    # Incidents the integration declares are reported by this account (unusable password).
    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="intake_integration", editable=False)
    is_enabled = models.BooleanField("on", default=True)
    default_severity = models.ForeignKey(
        SeverityLevel, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Severity of the incidents it opens unless a rule says otherwise "
                  "(empty: the least severe level).")
    default_type = models.ForeignKey(
        IncidentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="default type",
        help_text="Type of the incidents it opens unless a rule says otherwise "
                  "(empty: the default type).")
    default_services = models.ManyToManyField(Service, blank=True, related_name="+")
    when_all_resolved = models.CharField(
        max_length=20, choices=WhenAllResolved.choices, default=WhenAllResolved.MITIGATE,
        help_text="What happens to an incident once every one of its alerts is resolved. "
                  "A person always resolves the incident.")
    group_by = models.CharField(
        max_length=300, blank=True,
        help_text="Comma-separated label names, e.g. “alertname, cluster”: firing alerts with "
                  "the same values join one incident within the grouping window. Alertmanager's "
                  "own groupKey is used when this is empty.")
    group_window = models.DurationField(
        default=timedelta(minutes=30),
        help_text="A group's next alert joins its incident if it fires within this time of the "
                  "group's last alert.")
    flap_window = models.DurationField(
        default=timedelta(minutes=15),
        help_text="An alert that fires again this soon after resolving reopens its recent "
                  "incident instead of opening a new one.")
    field_mapping = models.JSONField(
        default=dict, blank=True,
        help_text="Generic JSON only: where each field is, as dotted paths, e.g. "
                  '{"identity": "id", "title": "summary", "status": "state", '
                  '"resolved_values": ["ok"], "labels": "tags", "alerts": "events"}.')
    rate_limit_per_minute = models.PositiveIntegerField(
        default=6000, help_text="Requests per minute before it is answered 429.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords(excluded_fields=["secret_hash", "secret_hint"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.kind == self.Kind.GENERIC:
            from .formats import generic

            problems = generic.mapping_problems(self.field_mapping)
            if problems:
                raise ValidationError({"field_mapping": problems})

    @property
    def group_labels(self) -> list[str]:
        return [name.strip() for name in self.group_by.split(",") if name.strip()]


class RateWindow(models.Model):
    """Requests counted in the current minute, per integration: one row updated in place."""

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, primary_key=True,
                                       related_name="+")
    window_start = models.BigIntegerField(default=0)  # Unix minute
    count = models.PositiveIntegerField(default=0)


class AlertGroup(models.Model):
    """Alerts that belong together (Alertmanager's groupKey, or an integration's grouping
    labels). The unique key lets concurrent alerts of one group agree on one incident."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="groups")
    key_hash = models.CharField(max_length=64)
    key = models.TextField()
    incident = models.ForeignKey(Incident, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    last_alert_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "key_hash"],
                                               name="intake_one_group_per_key")]

    def __str__(self) -> str:
        return self.key[:80]


class Alert(models.Model):
    """One alert, keyed by its identity at its source (fingerprint, dedup_key, mapped key).
    A repeat updates the row; the unique constraint makes that exact under concurrency."""

    class State(models.TextChoices):
        FIRING = "firing", "Firing"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="alerts")
    identity = models.CharField(max_length=255)
    state = models.CharField(max_length=20, choices=State.choices, default=State.FIRING)
    title = models.CharField(max_length=300, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True,
                               help_text="Values, custom details and other payload fields.")
    links = models.JSONField(default=list, blank=True,
                             help_text="Links to the source: [{href, text}].")
    group = models.ForeignKey(AlertGroup, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="alerts")
    incident = models.ForeignKey(Incident, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="alerts")
    rule = models.ForeignKey("TriageRule", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="alerts", help_text="The rule that matched last.")
    is_suppressed = models.BooleanField(default=False)
    # Set on insert then incremented by every event (F() under the row lock), so a row at 0
    # is one this transaction has just created.
    count = models.PositiveIntegerField(default=0)
    starts_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [models.UniqueConstraint(fields=["integration", "identity"],
                                               name="intake_one_alert_per_identity")]
        indexes = [
            models.Index(fields=["-last_seen_at"], name="intake_alert_recent_idx"),
            models.Index(fields=["incident", "state"], name="intake_alert_incident_idx"),
            models.Index(fields=["is_suppressed", "-last_seen_at"],
                         name="intake_alert_suppressed_idx"),
        ]

    def __str__(self) -> str:
        return self.title or self.identity

    @property
    def source_url(self) -> str:
        return self.links[0]["href"] if self.links else ""


class TriageRule(models.Model):
    """An auto-triage rule. Rules run in order on a new alert; all conditions must hold. The
    first match wins unless it says to continue, in which case later matches add to it."""

    order = models.PositiveIntegerField(default=100)
    name = models.CharField(max_length=100)
    # How a procedure file names the rule (ids differ between installations).
    slug = models.SlugField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="rules", help_text="Empty: every integration.")
    continue_after_match = models.BooleanField(
        default=False, help_text="Go on to later rules after this one matches.")
    # Actions
    suppress = models.BooleanField(default=False,
                                   help_text="Record the alert but open no incident.")
    set_severity = models.ForeignKey(SeverityLevel, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")
    set_type = models.ForeignKey(IncidentType, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name="set type")
    set_services = models.ManyToManyField(Service, blank=True, related_name="+")
    title_template = models.CharField(
        max_length=300, blank=True,
        help_text="e.g. “{labels.service}: error rate {values.error_rate}%”; "
                  "missing fields print empty.")
    page_rota = models.ForeignKey("escalation.Rota", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+",
                                  help_text="Whoever is on call is paged when the incident opens.")
    page_group = models.ForeignKey("auth.Group", on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+",
                                   help_text="Everyone in this group is paged.")
    page_roles = models.ManyToManyField(
        IncidentRole, blank=True, related_name="+",
        help_text="Each role is paged as a required role is: whoever is on call on a rota "
                  "that fills it, else the role's group.")
    restrict = models.BooleanField(
        "restrict the incident", default=False,
        help_text="Open the incident restricted: only its participants (the people paged), "
                  "the groups below and holders of “view all restricted incidents” see it.")
    restrict_to_groups = models.ManyToManyField(
        "auth.Group", blank=True, related_name="+",
        help_text="Groups that may see an incident this rule restricts.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(TriageRule, self.name, exclude=self.pk)
        super().save(*args, **kwargs)


def unique_slug(model, name: str, *, exclude=None, max_length: int = 100) -> str:
    """A slug from `name` that no other row of `model` has ("name", "name-2", ...)."""
    base = slugify(name)[:max_length - 4] or "rule"
    taken = set(model._default_manager.exclude(pk=exclude)
                .filter(slug__startswith=base).values_list("slug", flat=True))
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


class RuleCondition(models.Model):
    """`field operator value`, e.g. `labels.severity equals critical` or `error_rate > 5`.
    A bare field name is looked up in labels, annotations, values and details, in that order."""

    rule = models.ForeignKey(TriageRule, on_delete=models.CASCADE, related_name="conditions")
    field = models.CharField(max_length=200)
    operator = models.CharField(max_length=10, choices=matching.Operator.choices,
                                default=matching.Operator.EQUALS)
    value = models.CharField(max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.field} {self.get_operator_display()} {self.value}".strip()

    def clean(self):
        problem = matching.operand_problem(self.operator, self.value)
        if problem:
            raise ValidationError({"value": problem})
