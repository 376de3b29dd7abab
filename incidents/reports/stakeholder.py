"""The per-incident stakeholder summary: seed 000's "Stakeholder Update Template"
("[P0-RESOLVED] ... - Business Impact Summary"), with figures from the report selectors and,
when the incident has a post-mortem, its next steps and ROI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from incidents.models import Incident
from incidents.selectors import visible_incidents

from . import metrics, sources
from .tables import HOURS, MONEY, typed

PERIOD_WORDS = {"hour": "hour", "day": "day", "week": "week", "month": "month"}
SLA_WORDS = {metrics.MET: "met", metrics.BREACHED: "breached", metrics.PENDING: "pending"}


def format_money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "not recorded"
    # One way everywhere (pages, summaries, PDFs): "12,500.00 EUR".
    return f"{amount:,.2f} {currency}"


def format_moment(value: datetime | None) -> str:
    if value is None:
        return "—"
    return f"{timezone.localtime(value):%a %d %b %Y %H:%M %Z}"


@dataclass
class NextStep:
    text: str
    done: bool
    detail: str = ""


@dataclass
class IncidentSummary:
    incident: Incident
    status: str
    subject: str
    duration_hours: Decimal | None
    is_ongoing: bool
    revenue_lost: Decimal | None
    revenue_restored: Decimal | None  # per `period`, as the review computes it
    period: str
    resolution_cost: Decimal | None
    roi_pct: Decimal | None
    services: list[str]
    response_sla: str
    resolution_sla: str
    next_steps: list[NextStep] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.incident.currency

    def money(self, amount: Decimal | None) -> str:
        return format_money(amount, self.currency)

    @property
    def business_impact(self) -> str:
        incident = self.incident
        if incident.revenue_impact_per_hour is None:
            return "No revenue impact recorded"
        lost = self.money(self.revenue_lost)
        restored = self.money(self.revenue_restored)
        per_hour = self.money(incident.revenue_impact_per_hour)
        if self.is_ongoing:
            return (f"{lost} revenue lost so far ({per_hour}/hour); "
                    f"{restored} potential revenue at risk per {self.period}")
        return (f"{restored} potential revenue restored per {self.period} "
                f"({lost} lost while it lasted, {per_hour}/hour)")

    @property
    def customer_impact(self) -> str:
        pct, count = self.incident.customers_affected_pct, self.incident.customers_affected
        if pct is not None and count is not None:
            return f"{pct}% customers affected ({count:,} customers)"
        if pct is not None:
            return f"{pct}% customers affected"
        if count is not None:
            return f"{count:,} customers affected"
        return "Not recorded"

    @property
    def duration(self) -> str:
        if self.duration_hours is None:
            return "unknown"
        detected = format_moment(self.incident.detected_at)
        if self.is_ongoing:
            state = self.incident.get_state_display().lower()
            return f"{self.duration_hours} hours so far (detected {detected}, still {state})"
        resolved = format_moment(self.incident.resolved_at)
        return f"{self.duration_hours} hours (detected {detected}, resolved {resolved})"

    @property
    def roi(self) -> str:
        cost = self.money(self.resolution_cost)
        restored = self.money(self.revenue_restored)
        text = f"Resolution cost {cost}, revenue restored {restored}/{self.period}"
        if self.roi_pct is not None:
            text += f", ROI {self.roi_pct:,.2f}%"
        return text

    def as_text(self) -> str:
        return render_to_string("reports/incident_summary.txt", {"summary": self})


def _postmortem_of(incident: Incident):
    if sources.postmortem_model() is None:
        return None
    try:
        return incident.postmortem
    except ObjectDoesNotExist:
        return None


def _next_steps(postmortem) -> list[NextStep]:
    """Seed 000's three next steps, ticked from the post-mortem and its action items."""
    if postmortem is None:
        return [NextStep("Post-mortem review scheduled", False),
                NextStep("Process improvements identified", False),
                NextStep("Prevention measures implemented", False)]
    items = list(postmortem.action_items.all())
    scheduled_detail = (f"published {format_moment(postmortem.published_at)}"
                        if postmortem.published_at else
                        f"due {format_moment(postmortem.due_at)}" if postmortem.due_at else "")
    prevention = [item for item in items if item.kind == "prevention"]
    prevention_done = [item for item in prevention if item.state == "done"]
    steps = [
        NextStep("Post-mortem review scheduled", True, scheduled_detail),
        NextStep("Process improvements identified", bool(items),
                 f"{len(items)} action item{'s' if len(items) != 1 else ''}" if items else ""),
        NextStep("Prevention measures implemented", bool(prevention) and
                 len(prevention_done) == len(prevention),
                 f"{len(prevention_done)} of {len(prevention)} done" if prevention else ""),
    ]
    return steps


def incident_summary(reference: str, user, now: datetime | None = None) -> IncidentSummary:
    """Raises Incident.DoesNotExist for an unknown reference or one `user` may not see."""
    now = now or timezone.now()
    qs = metrics.with_figures(visible_incidents(user).filter(reference=reference), now)
    incident = qs.select_related("severity").prefetch_related("services").get()
    is_ongoing = incident.resolved_at is None
    status = "RESOLVED" if not is_ongoing else incident.state.upper()
    postmortem = _postmortem_of(incident)
    # One definition of revenue restored and ROI, with the review's period: the same figures
    # as the review page (postmortems/roi.py).
    from postmortems import roi

    figures = roi.compute(roi.inputs_for(incident, postmortem))
    return IncidentSummary(
        incident=incident,
        status=status,
        subject=f"[{incident.severity.code}-{status}] {incident.reference} {incident.title} "
                "- Business Impact Summary",
        duration_hours=typed(HOURS, incident.impact_seconds),
        is_ongoing=is_ongoing,
        revenue_lost=(figures.revenue_lost if figures.revenue_lost_is_override
                      else typed(MONEY, incident.revenue_lost)),
        revenue_restored=figures.restored_per_period,
        period=PERIOD_WORDS[figures.period],
        resolution_cost=figures.resolution_cost,
        roi_pct=figures.roi_pct,
        services=[service.name for service in incident.services.all()],
        response_sla=SLA_WORDS[incident.response_sla],
        resolution_sla=SLA_WORDS[incident.resolution_sla],
        next_steps=_next_steps(postmortem),
    )
