"""Report periods are whole days in the organisation's time zone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from incidents import beat
from incidents.reports import periods
from incidents.reports.periods import PeriodError, ReportPeriod

UTC = ZoneInfo("UTC")


def test_a_period_runs_from_local_midnight_to_the_next_local_midnight_after_its_last_day():
    # 25 Oct 2026 is the end of summer time in Amsterdam: that day has 25 hours.
    period = ReportPeriod(date(2026, 10, 25), date(2026, 10, 25))
    assert period.start_at.astimezone(UTC) == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert period.end_at.astimezone(UTC) == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize("name, start, end", [
    ("last_7", date(2026, 11, 12), date(2026, 11, 18)),
    ("last_30", date(2026, 10, 20), date(2026, 11, 18)),
    ("last_90", date(2026, 8, 21), date(2026, 11, 18)),
    ("this_month", date(2026, 11, 1), date(2026, 11, 18)),
    ("last_month", date(2026, 10, 1), date(2026, 10, 31)),
])
def test_presets_count_back_from_today(name, start, end):
    assert periods.preset_period(name, today=date(2026, 11, 18)) == ReportPeriod(start, end)


def test_last_month_in_january_is_december_of_the_year_before():
    assert periods.month_period_before(date(2027, 1, 3)) == ReportPeriod(date(2026, 12, 1),
                                                                         date(2026, 12, 31))


def test_last_week_is_the_whole_iso_week_before_today():
    assert periods.week_period_before(date(2026, 11, 23)) == ReportPeriod(date(2026, 11, 16),
                                                                          date(2026, 11, 22))
    assert periods.week_period_before(date(2026, 11, 29)) == ReportPeriod(date(2026, 11, 16),
                                                                          date(2026, 11, 22))


def test_a_period_that_ends_before_it_starts_or_spans_years_is_refused_in_words():
    with pytest.raises(PeriodError, match="is after the end date"):
        ReportPeriod(date(2026, 11, 2), date(2026, 11, 1))
    with pytest.raises(PeriodError, match="at most"):
        ReportPeriod(date(2016, 1, 1), date(2026, 1, 1))


def test_the_previous_period_has_the_same_number_of_days():
    assert ReportPeriod(date(2026, 3, 1), date(2026, 3, 31)).previous() == ReportPeriod(
        date(2026, 1, 29), date(2026, 2, 28))


def test_the_beat_asks_for_both_summaries_every_day_and_settings_include_them():
    tasks = {entry["task"] for entry in beat.BEAT_SCHEDULE.values()}
    assert {"incidents.reports.tasks.send_weekly_summary",
            "incidents.reports.tasks.send_monthly_summary"} <= tasks
    for name in beat.BEAT_SCHEDULE:
        assert name in settings.CELERY_BEAT_SCHEDULE


def test_the_celery_worker_registers_the_summary_tasks():
    from config.celery import app

    app.loader.import_default_modules()
    assert "incidents.reports.tasks.send_weekly_summary" in app.tasks
    assert "incidents.reports.tasks.send_monthly_summary" in app.tasks
