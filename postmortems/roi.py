"""Business impact and ROI arithmetic (seed 000 "Business Impact Validation Template").

Pure functions over Decimals, no Django: every figure is None when an input it needs is missing,
and a division by zero gives None too, so pages show "—" instead of a wrong number.

Definitions (all money in the incident's currency):
- duration (hours)          = override, else (ended − started) in hours
- revenue lost              = override, else revenue impact per hour × duration
- revenue restored per hour = revenue impact per hour before − remaining impact per hour after
                              (the remaining impact counts as 0 when not given)
- revenue restored / period = override, else revenue restored per hour × hours in the period
                              (hour 1, day 24, week 168, month 720)
- resolution cost           = hours spent resolving × hourly rate
- break-even time           = resolution cost ÷ revenue restored per period (in periods; also
                              in hours as cost ÷ restored per hour); 0 when the cost is 0
- ROI %                     = (revenue restored per period − resolution cost) ÷ resolution cost × 100
                              (undefined, so None, when the cost is 0)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

PERIOD_HOURS = {"hour": Decimal(1), "day": Decimal(24), "week": Decimal(168), "month": Decimal(720)}
CENT = Decimal("0.01")
HOUR_SECONDS = Decimal(3600)


@dataclass(frozen=True)
class RoiInputs:
    started_at: datetime | None = None
    ended_at: datetime | None = None
    revenue_impact_per_hour: Decimal | None = None
    duration_hours_override: Decimal | None = None
    revenue_lost_override: Decimal | None = None
    remaining_impact_per_hour: Decimal | None = None
    resolution_hours: Decimal | None = None
    hourly_rate: Decimal | None = None
    revenue_restored_override: Decimal | None = None
    period: str = "month"


@dataclass(frozen=True)
class RoiResult:
    duration_hours: Decimal | None
    duration_is_override: bool
    revenue_lost: Decimal | None
    revenue_lost_is_override: bool
    restored_per_hour: Decimal | None
    restored_per_period: Decimal | None
    restored_is_override: bool
    period: str
    resolution_cost: Decimal | None
    break_even_periods: Decimal | None
    break_even_hours: Decimal | None
    roi_pct: Decimal | None


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 0 else None


def duration_hours(started_at: datetime | None, ended_at: datetime | None) -> Decimal | None:
    if started_at is None or ended_at is None or ended_at < started_at:
        return None
    return Decimal((ended_at - started_at).total_seconds()) / HOUR_SECONDS


def multiply(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None or b is None:
        return None
    return Decimal(a) * Decimal(b)


def divide(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    """numerator ÷ denominator, or None when either is missing or the denominator is zero."""
    if numerator is None or denominator is None or Decimal(denominator) == 0:
        return None
    return Decimal(numerator) / Decimal(denominator)


def compute(inputs: RoiInputs) -> RoiResult:
    period = inputs.period if inputs.period in PERIOD_HOURS else "month"
    rate = _dec(inputs.revenue_impact_per_hour)

    hours_override = _dec(inputs.duration_hours_override)
    hours = hours_override if hours_override is not None else duration_hours(
        inputs.started_at, inputs.ended_at)

    lost_override = _dec(inputs.revenue_lost_override)
    lost = lost_override if lost_override is not None else multiply(rate, hours)

    restored_per_hour = None
    if rate is not None:
        restored_per_hour = rate - (_dec(inputs.remaining_impact_per_hour) or Decimal(0))
    restored_override = _dec(inputs.revenue_restored_override)
    if restored_override is not None:
        restored_per_period = restored_override
        restored_per_hour = restored_override / PERIOD_HOURS[period]
    else:
        restored_per_period = multiply(restored_per_hour, PERIOD_HOURS[period])

    cost = multiply(_dec(inputs.resolution_hours), _dec(inputs.hourly_rate))
    if cost is not None and cost == 0:
        break_even_periods = break_even_hours = Decimal(0)
    else:
        # Nothing (or less than nothing) restored never pays back: no break-even to show.
        break_even_periods = divide(cost, _positive(restored_per_period))
        break_even_hours = divide(cost, _positive(restored_per_hour))
    roi = None
    if cost is not None and restored_per_period is not None:
        roi = divide((restored_per_period - cost) * 100, cost)

    return RoiResult(
        duration_hours=_round(hours),
        duration_is_override=hours_override is not None,
        revenue_lost=_round(lost),
        revenue_lost_is_override=lost_override is not None,
        restored_per_hour=_round(restored_per_hour),
        restored_per_period=_round(restored_per_period),
        restored_is_override=restored_override is not None,
        period=period,
        resolution_cost=_round(cost),
        break_even_periods=_round(break_even_periods),
        break_even_hours=_round(break_even_hours),
        roi_pct=_round(roi),
    )


def inputs_for(incident, postmortem=None) -> RoiInputs:
    """The one set of inputs behind every revenue and ROI figure (review, stakeholder summary
    text and PDF): the review's corrections when there is a review, else the incident's own
    figures over the default period. Duck-typed, so this module stays free of Django."""
    if postmortem is None:
        return RoiInputs(started_at=incident.detected_at, ended_at=incident.resolved_at,
                         revenue_impact_per_hour=incident.revenue_impact_per_hour)
    before = postmortem.before_revenue_impact
    return RoiInputs(
        started_at=postmortem.started_at or incident.detected_at,
        ended_at=postmortem.ended_at or incident.resolved_at,
        revenue_impact_per_hour=before if before is not None else incident.revenue_impact_per_hour,
        duration_hours_override=postmortem.duration_hours_override,
        revenue_lost_override=postmortem.revenue_lost_override,
        remaining_impact_per_hour=postmortem.after_revenue_impact,
        resolution_hours=postmortem.resolution_hours,
        hourly_rate=postmortem.hourly_rate,
        revenue_restored_override=postmortem.revenue_restored,
        period=postmortem.revenue_restored_period,
    )


def display(value: Decimal | None, suffix: str = "") -> str:
    """A figure for pages and exports: "—" when it cannot be computed."""
    if value is None:
        return "—"
    return f"{value:,.2f}{suffix}"
