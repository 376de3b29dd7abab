"""Durations are typed as people write them ("90m", "4h", "1 business day"), shown back the
same way, and bounded per field: absurd or negative values are refused with a message that
names the field and the allowed range, in the admin and in model validation (procedure import)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from escalation import sla
from escalation.models import Rota
from incidents.durations import (
    DurationFormField,
    DurationSyntaxError,
    format_duration,
    parse,
)
from incidents.models import SeverityLevel

from .conftest import admin_form_data

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.mark.parametrize("text, expected", [
    ("90m", 90 * timedelta(minutes=1)),
    ("4h", 4 * H),
    ("2d", 2 * D),
    ("1d 4h", D + 4 * H),
    ("2 hours and 30 minutes", 2.5 * H),
    ("1.5h", 90 * timedelta(minutes=1)),
    ("1w", 7 * D),
    ("1 business day", D),
    ("3 Business Days", 3 * D),
    ("immediate", timedelta(0)),
    ("0", timedelta(0)),
    ("1 02:00:00", D + 2 * H),  # what the admin showed before: still understood
])
def test_durations_are_typed_as_people_write_them(text, expected):
    assert parse(text).value == expected


@pytest.mark.parametrize("text", ["", "5", "abc", "5 parsecs", "4h x", "h4"])
def test_text_that_is_not_a_duration_is_refused_with_examples(text):
    with pytest.raises(DurationSyntaxError):
        parse(text)


@pytest.mark.parametrize("value, shown", [
    (90 * timedelta(minutes=1), "90m"), (4 * H, "4h"), (2 * D, "2d"), (36 * H, "36h"),
    (2 * H + 5 * timedelta(minutes=1), "2h 5m"), (timedelta(0), "0m"),
])
def test_durations_are_shown_back_in_the_same_notation(value, shown):
    assert format_duration(value) == shown
    assert parse(shown).value == value


def test_on_a_business_clock_whole_days_read_as_business_days():
    assert format_duration(D, business_days=True) == "1 business day"
    assert format_duration(36 * H, business_days=True) == "1 business day 12h"
    assert parse("1 business day 12h").value == 36 * H


def test_one_business_day_from_friday_afternoon_ends_on_monday_afternoon():
    """The documented meaning: a whole day on a business-hours clock is one working day of
    the severity's calendar, so it skips the weekend."""
    calendar = sla.WorkingCalendar(time_zone=ZoneInfo("Europe/Amsterdam"))
    friday_3pm = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 15:00 in Amsterdam
    due = sla.add_time(friday_3pm, parse("1 business day").value, clock=sla.BUSINESS_HOURS,
                       calendar=calendar)
    assert due == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 15:00


def test_the_form_field_refuses_out_of_range_with_the_field_name_and_range():
    field = DurationFormField(label="Resolution target", minimum=timedelta(minutes=1),
                              maximum=timedelta(days=365))
    with pytest.raises(ValidationError) as refused:
        field.clean("999999999d")
    assert refused.value.messages == ["Resolution target must be from 1m to 1 year."]
    with pytest.raises(ValidationError) as negative:
        field.clean("-5m")
    assert negative.value.messages == ["Resolution target must be from 1m to 1 year."]
    with pytest.raises(ValidationError) as overflow:  # beyond what timedelta can hold
        field.clean("99999999999d")
    assert "Resolution target must be from 1m to 1 year." in overflow.value.messages


def test_model_validation_refuses_absurd_durations_for_procedure_import(severities):
    level = severities["P1"]
    level.resolution_target = timedelta(days=999_999_999)
    level.response_target = -H
    with pytest.raises(ValidationError) as refused:
        level.full_clean()
    assert refused.value.message_dict == {
        "resolution_target": ["Resolution target must be from 1m to 1 year."],
        "response_target": ["Response target must be from 0m to 1 year."],
    }


# --- In the admin ----------------------------------------------------------------------------


def severity_url(level):
    return reverse("admin:incidents_severitylevel_change", args=[level.pk])


def test_the_admin_shows_targets_as_typed_and_business_days_on_a_business_clock(
    manager_client, severities
):
    p1 = manager_client.get(severity_url(severities["P1"]))
    p1_form = p1.context["adminform"].form
    assert p1_form["response_target"].value() == "4h"
    assert p1_form["resolution_target"].value() == "1d"
    p2 = manager_client.get(severity_url(severities["P2"]))  # business-hours clock
    assert p2.context["adminform"].form["response_target"].value() == "1 business day"
    assert 'value="1 business day"' in p2.content.decode()


def test_a_target_typed_as_text_is_saved_with_history(manager_client, severities):
    url = severity_url(severities["P1"])
    data = admin_form_data(manager_client.get(url))
    data.update(response_target="90m", change_reason="Seed 001 response within the hour")
    response = manager_client.post(url, data)
    assert response.status_code == 302
    level = SeverityLevel.objects.get(code="P1")
    assert level.response_target == 90 * timedelta(minutes=1)
    assert level.history.first().history_change_reason == "Seed 001 response within the hour"


def test_a_999999999_day_target_is_refused_in_the_admin_and_nothing_changes(
    manager_client, severities
):
    url = severity_url(severities["P1"])
    data = admin_form_data(manager_client.get(url))
    data.update(resolution_target="999999999d", change_reason="typo")
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["resolution_target"] == [
        "Resolution target must be from 1m to 1 year."]
    assert SeverityLevel.objects.get(code="P1").resolution_target == D


def test_a_negative_target_is_refused_in_the_admin(manager_client, severities):
    url = severity_url(severities["P1"])
    data = admin_form_data(manager_client.get(url))
    data.update(response_target="-1h", change_reason="typo")
    response = manager_client.post(url, data)
    assert "Response target must be from 0m to 1 year." in response.content.decode()
    assert SeverityLevel.objects.get(code="P1").response_target == 4 * H


def test_business_days_on_a_24x7_severity_are_refused_rather_than_taken_as_24_hours(
    manager_client, severities
):
    url = severity_url(severities["P1"])
    data = admin_form_data(manager_client.get(url))
    data.update(resolution_target="1 business day", change_reason="Seed 004 wording")
    response = manager_client.post(url, data)
    errors = response.context["adminform"].form.errors["resolution_target"]
    assert "business days need the business-hours clock" in errors[0]
    data.update(clock=SeverityLevel.Clock.BUSINESS_HOURS)
    assert manager_client.post(url, data).status_code == 302


def test_a_3000000_day_rota_shift_is_refused_in_the_admin(manager_client):
    rota = Rota.objects.create(name="Ops", shift_length=D)
    url = reverse("admin:escalation_rota_change", args=[rota.pk])
    data = admin_form_data(manager_client.get(url))
    data.update(shift_length="3000000d")
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["shift_length"] == [
        "Shift length must be from 15m to 90d."]
    rota.refresh_from_db()
    assert rota.shift_length == D
    data.update(shift_length="12h")
    assert manager_client.post(url, data).status_code == 302
    rota.refresh_from_db()
    assert rota.shift_length == 12 * H
