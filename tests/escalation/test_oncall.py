"""On-call rotas: turns with a wall-clock hand-off that survives DST changes, overrides, the
on-call page, and rotas as escalation targets and daily log checker."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from escalation import selectors
from escalation.models import Notification, Rota, RotaOverride

from .conftest import AMSTERDAM, NEW_YORK, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def rota(make_user):
    """Daily 09:00 Amsterdam hand-off; Anna starts on Monday 5 January 2026, then Ben, Cleo."""
    rota = Rota.objects.create(name="Platform", time_zone="Europe/Amsterdam",
                               handoff_time=time(9), shift_length=timedelta(days=1),
                               rotation_start=date(2026, 1, 5))
    for order, name in enumerate(["anna", "ben", "cleo"]):
        rota.members.create(user=make_user("Responder", username=name), order=order)
    return rota


def on_call(rota, moment) -> str | None:
    user = selectors.on_call_now(rota, moment)
    return user.username if user else None


def test_members_take_turns_handing_off_at_the_handoff_time(rota):
    assert on_call(rota, local(AMSTERDAM, 2026, 1, 5, 9, 0)) == "anna"
    assert on_call(rota, local(AMSTERDAM, 2026, 1, 6, 8, 59)) == "anna"
    assert on_call(rota, local(AMSTERDAM, 2026, 1, 6, 9, 0)) == "ben"
    assert on_call(rota, local(AMSTERDAM, 2026, 1, 7, 12, 0)) == "cleo"
    assert on_call(rota, local(AMSTERDAM, 2026, 1, 8, 12, 0)) == "anna"
    assert on_call(rota, local(AMSTERDAM, 2026, 1, 5, 8, 0)) == "cleo"  # before the start: wraps


@pytest.mark.parametrize("change_day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_the_handoff_stays_at_nine_on_the_wall_clock_across_european_dst_changes(rota, change_day):
    # 01:00 on the change day: in the shift that began at 09:00 the day before.
    before = selectors.on_call_shift(rota, datetime.combine(change_day, time(1), tzinfo=AMSTERDAM))
    after = selectors.on_call_shift(rota, before.ends_at)
    assert before.ends_at.astimezone(AMSTERDAM).time() == time(9)
    assert before.ends_at.astimezone(AMSTERDAM).date() == change_day
    assert after.user != before.user
    # The shift over the change is an hour shorter (spring) or longer (autumn) in real time.
    real = before.ends_at - before.starts_at
    assert real == timedelta(hours=23 if change_day.month == 3 else 25)


def test_the_handoff_stays_at_nine_across_us_dst_changes(rota):
    rota.time_zone = "America/New_York"
    rota.save()
    for moment in (local(NEW_YORK, 2026, 3, 8, 12, 0), local(NEW_YORK, 2026, 11, 1, 12, 0)):
        shift = selectors.on_call_shift(rota, moment)
        assert shift.starts_at.astimezone(NEW_YORK).time() == time(9)
        assert shift.ends_at.astimezone(NEW_YORK).time() == time(9)


def test_an_override_covers_its_period_and_the_newest_override_wins(rota, make_user):
    dana, eve = make_user(username="dana"), make_user(username="eve")
    start = local(AMSTERDAM, 2026, 1, 6, 12, 0)
    RotaOverride.objects.create(rota=rota, user=dana, starts_at=start,
                                ends_at=start + timedelta(hours=6), created_at=start)
    RotaOverride.objects.create(rota=rota, user=eve, starts_at=start + timedelta(hours=2),
                                ends_at=start + timedelta(hours=3),
                                created_at=start + timedelta(minutes=5))
    assert on_call(rota, start - timedelta(minutes=1)) == "ben"
    assert on_call(rota, start) == "dana"
    assert on_call(rota, start + timedelta(hours=2, minutes=30)) == "eve"
    assert on_call(rota, start + timedelta(hours=5)) == "dana"
    assert on_call(rota, start + timedelta(hours=6)) == "ben"


def test_a_rota_without_members_has_nobody_on_call():
    assert selectors.on_call_now(Rota.objects.get(name="Daily log checker")) is None


def test_the_on_call_page_lists_who_is_on_call_per_rota_in_few_queries(
    client, rota, responder, django_assert_max_num_queries
):
    client.force_login(responder)
    with time_machine.travel(local(AMSTERDAM, 2026, 1, 6, 10, 0), tick=False):
        with django_assert_max_num_queries(12):
            response = client.get(reverse("escalation:oncall"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Platform" in page and "Daily log checker" in page and "On-call developer" in page
    assert response.context["rotas"][2]["shift"].user.username == "ben"


def test_the_on_call_page_needs_a_login(client):
    response = client.get(reverse("escalation:oncall"))
    assert response.status_code == 302


def test_whoever_is_on_call_is_called_when_the_first_level_escalates(
    on_call_developer, levels, make_user
):
    dev = make_user("Responder", username="devon")
    on_call_developer.members.create(user=dev, order=0)
    assert dev in selectors.level_people(levels[1])


def test_the_daily_log_checker_is_asked_to_triage_a_new_incident(declare, make_user):
    checker = make_user("Incident manager", username="checker")
    Rota.objects.get(name="Daily log checker").members.create(user=checker, order=0)
    with time_machine.travel(datetime(2026, 6, 15, 8, 0, tzinfo=UTC), tick=False):
        incident = declare(severity="P2")
    asked = Notification.objects.get(reason="triage.on_duty", channel="inapp")
    assert asked.recipient == checker and asked.incident == incident
