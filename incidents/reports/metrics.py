"""Report selectors: every figure the dashboard, the exports and the management summaries show.

They all call these functions, so a number is computed in one place. Figures are computed by
the database: the summary, its rows per severity, revenue per currency and the weekly trends add
up from one pass over the incidents declared (grouped by week, severity and currency) and one
over those resolved, so a period with 100,000 incidents costs a fixed number of queries, not a
loop over rows, and no SLA clock is joined.

Which incidents a figure covers (the page's help text says the same):
- The report's incidents are those *declared* in the period (organisation time zone, whole
  days) that match the filters; cancelled incidents and duplicates are left out of every figure
  and counted apart.
- MTTA (mean time to acknowledge) = acknowledged_at − declared_at, over the report's incidents
  that were acknowledged. It starts at declaration because that is when the portal, and the
  response SLA clock, can first know; detection lag shows in MTTR instead. Unacknowledged
  incidents are counted, not averaged in.
- MTTR (mean time to resolve) = resolved_at − detected_at, over incidents *resolved* in the
  period (whenever declared): the time customers were affected. Still-open incidents are left out.
- SLA compliance: each incident's response and resolution SLA are met, breached or pending.
  From the incident's SLA clocks when the escalation app records them (their outcome, stored
  when a clock is decided; a clock still running is breached once its due time has passed);
  otherwise from the incident's own times against its severity's targets, counted from
  declaration (24x7).
  Compliance % = met ÷ (met + breached); pending incidents are not yet decided. A severity
  without a target ("no SLA"), an "immediate" response (measured by time to acknowledge) and a
  clock stopped because the incident moved to a level without that SLA count as "no SLA":
  neither met nor breached.
- Business impact: revenue lost = revenue impact per hour × hours from detection to resolution
  (to now, for incidents still open); customers affected = the sum of the incidents' counts.
- Recurring issues: a service with incidents of the same type more than once in the period;
  each incident after the first counts as a recurrence.
- Post-mortems: reviews due in the period (and already due); on time = published by the due
  time. Waived reviews owe nothing and are left out.
- Action items: items due in the period; closure rate = done or won't-do ÷ all; on time = closed
  on or before the due date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate, TruncWeek
from django.db.models.lookups import Exact, LessThan, LessThanOrEqual
from django.utils import timezone

from incidents import severity_style
from incidents.models import Incident, IncidentType, Service, SeverityLevel
from incidents.selectors import with_viewer_may_see

from . import sources
from .expressions import SecondsBetween, due, jit_off, moment
from .periods import ReportPeriod

MET, BREACHED, PENDING, NO_SLA = "met", "breached", "pending", "no_sla"
SLA_KINDS = ("response", "resolution")
SLA_ACHIEVED_FIELD = {"response": "acknowledged_at", "resolution": "resolved_at"}
NOT_COUNTED_STATES = (Incident.State.CANCELLED, Incident.State.DUPLICATE)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ReportFilters:
    severity: SeverityLevel | None = None
    service: Service | None = None
    incident_type: IncidentType | None = None
    # Who reads the report. Figures count every incident; rows name (reference, title) only
    # those the viewer may see (incidents.selectors.visible_incidents). None: the public.
    viewer: Any = field(default=None, compare=False)

    def apply(self, incidents: QuerySet, prefix: str = "") -> QuerySet:
        """Filter incidents, or rows related to incidents when `prefix` is e.g. "incident__"."""
        if self.severity is not None:
            incidents = incidents.filter(**{f"{prefix}severity": self.severity})
        if self.service is not None:
            incidents = incidents.filter(**{f"{prefix}services": self.service})
        if self.incident_type is not None:
            incidents = incidents.filter(**{f"{prefix}incident_type": self.incident_type})
        return incidents

    def describe(self) -> str:
        parts = []
        if self.severity is not None:
            parts.append(f"severity {self.severity.code}")
        if self.service is not None:
            parts.append(f"service {self.service.name}")
        if self.incident_type is not None:
            parts.append(f"type {self.incident_type.name}")
        return ", ".join(parts) or "all incidents"

    def as_query(self) -> dict[str, str]:
        query = {}
        if self.severity is not None:
            query["severity"] = self.severity.code
        if self.service is not None:
            query["service"] = self.service.slug
        if self.incident_type is not None:
            query["type"] = self.incident_type.code
        return query


# --- The incidents a report covers, with per-incident figures ------------------------------


def incidents_declared(period: ReportPeriod, filters: ReportFilters) -> QuerySet[Incident]:
    qs = Incident.objects.filter(declared_at__gte=period.start_at, declared_at__lt=period.end_at)
    return filters.apply(qs.exclude(state__in=NOT_COUNTED_STATES))


def incidents_resolved(period: ReportPeriod, filters: ReportFilters) -> QuerySet[Incident]:
    qs = Incident.objects.filter(resolved_at__gte=period.start_at, resolved_at__lt=period.end_at)
    return filters.apply(qs.exclude(state__in=NOT_COUNTED_STATES))


def sla_outcome(kind: str, now: datetime) -> Case:
    """met / breached / pending / no_sla for one SLA kind, as an expression on incidents.

    The clock services store each clock's outcome when it is decided (escalation's
    SlaOutcome, one row per incident): a decided outcome stands; a clock still running is
    breached once its stored due time has passed, pending before. An incident without a clock
    of that kind (declared before the clocks existed, or at a level without that SLA) is judged
    on its own times against its severity's target, counted from declaration (24x7). Either
    way no clock is joined, so a report over 100,000 incidents is one pass over them."""
    achieved_field = SLA_ACHIEVED_FIELD[kind]
    target_field = f"severity__{kind}_target"
    due_at = due("declared_at", target_field)
    outcomes = [
        When(Q(**{f"{target_field}__isnull": True}) | Q(**{target_field: timedelta(0)}),
             then=Value(NO_SLA)),
        When(Q(**{f"{achieved_field}__isnull": True}) & LessThan(due_at, moment(now)),
             then=Value(BREACHED)),
        When(Q(**{f"{achieved_field}__isnull": True}), then=Value(PENDING)),
        When(LessThanOrEqual(F(achieved_field), due_at), then=Value(MET)),
    ]
    if sources.sla_outcome_model() is not None:
        stored, stored_due = f"sla_outcome__{kind}", f"sla_outcome__{kind}_due_at"
        outcomes[:0] = [
            When(Q(**{f"{stored}__isnull": False}), then=F(stored)),
            When(Q(**{f"{stored_due}__lt": now}), then=Value(BREACHED)),
            When(Q(**{f"{stored_due}__isnull": False}), then=Value(PENDING)),
        ]
    return Case(*outcomes, default=Value(BREACHED), output_field=CharField())


def _with_sla(qs: QuerySet, kind: str, now: datetime) -> QuerySet:
    """Annotate `<kind>_sla` (see `sla_outcome`) and, for the rows exports list, the
    `<kind>_due_at` and `<kind>_achieved_at` it was judged on: the incident's clock's when it
    has one (it knows business hours and severity changes; one clock per kind, so the join adds
    no rows), else its own times against its severity's target."""
    achieved_field = SLA_ACHIEVED_FIELD[kind]
    due_at = due("declared_at", f"severity__{kind}_target")
    achieved = F(achieved_field)
    if sources.sla_clock_model() is not None:
        clock = f"{kind}_clock"
        qs = qs.annotate(**{clock: FilteredRelation(
            "sla_clocks", condition=Q(sla_clocks__kind=kind))})
        due_at = Coalesce(F(f"{clock}__due_at"), due_at, output_field=DateTimeField())
        achieved = Case(
            When(**{f"{clock}__id__isnull": False}, then=F(f"{clock}__met_at")),
            default=F(achieved_field), output_field=DateTimeField(),
        )
    return qs.annotate(**{f"{kind}_due_at": due_at, f"{kind}_achieved_at": achieved,
                          f"{kind}_sla": sla_outcome(kind, now)})


def with_times(incidents: QuerySet[Incident], now: datetime | None = None) -> QuerySet:
    """Annotate time_to_acknowledge / time_to_resolve / impact_seconds (seconds) and
    revenue_lost: the per-incident figures that need no other table."""
    now = now or timezone.now()
    return incidents.annotate(
        time_to_acknowledge=SecondsBetween(F("acknowledged_at"), F("declared_at")),
        time_to_resolve=SecondsBetween(F("resolved_at"), F("detected_at")),
        impact_seconds=SecondsBetween(Coalesce(F("resolved_at"), moment(now)), F("detected_at")),
    ).annotate(
        revenue_lost=ExpressionWrapper(
            F("revenue_impact_per_hour") * F("impact_seconds") / Value(3600.0),
            output_field=FloatField(),
        )
    )


def with_figures(incidents: QuerySet[Incident], now: datetime | None = None) -> QuerySet:
    """Annotate each incident with the figures reports list: `with_times`, and per SLA kind
    (response, resolution) <kind>_due_at, <kind>_achieved_at and <kind>_sla."""
    now = now or timezone.now()
    qs = with_times(incidents, now)
    for kind in SLA_KINDS:
        qs = _with_sla(qs, kind, now)
    return qs


# --- Aggregates ----------------------------------------------------------------------------


RESULTS = (MET, BREACHED, PENDING, NO_SLA)
# Figures of a group of incidents that add up across groups: counts, sums and maxima (an
# average is kept as its sum and count, so the totals are exact sums of the groups).
_ADDED = ("incidents", "open", "unacknowledged", "acknowledged", "acknowledge_seconds",
          "customer_facing", "revenue_incidents", "revenue_total",
          *(f"{kind}_{result}" for kind in SLA_KINDS for result in RESULTS))


def _with_outcomes(incidents: QuerySet, now: datetime) -> QuerySet:
    return incidents.annotate(**{f"{kind}_sla": sla_outcome(kind, now) for kind in SLA_KINDS})


def _group_aggregates(now: datetime) -> dict[str, Any]:
    """Every figure of the declared incidents that the summary, its rows per severity, its
    revenue per currency and the weekly trends are made of, for one grouped pass."""
    aggregates = {
        "incidents": Count("pk"),
        "open": Count("pk", filter=Q(state__in=Incident.OPEN_STATES)),
        "unacknowledged": Count("pk", filter=Q(acknowledged_at__isnull=True)),
        "acknowledged": Count("acknowledged_at"),
        "acknowledge_seconds": Sum(SecondsBetween(F("acknowledged_at"), F("declared_at"))),
        "customers_affected": Sum("customers_affected"),
        "customer_facing": Count("pk", filter=Q(is_customer_facing=True)),
        "revenue_incidents": Count("revenue_impact_per_hour"),
        "revenue_total": Sum("revenue_lost"),
    }
    # Counted with FILTER rather than grouped by: grouping by the outcomes makes PostgreSQL
    # sort every row, which cost more than judging each row eight times.
    for kind in SLA_KINDS:
        outcome = sla_outcome(kind, now)
        for result in RESULTS:
            aggregates[f"{kind}_{result}"] = Count("pk", filter=Exact(outcome, Value(result)))
    return aggregates


def _added_up(rows: list[dict]) -> dict[str, Any]:
    total: dict[str, Any] = {name: sum(row[name] or 0 for row in rows) for name in _ADDED}
    customers = [row["customers_affected"] for row in rows
                 if row["customers_affected"] is not None]
    total["customers_affected"] = sum(customers) if customers else None
    total["mtta_seconds"] = (total["acknowledge_seconds"] / total["acknowledged"]
                             if total["acknowledged"] else None)
    return total


def _declared_groups(period: ReportPeriod, filters: ReportFilters, now: datetime) -> list[dict]:
    """One pass over the report's incidents, grouped by week declared, severity and currency:
    the summary, its rows per severity, revenue per currency and the weekly
    trends all add up from these groups."""
    return list(
        with_times(incidents_declared(period, filters), now)
        .annotate(week=TruncWeek("declared_at", tzinfo=timezone.get_current_timezone()))
        .values("week", "severity__rank", "severity__code", "severity__name", "currency")
        .annotate(**_group_aggregates(now))
        .order_by()
    )


def _resolved_groups(period: ReportPeriod, filters: ReportFilters) -> list[dict]:
    """Incidents resolved in the period, grouped by week resolved: MTTR adds up from these."""
    return list(
        incidents_resolved(period, filters)
        .annotate(week=TruncWeek("resolved_at", tzinfo=timezone.get_current_timezone()),
                  time_to_resolve=SecondsBetween(F("resolved_at"), F("detected_at")))
        .values("week")
        .annotate(resolved=Count("pk"), timed=Count("time_to_resolve"),
                  resolve_seconds=Sum("time_to_resolve"), longest_seconds=Max("time_to_resolve"))
        .order_by()
    )


def _resolved_figures(groups: list[dict]) -> dict[str, Any]:
    timed = sum(row["timed"] for row in groups)
    longest = [row["longest_seconds"] for row in groups if row["longest_seconds"] is not None]
    return {"resolved": sum(row["resolved"] for row in groups),
            "mttr_seconds": sum(row["resolve_seconds"] or 0 for row in groups) / timed
            if timed else None,
            "longest_seconds": max(longest) if longest else None}


def _declared_figures(groups: list[dict]) -> tuple[dict, list[dict], list[tuple[str, Decimal]]]:
    """The summary's totals, its rows per severity (by rank) and revenue lost per currency."""
    by_severity: dict[str, list[dict]] = {}
    for row in sorted(groups, key=lambda row: (row["severity__rank"], row["severity__code"])):
        by_severity.setdefault(row["severity__code"], []).append(row)
    severity_rows = [
        _with_sla_rates({**{key: rows[0][key] for key in
                            ("severity__code", "severity__name", "severity__rank")},
                         **_added_up(rows)})
        for rows in by_severity.values()
    ]
    currencies: dict[str, float] = {}
    for row in groups:
        if row["revenue_incidents"]:
            currencies[row["currency"]] = currencies.get(row["currency"], 0) + row["revenue_total"]
    revenue = [(currency, money(total)) for currency, total in sorted(currencies.items())]
    return _with_sla_rates(_added_up(groups)), severity_rows, revenue


def percent(part: int | None, whole: int | None) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def money(value: float | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def _with_sla_rates(row: dict) -> dict:
    for kind in SLA_KINDS:
        met, breached = row[f"{kind}_met"], row[f"{kind}_breached"]
        row[f"{kind}_compliance_pct"] = percent(met, met + breached)
    row["breaches"] = row["response_breached"] + row["resolution_breached"]
    return row


@dataclass
class Summary:
    period: ReportPeriod
    filters: ReportFilters
    generated_at: datetime
    declared: dict[str, Any]
    resolved: dict[str, Any]
    revenue_lost: list[tuple[str, Decimal]]
    by_severity: list[dict[str, Any]]
    recurring: list[dict[str, Any]]
    previous: dict[str, Any]
    escalations: dict[str, Any] | None = None
    postmortems: dict[str, Any] | None = None
    action_items: dict[str, Any] | None = None
    not_counted: int = 0
    unavailable: list[str] = field(default_factory=list)

    @property
    def recurring_incidents(self) -> int:
        return sum(row["count"] - 1 for row in self.recurring)


@jit_off
def report_summary(
    period: ReportPeriod, filters: ReportFilters | None = None, now: datetime | None = None
) -> Summary:
    """Every headline figure for a period, in a bounded number of queries."""
    return summary_and_trends(period, filters, now, trends=False)[0]


@jit_off
def summary_and_trends(period: ReportPeriod, filters: ReportFilters | None = None,
                       now: datetime | None = None, *, trends: bool = True
                       ) -> tuple[Summary, dict[str, Any] | None]:
    """`report_summary` and `weekly_trends` from the same two passes over the incidents (one
    over those declared, one over those resolved in the period)."""
    filters = filters or ReportFilters()
    now = now or timezone.now()
    declared_groups = _declared_groups(period, filters, now)
    resolved_groups = _resolved_groups(period, filters)
    summary = _summary(period, filters, now, declared_groups, resolved_groups)
    return summary, (_trends(period, filters, declared_groups, resolved_groups) if trends
                     else None)


def _summary(period: ReportPeriod, filters: ReportFilters, now: datetime,
             declared_groups: list[dict], resolved_groups: list[dict]) -> Summary:
    declared, by_severity, revenue = _declared_figures(declared_groups)
    resolved = _resolved_figures(resolved_groups)
    previous_period = period.previous()
    summary = Summary(
        period=period,
        filters=filters,
        generated_at=now,
        declared=declared,
        resolved=resolved,
        revenue_lost=revenue,
        by_severity=by_severity,
        recurring=recurring_issues(period, filters),
        previous={
            "period": previous_period,
            "incidents": incidents_declared(previous_period, filters).count(),
            "recurring_incidents": sum(
                row["count"] - 1 for row in recurring_issues(previous_period, filters)
            ),
        },
        not_counted=filters.apply(
            Incident.objects.filter(declared_at__gte=period.start_at,
                                    declared_at__lt=period.end_at, state__in=NOT_COUNTED_STATES)
        ).count(),
    )
    summary.escalations = escalation_figures(period, filters, declared["incidents"])
    summary.postmortems = postmortem_figures(period, filters, now)
    summary.action_items = action_item_figures(period, filters, now)
    for name, value in (("escalations", summary.escalations),
                        ("post-mortems", summary.postmortems),
                        ("action items", summary.action_items)):
        if value is None:
            summary.unavailable.append(name)
    return summary


def recurring_issues(period: ReportPeriod, filters: ReportFilters) -> list[dict[str, Any]]:
    """(service, incident type) pairs with more than one incident declared in the period."""
    through = Incident.services.through
    ids = incidents_declared(period, filters).values("pk")
    rows = (
        through.objects.filter(incident__in=ids)
        .values("service__name", "incident__incident_type__name")
        # An incident is linked to a service once (the link is unique), so each row of a group
        # is another incident: no DISTINCT, which would sort a year's links.
        .annotate(count=Count("incident"))
        .filter(count__gte=2)
        .order_by("-count", "service__name", "incident__incident_type__name")
    )
    return [
        {"service": row["service__name"], "incident_type": row["incident__incident_type__name"],
         "count": row["count"]}
        for row in rows
    ]


def escalation_figures(period: ReportPeriod, filters: ReportFilters,
                       incident_count: int) -> dict[str, Any] | None:
    """How often the report's `incident_count` incidents were escalated, and the highest level
    reached (levels are numbered from the first line up: L1, L2, ...)."""
    model = sources.escalation_event_model()
    if model is None:
        return None
    incidents = incidents_declared(period, filters)
    events = model.objects.filter(incident__in=incidents.values("pk"))
    figures = events.aggregate(events=Count("pk"), escalated=Count("incident", distinct=True),
                               highest_number=Max("level__number"))
    figures["incidents"] = incident_count
    figures["escalated_pct"] = percent(figures["escalated"], figures["incidents"])
    top = None
    if figures["highest_number"] is not None:
        top = events.filter(level__number=figures["highest_number"]).select_related("level").first()
    figures["highest_level"] = str(top.level) if top else ""
    return figures


def postmortem_figures(period: ReportPeriod, filters: ReportFilters, now: datetime) -> dict | None:
    model = sources.postmortem_model()
    if model is None:
        return None
    due_reviews = filters.apply(
        model.objects.filter(due_at__gte=period.start_at, due_at__lt=period.end_at,
                             due_at__lte=now, waived=False),
        prefix="incident__",
    )
    figures = due_reviews.aggregate(
        due=Count("pk"),
        on_time=Count("pk", filter=Q(published_at__isnull=False, published_at__lte=F("due_at"))),
        late=Count("pk", filter=Q(published_at__gt=F("due_at"))),
        overdue=Count("pk", filter=Q(published_at__isnull=True)),
    )
    figures["on_time_pct"] = percent(figures["on_time"], figures["due"])
    return figures


def action_item_figures(period: ReportPeriod, filters: ReportFilters, now: datetime) -> dict | None:
    model = sources.action_item_model()
    if model is None:
        return None
    closed_states = [model.State.DONE, model.State.WONT_DO]
    items = filters.apply(
        model.objects.filter(due_date__gte=period.start, due_date__lte=period.end),
        prefix="postmortem__incident__",
    ).annotate(closed_on=TruncDate("completed_at", tzinfo=timezone.get_current_timezone()))
    figures = items.aggregate(
        total=Count("pk"),
        closed=Count("pk", filter=Q(state__in=closed_states)),
        closed_on_time=Count("pk", filter=Q(state__in=closed_states, closed_on__lte=F("due_date"))),
        overdue=Count("pk", filter=Q(state__in=model.UNFINISHED_STATES,
                                     due_date__lt=timezone.localdate(now))),
    )
    figures["closure_pct"] = percent(figures["closed"], figures["total"])
    figures["on_time_pct"] = percent(figures["closed_on_time"], figures["total"])
    return figures


COSTLIEST_SHOWN = 10  # how many of the costliest incidents a report names


@jit_off
def costliest_incidents(period: ReportPeriod, filters: ReportFilters | None = None,
                        now: datetime | None = None,
                        limit: int = COSTLIEST_SHOWN) -> list[Incident]:
    """The report's incidents with the most revenue lost (then most customers affected)."""
    filters = filters or ReportFilters()
    now = now or timezone.now()
    return costliest_rows(costliest_ids(period, filters, now, limit), filters.viewer, now)


_COSTLIEST_FIRST = (F("revenue_lost").desc(nulls_last=True),
                    F("customers_affected").desc(nulls_last=True), "declared_at")


def costliest_ids(period: ReportPeriod, filters: ReportFilters, now: datetime,
                  limit: int = COSTLIEST_SHOWN) -> list[int]:
    """The ids of the report's costliest incidents, costliest first: the same for every viewer
    (so the dashboard caches them with its figures), unlike the rows that name them."""
    return list(with_times(incidents_declared(period, filters), now)
                .filter(Q(revenue_impact_per_hour__isnull=False) | Q(customers_affected__gt=0))
                .order_by(*_COSTLIEST_FIRST).values_list("pk", flat=True)[:limit])


def costliest_rows(ids: list[int], viewer, now: datetime) -> list[Incident]:
    """Those incidents with their losses and SLA outcomes at `now`, each flagged with whether
    `viewer` may see it: the outcomes are computed for those few rows only, not the period."""
    qs = _with_outcomes(with_times(Incident.objects.filter(pk__in=ids), now), now)
    return list(with_viewer_may_see(qs, viewer).select_related("severity")
                .order_by(*_COSTLIEST_FIRST))


# --- Weekly trends (charts) ----------------------------------------------------------------


@jit_off
def weekly_trends(period: ReportPeriod, filters: ReportFilters | None = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """Per ISO week of the period: incidents declared by severity, MTTR (hours, by week
    resolved) and SLA compliance % (by week declared). Weeks with nothing are zero / None."""
    filters = filters or ReportFilters()
    now = now or timezone.now()
    return _trends(period, filters, _declared_groups(period, filters, now),
                   _resolved_groups(period, filters))


def _trends(period: ReportPeriod, filters: ReportFilters, declared_groups: list[dict],
            resolved_groups: list[dict]) -> dict[str, Any]:
    tz = timezone.get_current_timezone()
    weeks = period.week_starts()

    def week_of(value) -> Any:
        return timezone.localtime(value, tz).date() if isinstance(value, datetime) else value

    counts: dict[tuple, int] = {}
    sla: dict = {}
    for row in declared_groups:
        week = week_of(row["week"])
        key = (week, row["severity__code"])
        counts[key] = counts.get(key, 0) + row["incidents"]
        figures = sla.setdefault(week, dict.fromkeys(
            (f"{kind}_{result}" for kind in SLA_KINDS for result in (MET, BREACHED)), 0))
        for kind in SLA_KINDS:
            for result in (MET, BREACHED):
                figures[f"{kind}_{result}"] += row[f"{kind}_{result}"]
    levels = list(SeverityLevel.objects.order_by("rank").values_list("code", "rank"))
    if filters.severity is not None:
        levels = [(filters.severity.code, filters.severity.rank)]
    severities = [code for code, _ in levels]
    mttr: dict = {}
    for row in resolved_groups:
        mttr[week_of(row["week"])] = {
            "n": row["resolved"],
            "mttr": row["resolve_seconds"] / row["timed"] if row["timed"] else None}

    def compliance(week, kind):
        row = sla.get(week)
        if not row:
            return None
        return percent(row[f"{kind}_met"], row[f"{kind}_met"] + row[f"{kind}_breached"])

    return {
        "weeks": weeks,
        "labels": [f"{week:%d %b %Y}" for week in weeks],
        "by_severity": {
            code: [counts.get((week, code), 0) for week in weeks] for code in severities
        },
        "severity_colours": {code: severity_style.colour(rank) for code, rank in levels},
        "totals": [sum(counts.get((week, code), 0) for code in severities) for week in weeks],
        "mttr_hours": [
            round(mttr[week]["mttr"] / 3600, 2) if week in mttr and mttr[week]["mttr"] is not None
            else None
            for week in weeks
        ],
        "resolved": [mttr[week]["n"] if week in mttr else 0 for week in weeks],
        "response_compliance": [compliance(week, "response") for week in weeks],
        "resolution_compliance": [compliance(week, "resolution") for week in weeks],
    }
