from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from types import SimpleNamespace


from postmortems import roi
from postmortems.roi import RoiInputs, compute

START = datetime(2026, 3, 2, 9, 0, tzinfo=dt_timezone.utc)


def test_duration_and_revenue_lost_come_from_the_incident_times_and_hourly_impact():
    result = compute(RoiInputs(started_at=START, ended_at=START + timedelta(hours=2, minutes=30),
                               revenue_impact_per_hour=Decimal("400")))
    assert result.duration_hours == Decimal("2.50")
    assert result.revenue_lost == Decimal("1000.00")
    assert not result.duration_is_override


def test_entered_duration_and_revenue_lost_override_the_computed_ones():
    result = compute(RoiInputs(started_at=START, ended_at=START + timedelta(hours=2),
                               revenue_impact_per_hour=Decimal("400"),
                               duration_hours_override=Decimal("3"),
                               revenue_lost_override=Decimal("999.99")))
    assert result.duration_hours == Decimal("3.00")
    assert result.revenue_lost == Decimal("999.99")
    assert result.duration_is_override and result.revenue_lost_is_override


def test_entered_duration_alone_still_prices_the_revenue_lost():
    result = compute(RoiInputs(revenue_impact_per_hour=Decimal("100"),
                               duration_hours_override=Decimal("1.5")))
    assert result.revenue_lost == Decimal("150.00")


def test_cost_break_even_and_roi_follow_the_seed_formulas():
    result = compute(RoiInputs(revenue_impact_per_hour=Decimal("10"), resolution_hours=Decimal("8"),
                               hourly_rate=Decimal("90"), period="month"))
    assert result.resolution_cost == Decimal("720.00")          # 8 h × 90
    assert result.restored_per_period == Decimal("7200.00")     # 10/h × 720 h in a month
    assert result.break_even_hours == Decimal("72.00")          # 720 / 10 per hour
    assert result.break_even_periods == Decimal("0.10")         # a tenth of a month
    assert result.roi_pct == Decimal("900.00")                  # (7200 − 720) / 720 × 100


def test_remaining_impact_after_resolution_reduces_the_revenue_restored():
    result = compute(RoiInputs(revenue_impact_per_hour=Decimal("10"),
                               remaining_impact_per_hour=Decimal("4"), period="day"))
    assert result.restored_per_hour == Decimal("6.00")
    assert result.restored_per_period == Decimal("144.00")


def test_an_entered_revenue_restored_is_per_chosen_period():
    result = compute(RoiInputs(revenue_restored_override=Decimal("2400"), period="day",
                               resolution_hours=Decimal("10"), hourly_rate=Decimal("100")))
    assert result.restored_per_hour == Decimal("100.00")
    assert result.break_even_hours == Decimal("10.00")
    assert result.roi_pct == Decimal("140.00")


def test_missing_inputs_give_no_figure_rather_than_a_wrong_one():
    result = compute(RoiInputs())
    assert result.duration_hours is None
    assert result.revenue_lost is None
    assert result.resolution_cost is None
    assert result.break_even_hours is None
    assert result.roi_pct is None
    assert roi.display(result.roi_pct, "%") == "—"


def test_zero_cost_breaks_even_at_once_and_has_no_roi_percentage():
    result = compute(RoiInputs(revenue_impact_per_hour=Decimal("10"), resolution_hours=Decimal("0"),
                               hourly_rate=Decimal("80")))
    assert result.resolution_cost == Decimal("0.00")
    assert result.break_even_hours == Decimal("0")
    assert result.roi_pct is None


def test_nothing_restored_never_breaks_even_and_does_not_divide_by_zero():
    result = compute(RoiInputs(revenue_impact_per_hour=Decimal("0"), resolution_hours=Decimal("2"),
                               hourly_rate=Decimal("50")))
    assert result.restored_per_period == Decimal("0.00")
    assert result.break_even_hours is None
    assert result.roi_pct == Decimal("-100.00")


def test_an_end_before_the_start_gives_no_duration():
    assert roi.duration_hours(START, START - timedelta(minutes=1)) is None


def test_figures_display_with_thousands_and_two_decimals():
    assert roi.display(Decimal("1234567.891")) == "1,234,567.89"


# --- Which figures go in: the incident's own, or the review's corrections --------------------

INCIDENT = SimpleNamespace(detected_at=START, resolved_at=START + timedelta(hours=3),
                           revenue_impact_per_hour=Decimal("500"))


def review(**corrections):
    """A review with no corrections entered, except those given."""
    fields = dict(started_at=None, ended_at=None, before_revenue_impact=None,
                  duration_hours_override=None, revenue_lost_override=None,
                  after_revenue_impact=None, resolution_hours=None, hourly_rate=None,
                  revenue_restored=None, revenue_restored_period="month")
    return SimpleNamespace(**{**fields, **corrections})


def test_without_a_review_the_figures_are_the_incidents_own():
    assert roi.inputs_for(INCIDENT) == RoiInputs(
        started_at=START, ended_at=START + timedelta(hours=3),
        revenue_impact_per_hour=Decimal("500"))


def test_a_review_without_corrections_keeps_the_incidents_times_and_impact():
    inputs = roi.inputs_for(INCIDENT, review())

    assert (inputs.started_at, inputs.ended_at) == (START, START + timedelta(hours=3))
    assert inputs.revenue_impact_per_hour == Decimal("500")
    assert compute(inputs).revenue_lost == Decimal("1500.00")


def test_the_reviews_corrections_win_over_the_incidents_figures():
    corrected = review(
        started_at=START - timedelta(hours=1), ended_at=START + timedelta(hours=2),
        before_revenue_impact=Decimal("800"), duration_hours_override=Decimal("4"),
        revenue_lost_override=Decimal("2500"), after_revenue_impact=Decimal("100"),
        resolution_hours=Decimal("6"), hourly_rate=Decimal("90"),
        revenue_restored=Decimal("12000"), revenue_restored_period="year")

    assert roi.inputs_for(INCIDENT, corrected) == RoiInputs(
        started_at=START - timedelta(hours=1), ended_at=START + timedelta(hours=2),
        revenue_impact_per_hour=Decimal("800"), duration_hours_override=Decimal("4"),
        revenue_lost_override=Decimal("2500"), remaining_impact_per_hour=Decimal("100"),
        resolution_hours=Decimal("6"), hourly_rate=Decimal("90"),
        revenue_restored_override=Decimal("12000"), period="year")


def test_a_review_saying_no_revenue_was_at_stake_is_a_correction_not_a_blank():
    inputs = roi.inputs_for(INCIDENT, review(before_revenue_impact=Decimal("0")))

    assert inputs.revenue_impact_per_hour == Decimal("0")
    assert compute(inputs).revenue_lost == Decimal("0.00")


# --- Edges the figures must get right (each found by mutation testing) -----------------------


def test_one_missing_end_of_the_incident_gives_no_duration():
    assert roi.duration_hours(None, START) is None
    assert roi.duration_hours(START, None) is None


def test_an_unknown_period_counts_per_month_and_says_so():
    result = compute(RoiInputs(revenue_impact_per_hour=Decimal("2"), period="fortnight"))

    assert result.period == "month"
    assert result.restored_per_period == Decimal("1440.00")  # 2 per hour over 720 hours


def test_the_result_names_the_period_and_whether_revenue_restored_was_entered():
    entered = compute(RoiInputs(revenue_restored_override=Decimal("700"), period="week"))
    computed = compute(RoiInputs(revenue_impact_per_hour=Decimal("10"), period="week"))

    assert (entered.period, entered.restored_is_override) == ("week", True)
    assert (computed.period, computed.restored_is_override) == ("week", False)


def test_figures_round_half_up_to_the_cent_as_people_expect():
    result = compute(RoiInputs(revenue_lost_override=Decimal("0.125")))

    assert result.revenue_lost == Decimal("0.13")


def test_less_than_one_restored_per_hour_still_breaks_even():
    result = compute(RoiInputs(revenue_impact_per_hour=Decimal("0.5"), resolution_hours=Decimal("2"),
                               hourly_rate=Decimal("1")))

    assert result.break_even_hours == Decimal("4.00")


def test_a_cost_of_exactly_one_is_not_taken_for_free():
    result = compute(RoiInputs(revenue_impact_per_hour=Decimal("2"), resolution_hours=Decimal("1"),
                               hourly_rate=Decimal("1")))

    assert result.break_even_hours == Decimal("0.50")


def test_a_fix_that_cost_nothing_has_paid_back_at_once_even_with_nothing_restored():
    result = compute(RoiInputs(resolution_hours=Decimal("0"), hourly_rate=Decimal("80")))

    assert result.break_even_hours == Decimal("0.00")
    assert result.break_even_periods == Decimal("0.00")
