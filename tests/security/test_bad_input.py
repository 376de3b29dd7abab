"""Input one user sends must never break a page for everyone: out-of-range dates, line breaks in
titles, NUL characters in URLs. Each test is a regression for what the probe found."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import resolve, reverse

from escalation.channels import build_email
from escalation.notifications import notify
from incidents import services
from incidents.errors import ActionRefused
from incidents.models import Incident, IncidentRole, Service
from incidents.validation import (
    parse_datetime_in_range,
    validate_datetime_in_range,
    validate_single_line,
)

pytestmark = pytest.mark.django_db

YEAR_ONE = "0001-01-01T00:00"


@pytest.fixture
def declare_data(severities):
    return {"title": "Checkout returns 500", "description": "", "severity": severities["P2"].pk,
            "detected_at": "", "category": "technical", "currency": "EUR"}


# --- Dates --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [YEAR_ONE, "9999-12-31T23:59", "1969-12-31T23:00"])
def test_declaring_with_an_absurd_detection_time_is_a_form_error_and_creates_nothing(
        client_for, responder, declare_data, value):
    declare_data["detected_at"] = value
    response = client_for(responder).post(reverse("incidents:declare"), declare_data)
    assert response.status_code == 400
    assert "Give a date between 01 Jan 1970 and 31 Dec 2099." in response.content.decode()
    assert not Incident.objects.exists()


def test_the_incident_list_still_loads_after_an_absurd_detection_time_was_tried(
        client_for, responder, declare_data, declare):
    declare()
    declare_data["detected_at"] = YEAR_ONE
    client = client_for(responder)
    client.post(reverse("incidents:declare"), declare_data)
    assert client.get(reverse("incidents:list")).status_code == 200


def test_the_declare_service_refuses_a_detection_time_out_of_range(responder, severities):
    with pytest.raises(ActionRefused, match="out of range"):
        services.incident_declare(by=responder, title="Old", severity=severities["P3"],
                                  detected_at=datetime(1, 1, 1, tzinfo=UTC))
    assert not Incident.objects.exists()


def test_a_note_dated_in_year_one_is_a_form_error_and_adds_nothing(
        client_for, responder, declare):
    incident = declare()
    response = client_for(responder).post(
        reverse("incidents:add_note", args=[incident.reference]),
        {"note-text": "Long ago", "note-occurred_at": YEAR_ONE})
    assert response.status_code == 400
    assert "Give a date between" in response.content.decode()
    assert not incident.timeline.filter(text="Long ago").exists()


def test_the_note_services_refuse_a_time_out_of_range(responder, manager, declare):
    incident = declare()
    long_ago = datetime(1, 1, 1, tzinfo=UTC)
    with pytest.raises(ActionRefused, match="out of range"):
        services.timeline_add_note(incident, by=responder, text="x", occurred_at=long_ago)
    note = services.timeline_add_note(incident, by=responder, text="A note")
    with pytest.raises(ActionRefused, match="out of range"):
        services.timeline_entry_update(note, by=manager, occurred_at=long_ago)


@pytest.mark.parametrize("params", [
    {"date_from": "0001-01-01", "date_to": "0001-01-31"},
    {"date_from": "9999-12-01", "date_to": "9999-12-25"},
])
@pytest.mark.parametrize("name, status", [("dashboard", 200), ("export_csv", 400),
                                          ("export_xlsx", 400)])
def test_report_dates_out_of_range_are_a_clear_error(
        client_for, product_manager, params, name, status):
    """The dashboard shows the form error on the page; an export answers 400 with JSON."""
    response = client_for(product_manager).get(reverse(f"reports:{name}"), params)
    assert response.status_code == status
    assert "Give a date between" in response.content.decode()


def test_the_admin_refuses_a_timeline_time_out_of_range(client_for, manager, responder, declare):
    incident = declare()
    note = services.timeline_add_note(incident, by=responder, text="Deploy started")
    response = client_for(manager).post(
        reverse("admin:incidents_timelineentry_change", args=[note.pk]),
        {"occurred_at_0": "0001-01-01", "occurred_at_1": "00:00", "text": "Deploy started",
         "change_reason": "typo"})
    assert response.status_code == 200
    assert "Give a date between" in response.content.decode()
    note.refresh_from_db()
    assert note.occurred_at.year > 2000


def _date_form_fields(form_class):
    from django import forms
    return {name: field for name, field in form_class.base_fields.items()
            if isinstance(field, forms.DateField | forms.DateTimeField | forms.SplitDateTimeField)}


def test_every_date_field_of_every_admin_form_and_inline_is_bounded(superuser_request):
    unbounded = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in {"incidents", "escalation", "postmortems"}:
            continue  # Django's and libraries' admins (auth, django-axes) enter no dates
        forms_to_check = [("", model_admin.get_form(superuser_request))]
        for inline in model_admin.get_inline_instances(superuser_request):
            forms_to_check.append((f" inline {type(inline).__name__}",
                                   inline.get_formset(superuser_request).form))
        for where, form_class in forms_to_check:
            for name, field in _date_form_fields(form_class).items():
                if validate_datetime_in_range not in field.validators:
                    unbounded.append(f"{model.__name__}{where}.{name}")
    assert unbounded == []


@pytest.fixture
def superuser_request(db):
    request = RequestFactory().get("/admin/")
    request.resolver_match = resolve("/admin/")
    request.user = User.objects.create_superuser("root", "root@example.com", "x")
    return request


def test_machine_input_is_parsed_and_bounded():
    assert parse_datetime_in_range("2026-03-10T14:05:00Z") == datetime(2026, 3, 10, 14, 5,
                                                                       tzinfo=UTC)
    with pytest.raises(ValidationError, match="out of range"):
        parse_datetime_in_range("0001-01-01T00:00:00Z", "startsAt")
    with pytest.raises(ValidationError, match="not an ISO 8601"):
        parse_datetime_in_range("yesterday", "startsAt")


# --- Titles and mail subjects ---------------------------------------------------------------


@pytest.mark.parametrize("title", ["Checkout\r\nBcc: everyone@example.com", "Line\nbreak"])
def test_a_title_with_a_line_break_is_a_form_error(client_for, responder, declare_data, title):
    declare_data["title"] = title
    response = client_for(responder).post(reverse("incidents:declare"), declare_data)
    assert response.status_code == 400
    assert "Keep this on one line" in response.content.decode()
    assert not Incident.objects.exists()


def test_the_services_refuse_a_multi_line_title(responder, severities, declare):
    with pytest.raises(ActionRefused, match="one line"):
        services.incident_declare(by=responder, title="a\r\nb", severity=severities["P3"])
    incident = declare()
    with pytest.raises(ActionRefused, match="one line"):
        services.incident_update_impact(incident, by=responder, title="a\nb")


def test_mail_about_an_incident_with_a_stored_multi_line_title_is_still_sent(
        responder, declare):
    incident = declare()
    Incident.objects.filter(pk=incident.pk).update(title="Checkout\r\nBcc: x@example.com")
    incident.refresh_from_db()
    [notification] = [n for n in notify(subject=incident, reason="test.title",
                                        recipients=[responder], incident=incident,
                                        title=f"{incident.reference}: {incident.title}")
                      if n.channel == "email"]
    message = build_email(notification)
    message.send()
    assert mail.outbox[-1].subject == f"[Firebreak] {incident.reference}: Checkout Bcc: x@example.com"


def test_single_line_validator_accepts_ordinary_titles():
    validate_single_line("Checkout returns 500 – payments (EU)")


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/incidents/INC-2026-0001%00/", "/war-room/INC%00/", "/reviews/INC%00/",
    "/reports/incidents/INC%00/summary.txt", "/escalation/incidents/INC%00/escalate/",
])
def test_a_nul_character_in_a_reference_is_404(client_for, incident_manager, path):
    assert client_for(incident_manager).get(path).status_code == 404


def test_an_old_version_of_a_service_can_be_viewed_in_the_admin(client_for, manager):
    service = Service.objects.create(name="Payments", slug="payments")
    service.name = "Payments API"
    service._change_reason = "Renamed"
    service.save()
    first = service.history.order_by("history_id").first()
    response = client_for(manager).get(reverse(
        "admin:incidents_service_simple_history", args=[service.pk, first.history_id]))
    assert response.status_code == 200
    assert "Payments" in response.content.decode()


def test_the_migration_joins_the_lines_of_stored_titles(declare):
    from importlib import import_module

    from django.apps import apps as global_apps

    incident = declare()
    Incident.objects.filter(pk=incident.pk).update(title="Checkout\r\n  down")
    migration = import_module("incidents.migrations.0022_single_line_titles")
    migration.join_title_lines(global_apps, None)
    incident.refresh_from_db()
    assert incident.title == "Checkout down"


# --- The admin follows the staff pages' rules ---------------------------------------------------


def test_the_admin_triage_refuses_a_product_manager_as_incident_manager(
        client_for, manager, product_manager, declare):
    incident = declare()
    response = client_for(manager).post(
        reverse("admin:incidents_incident_transition", args=[incident.pk, "triage"]),
        {"severity": incident.severity_id, "incident_manager": product_manager.pk, "reason": ""})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    incident.refresh_from_db()
    assert incident.state == Incident.State.REPORTED and incident.incident_manager is None


def test_the_role_service_refuses_someone_who_does_not_work_incidents(
        incident_manager, product_manager, declare):
    incident = declare()
    with pytest.raises(ActionRefused, match="does not work incidents"):
        services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                      user=product_manager)
    with pytest.raises(ActionRefused, match="does not work incidents"):
        services.incident_triage(incident, by=incident_manager, incident_manager=product_manager)


def test_a_role_may_go_to_a_member_of_the_group_it_pages(incident_manager, product_manager,
                                                          declare):
    """A procedure may page product managers to lead communications; that makes them eligible
    for that role only."""
    IncidentRole.objects.filter(incident_field="communications_lead").update(
        group=Group.objects.get(name="Product manager"))
    incident = declare()
    services.incident_assign_role(incident, by=incident_manager, role="communications_lead",
                                  user=product_manager)
    incident.refresh_from_db()
    assert incident.communications_lead == product_manager
    with pytest.raises(ActionRefused, match="does not work incidents"):
        services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                      user=product_manager)
