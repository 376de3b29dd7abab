"""Clock arithmetic: 24x7 is real elapsed time; business hours skip nights, weekends and
holidays on the calendar's own wall clock, across both 2026 DST changes in Europe and the US."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalation import sla
from escalation.models import BusinessCalendar, Holiday

from .conftest import AMSTERDAM, NEW_YORK, local

BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
AUCKLAND = ZoneInfo("Pacific/Auckland")

HOUR = timedelta(hours=1)
OFFICE = sla.WorkingCalendar(time_zone=AMSTERDAM)
NEW_YORK_OFFICE = sla.WorkingCalendar(time_zone=NEW_YORK)


def test_a_24x7_target_is_real_elapsed_time_across_the_european_spring_change():
    # 00:30 CET on 29 March + 4 h: the wall clock jumps 02:00 -> 03:00, so it reads 05:30 CEST.
    due = sla.add_time(local(AMSTERDAM, 2026, 3, 29, 0, 30), 4 * HOUR, clock="24x7", calendar=None)
    assert due == datetime(2026, 3, 29, 3, 30, tzinfo=UTC)
    assert due.astimezone(AMSTERDAM).hour == 5


def test_a_24x7_target_is_real_elapsed_time_across_the_us_autumn_change():
    # 00:30 EDT on 1 November + 4 h: 01:00-02:00 happens twice, so it reads 03:30 EST.
    due = sla.add_time(local(NEW_YORK, 2026, 11, 1, 0, 30), 4 * HOUR, clock="24x7", calendar=None)
    assert due.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 11, 1, 3, 30)


def test_business_hours_continue_on_monday_morning_after_a_weekend():
    due = sla.add_business_time(local(AMSTERDAM, 2026, 6, 12, 16, 0), 2 * HOUR, OFFICE)
    assert due == local(AMSTERDAM, 2026, 6, 15, 10, 0)


def test_business_hours_over_the_european_spring_change_keep_office_hours_on_the_wall_clock():
    # Friday 27 March 16:00 CET + 2 working hours = Monday 30 March 10:00 CEST (08:00 UTC).
    due = sla.add_business_time(local(AMSTERDAM, 2026, 3, 27, 16, 0), 2 * HOUR, OFFICE)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_business_hours_over_the_european_autumn_change_keep_office_hours_on_the_wall_clock():
    # Friday 23 October 16:00 CEST + 2 working hours = Monday 26 October 10:00 CET (09:00 UTC).
    due = sla.add_business_time(local(AMSTERDAM, 2026, 10, 23, 16, 0), 2 * HOUR, OFFICE)
    assert due == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_business_hours_over_the_us_spring_change():
    # Friday 6 March 16:00 EST + 2 working hours = Monday 9 March 10:00 EDT (14:00 UTC).
    due = sla.add_business_time(local(NEW_YORK, 2026, 3, 6, 16, 0), 2 * HOUR, NEW_YORK_OFFICE)
    assert due == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_business_hours_over_the_us_autumn_change():
    # Friday 30 October 16:00 EDT + 2 working hours = Monday 2 November 10:00 EST (15:00 UTC).
    due = sla.add_business_time(local(NEW_YORK, 2026, 10, 30, 16, 0), 2 * HOUR, NEW_YORK_OFFICE)
    assert due == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "change_day", "real_hours"),
    [
        (AMSTERDAM, date(2026, 3, 29), 3),  # 02:00-03:00 does not exist
        (AMSTERDAM, date(2026, 10, 25), 5),  # 02:00-03:00 happens twice
        (NEW_YORK, date(2026, 3, 8), 3),
        (NEW_YORK, date(2026, 11, 1), 5),
    ],
)
def test_working_hours_that_span_a_dst_change_count_the_real_hours_worked(zone, change_day,
                                                                         real_hours):
    night_shift = sla.WorkingCalendar(time_zone=zone, working_days=frozenset(range(7)),
                                      day_start=time(0, 30), day_end=time(4, 30))
    start = datetime.combine(change_day, time(0, 0), tzinfo=zone)
    end = datetime.combine(change_day, time(23, 0), tzinfo=zone)
    assert sla.business_time_between(start, end, night_shift) == real_hours * HOUR
    # and adding the day's working time lands exactly on its closing time
    closing = datetime.combine(change_day, time(4, 30), tzinfo=zone)
    assert sla.add_business_time(start, real_hours * HOUR, night_shift) == closing


def test_a_start_outside_working_hours_counts_from_the_next_opening():
    saturday = local(AMSTERDAM, 2026, 6, 13, 11, 0)
    assert sla.add_business_time(saturday, HOUR, OFFICE) == local(AMSTERDAM, 2026, 6, 15, 10, 0)
    evening = local(AMSTERDAM, 2026, 6, 15, 20, 0)
    assert sla.add_business_time(evening, HOUR, OFFICE) == local(AMSTERDAM, 2026, 6, 16, 10, 0)


def test_one_business_day_is_one_day_of_working_hours():
    monday_afternoon = local(AMSTERDAM, 2026, 6, 15, 15, 0)
    due = sla.add_time(monday_afternoon, timedelta(days=1), clock="business_hours",
                       calendar=OFFICE)
    assert due == local(AMSTERDAM, 2026, 6, 16, 15, 0)


def test_three_business_days_from_thursday_end_on_tuesday():
    thursday = local(AMSTERDAM, 2026, 6, 18, 11, 0)
    due = sla.add_time(thursday, timedelta(days=3), clock="business_hours", calendar=OFFICE)
    assert due == local(AMSTERDAM, 2026, 6, 23, 11, 0)


def test_listed_holidays_are_skipped():
    easter = sla.WorkingCalendar(time_zone=AMSTERDAM, holidays=frozenset({date(2026, 4, 6)}))
    # Friday 3 April 16:00 + 2 h: Easter Monday is off, so Tuesday 10:00.
    due = sla.add_business_time(local(AMSTERDAM, 2026, 4, 3, 16, 0), 2 * HOUR, easter)
    assert due == local(AMSTERDAM, 2026, 4, 7, 10, 0)


@pytest.fixture
def holidays_looked_up_afresh():
    """The country's holidays are looked up by this test, not taken from an earlier one's cache."""
    sla._country_holidays.cache_clear()
    yield
    sla._country_holidays.cache_clear()


def test_a_countrys_public_holidays_are_skipped(holidays_looked_up_afresh):
    dutch = sla.WorkingCalendar(time_zone=AMSTERDAM, country="NL")
    # King's Day is Monday 27 April 2026.
    due = sla.add_business_time(local(AMSTERDAM, 2026, 4, 24, 16, 0), 2 * HOUR, dutch)
    assert due == local(AMSTERDAM, 2026, 4, 28, 10, 0)


def test_working_time_between_two_moments_skips_the_weekend_and_can_be_negative():
    friday = local(AMSTERDAM, 2026, 3, 27, 16, 0)
    monday = local(AMSTERDAM, 2026, 3, 30, 10, 0)
    assert sla.business_time_between(friday, monday, OFFICE) == 2 * HOUR
    assert sla.business_time_between(monday, friday, OFFICE) == -2 * HOUR


def test_the_at_risk_point_is_a_share_of_the_working_time():
    friday = local(AMSTERDAM, 2026, 3, 27, 16, 0)
    due = sla.add_business_time(friday, 4 * HOUR, OFFICE)  # Monday 12:00
    at_risk = sla.point_after_share(friday, due, 0.75, clock="business_hours", calendar=OFFICE)
    assert at_risk == local(AMSTERDAM, 2026, 3, 30, 11, 0)


def test_a_calendar_without_working_days_is_refused_rather_than_looping_forever():
    never = sla.WorkingCalendar(time_zone=AMSTERDAM, working_days=frozenset())
    with pytest.raises(ValueError, match="no working time"):
        sla.add_business_time(local(AMSTERDAM, 2026, 1, 5, 9, 0), HOUR, never)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError,
                       match=r"^SLA arithmetic needs timezone-aware datetimes\.$"):
        sla.add_time(datetime(2026, 1, 5, 9, 0), HOUR, clock="24x7", calendar=None)


@pytest.mark.django_db
def test_the_default_calendar_is_office_hours_in_amsterdam_with_its_holiday_rows():
    calendar = BusinessCalendar.objects.get(is_default=True)
    Holiday.objects.create(calendar=calendar, date=date(2026, 12, 25), name="Christmas Day")
    working = calendar.working_calendar()
    assert working.time_zone == AMSTERDAM
    assert working.working_days == frozenset({0, 1, 2, 3, 4})
    assert (working.day_start, working.day_end) == (time(9), time(17))
    # Thursday 24 December 16:00 + 2 h: Christmas Day is off, then the weekend.
    due = sla.add_business_time(local(AMSTERDAM, 2026, 12, 24, 16, 0), 2 * HOUR, working)
    assert due == local(AMSTERDAM, 2026, 12, 28, 10, 0)


@pytest.mark.parametrize("end", [time(9, 0), time(8, 59)])
def test_a_working_day_that_ends_when_or_before_it_starts_is_refused(end):
    with pytest.raises(ValueError, match=r"^A working day must end after it starts\.$"):
        sla.WorkingCalendar(time_zone=AMSTERDAM, day_start=time(9, 0), day_end=end)


def test_a_regions_public_holidays_are_skipped_and_not_another_regions(holidays_looked_up_afresh):
    # Epiphany, Wednesday 6 January 2027, is a public holiday in Bavaria, not in Berlin.
    bavaria = sla.WorkingCalendar(time_zone=BERLIN, country="DE", subdivision="BY")
    berlin = sla.WorkingCalendar(time_zone=BERLIN, country="DE", subdivision="BE")
    tuesday = local(BERLIN, 2027, 1, 5, 16, 0)
    assert not bavaria.is_working_day(date(2027, 1, 6))
    assert sla.add_business_time(tuesday, 2 * HOUR, bavaria) == local(BERLIN, 2027, 1, 7, 10, 0)
    assert berlin.is_working_day(date(2027, 1, 6))
    assert sla.add_business_time(tuesday, 2 * HOUR, berlin) == local(BERLIN, 2027, 1, 6, 10, 0)


def test_a_target_of_a_day_and_two_hours_is_one_working_day_and_two_working_hours():
    assert sla.business_duration(timedelta(days=1, hours=2), OFFICE) == 10 * HOUR
    monday_opening = local(AMSTERDAM, 2026, 6, 15, 9, 0)
    due = sla.add_time(monday_opening, timedelta(days=1, hours=2), clock="business_hours",
                       calendar=OFFICE)
    assert due == local(AMSTERDAM, 2026, 6, 16, 11, 0)


def test_a_business_hours_clock_without_a_calendar_is_refused_in_words():
    with pytest.raises(ValueError, match=r"^A business-hours clock needs a calendar\.$"):
        sla.add_time(local(AMSTERDAM, 2026, 6, 15, 9, 0), HOUR, clock="business_hours",
                     calendar=None)


def test_an_immediate_target_on_business_hours_is_due_at_once_even_on_a_saturday():
    saturday = local(AMSTERDAM, 2026, 6, 13, 11, 0)
    assert sla.add_time(saturday, timedelta(0), clock="business_hours", calendar=OFFICE) == saturday


def test_no_working_time_passes_between_a_moment_and_itself():
    monday = local(AMSTERDAM, 2026, 6, 15, 10, 0)
    assert sla.business_time_between(monday, monday, OFFICE) == timedelta(0)
    assert sla.elapsed_between(monday, monday, clock="business_hours",
                               calendar=OFFICE) == timedelta(0)


def test_a_24x7_clock_counts_real_time_over_a_weekend_even_when_a_calendar_is_at_hand():
    friday = local(AMSTERDAM, 2026, 6, 12, 16, 0)
    monday = local(AMSTERDAM, 2026, 6, 15, 16, 0)
    assert sla.elapsed_between(friday, monday, clock="24x7", calendar=OFFICE) == 72 * HOUR
    # at risk after 75% of the 72 real hours: Sunday 22:00
    at_risk = sla.point_after_share(friday, monday, 0.75, clock="24x7", calendar=OFFICE)
    assert at_risk == local(AMSTERDAM, 2026, 6, 14, 22, 0)


@pytest.mark.parametrize("zone", [LOS_ANGELES, AUCKLAND], ids=["los-angeles", "auckland"])
def test_working_hours_across_a_night_are_counted_on_the_calendars_own_dates(zone):
    # Monday 7 December 2026 16:00 there is already Tuesday in UTC in Los Angeles, and Tuesday
    # 10:00 in Auckland is still Monday in UTC: each office's last and first hour both count.
    office = sla.WorkingCalendar(time_zone=zone)
    monday = local(zone, 2026, 12, 7, 16, 0)
    tuesday = local(zone, 2026, 12, 8, 10, 0)
    assert sla.business_time_between(monday, tuesday, office) == 2 * HOUR
    assert sla.add_business_time(monday, 2 * HOUR, office) == tuesday


def test_due_times_and_working_hours_are_given_in_utc_whatever_the_servers_time_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"  # the process's local time too (Django sets TZ)
    monday_opening = local(AMSTERDAM, 2026, 6, 15, 9, 0)
    sunday = local(AMSTERDAM, 2026, 6, 14, 11, 0)
    monday_closing = local(AMSTERDAM, 2026, 6, 15, 17, 0)
    assert OFFICE.window(date(2026, 6, 15)) == (monday_opening, monday_closing)
    due_times = [
        *OFFICE.window(date(2026, 6, 15)),
        sla.add_time(monday_opening, HOUR, clock="24x7", calendar=None),
        sla.add_business_time(monday_opening, HOUR, OFFICE),  # counted from the start
        sla.add_business_time(sunday, HOUR, OFFICE),  # counted from Monday's opening
        sla.point_after_share(monday_opening, monday_opening + HOUR, 0.5, clock="24x7",
                              calendar=None),
    ]
    assert [due.utcoffset() for due in due_times] == [timedelta(0)] * len(due_times)
