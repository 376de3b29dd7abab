import pytest
from django.urls import reverse

from incidents.models import Incident, IncidentType, Service, SeverityLevel, TimelineEntry

from .conftest import admin_url, inline_management, messages_of

pytestmark = pytest.mark.django_db


def test_incident_changelist_change_history_and_add_pages_load_for_a_manager(
    manager_client, declare
):
    incident = declare(title="Checkout returns 500")
    for url in (
        admin_url("changelist"),
        admin_url("change", incident.pk),
        admin_url("history", incident.pk),
        admin_url("add"),
        admin_url("transition", incident.pk, "triage"),
        admin_url("severity", incident.pk),
        admin_url("roles", incident.pk),
    ):
        response = manager_client.get(url)
        assert response.status_code == 200, url
    assert b"Checkout returns 500" in manager_client.get(admin_url("changelist")).content


def test_severity_service_and_timeline_pages_load_for_a_manager(manager_client, declare, payments):
    declare()
    severity = SeverityLevel.objects.get(code="P1")
    entry = TimelineEntry.objects.first()
    for url in (
        reverse("admin:incidents_severitylevel_changelist"),
        reverse("admin:incidents_severitylevel_change", args=[severity.pk]),
        reverse("admin:incidents_severitylevel_history", args=[severity.pk]),
        reverse("admin:incidents_severitylevel_add"),
        reverse("admin:incidents_service_changelist"),
        reverse("admin:incidents_service_change", args=[payments.pk]),
        reverse("admin:incidents_service_add"),
        reverse("admin:incidents_timelineentry_changelist"),
        reverse("admin:incidents_timelineentry_change", args=[entry.pk]),
    ):
        assert manager_client.get(url).status_code == 200, url


def test_the_change_form_shows_state_as_text_and_offers_the_transition_buttons(
    manager_client, declare
):
    incident = declare()
    response = manager_client.get(admin_url("change", incident.pk))
    form = response.context["adminform"].form
    assert "state" not in form.fields
    assert "severity" not in form.fields
    assert "incident_manager" not in form.fields
    names = [t["name"] for t in response.context["incident_actions"]["transitions"]]
    assert names == ["triage", "cancel", "mark_duplicate"]
    assert admin_url("transition", incident.pk, "triage").encode() in response.content


def test_the_timeline_inline_lists_entries_in_time_order_with_full_date_and_time(
    manager_client, declare
):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from incidents import services

    with time_machine.travel(dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC), tick=False):
        incident = declare(detected_at=timezone.now() - dt.timedelta(minutes=20))
        services.timeline_add_note(incident, by=incident.reporter, text="Paged the DBA.")
    response = manager_client.get(admin_url("change", incident.pk))
    inline = response.context["inline_admin_formsets"][0]
    texts = [inline_form.original.text for inline_form in inline]
    assert texts[0] == "Issue detected."  # occurred 20 minutes before the declaration
    assert texts[-1] == "Paged the DBA."
    # Shown in the organisation's time zone (Europe/Amsterdam) with weekday, date and time.
    assert b"Mon 2 Mar 2026, 15:10 CET" in response.content


def test_adding_an_incident_in_the_admin_declares_it_through_the_service(
    manager_client, manager, severities, payments
):
    response = manager_client.post(admin_url("add"), {
        "title": "Registration emails delayed", "description": "Queue backlog.",
        "severity": severities["P2"].pk, "services": [payments.pk],
        "detected_at_0": "2026-01-05", "detected_at_1": "09:00:00",
        "currency": "EUR", "incident_type": IncidentType.default_pk(),
    })
    assert response.status_code == 302, response.context and response.context["errors"]
    incident = Incident.objects.get(title="Registration emails delayed")
    assert incident.reference.startswith("INC-")
    assert incident.reporter == manager
    assert list(incident.services.all()) == [payments]
    assert incident.history.get().history_change_reason == "Declared"
    assert incident.timeline.filter(kind="declared").exists()


def test_an_incident_detected_in_the_future_is_refused_with_a_form_error(
    manager_client, severities
):
    response = manager_client.post(admin_url("add"), {
        "title": "Time traveller", "severity": severities["P2"].pk,
        "detected_at_0": "2099-01-05", "detected_at_1": "09:00:00",
        "currency": "EUR", "incident_type": IncidentType.default_pk(),
    })
    assert response.status_code == 200
    assert "cannot be in the future" in str(response.context["adminform"].form.errors)
    assert not Incident.objects.exists()


def test_editing_the_title_needs_a_reason_and_records_it_with_the_user(
    manager_client, manager, declare
):
    incident = declare(title="Checkout slow")
    url = admin_url("change", incident.pk)
    data = {
        "title": "Checkout slow for card payments", "description": "", "workaround": "",
        "currency": "EUR", "incident_type": IncidentType.default_pk(), "root_cause_category": "",
        "expected_version": incident.version, "change_reason": "",
        **inline_management(incident),
    }
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    incident.refresh_from_db()
    assert incident.title == "Checkout slow"

    response = manager_client.post(url, {**data, "change_reason": "More precise title"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Checkout slow for card payments"
    latest = incident.history.first()
    assert (latest.history_user, latest.history_change_reason) == (manager, "More precise title")
    assert incident.timeline.filter(kind="impact").exists()


def test_a_stale_edit_is_refused_and_keeps_the_other_persons_change(
    manager_client, manager, declare
):
    from incidents import services

    incident = declare(title="Checkout slow")
    stale_version = incident.version
    services.incident_update_impact(incident, by=manager, customers_affected=120)
    response = manager_client.post(admin_url("change", incident.pk), {
        "title": "Overwritten?", "currency": "EUR", "incident_type": IncidentType.default_pk(),
        "expected_version": stale_version, "change_reason": "Typo",
        **inline_management(incident),
    })
    assert response.status_code == 200
    assert "changed this incident while you were editing" in str(
        response.context["adminform"].form.errors)
    incident.refresh_from_db()
    assert (incident.title, incident.customers_affected) == ("Checkout slow", 120)


def test_changing_severity_goes_through_the_service_with_the_reason(
    manager_client, manager, declare, severities
):
    incident = declare(severity="P2")
    response = manager_client.post(admin_url("severity", incident.pk), {
        "severity": severities["P0"].pk, "reason": "All card payments fail",
        "expected_version": incident.version,
    })
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.severity.code == "P0"
    assert incident.history.first().history_change_reason == "All card payments fail"
    assert incident.timeline.filter(kind="severity", author=manager).exists()


def test_assigning_a_role_goes_through_the_service(manager_client, declare, incident_manager):
    incident = declare()
    response = manager_client.post(admin_url("roles", incident.pk), {
        "role": "incident_manager", "person": incident_manager.pk,
        "reason": "On call this week", "expected_version": incident.version,
    })
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.incident_manager == incident_manager
    assert incident.responders.filter(pk=incident_manager.pk).exists()
    assert incident.timeline.filter(kind="role").exists()


def test_incidents_and_timeline_entries_cannot_be_deleted_even_by_a_superuser(
    declare, make_user
):
    from django.test import Client

    incident = declare()
    client = Client()
    client.force_login(make_user(is_staff=True, is_superuser=True))
    assert client.get(admin_url("delete", incident.pk)).status_code == 403
    entry = incident.timeline.first()
    delete_entry = reverse("admin:incidents_timelineentry_delete", args=[entry.pk])
    assert client.get(delete_entry).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_a_staff_responder_sees_incidents_read_only_and_cannot_configure_severities(
    staff_responder, declare
):
    from django.test import Client

    incident = declare()
    client = Client()
    client.force_login(staff_responder)
    assert client.get(admin_url("changelist")).status_code == 200
    response = client.get(admin_url("change", incident.pk))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert client.get(reverse("admin:incidents_severitylevel_add")).status_code == 403
    assert client.get(admin_url("severity", incident.pk)).status_code == 403


def test_editing_a_severity_level_records_the_manager_and_the_reason(manager_client, manager):
    level = SeverityLevel.objects.get(code="P3")
    url = reverse("admin:incidents_severitylevel_change", args=[level.pk])
    data = {
        "code": "P3", "name": level.name, "rank": level.rank, "description": level.description,
        "examples": level.examples, "response_target": "2 00:00:00",
        "resolution_target": "10 00:00:00", "update_cadence": "",
        "clock": level.clock, "postmortem_required": "", "postmortem_due_within": "",
        "firefighting": level.firefighting, "public_status": level.public_status,
        "change_reason": "",
    }
    response = manager_client.post(url, data)
    assert response.status_code == 200  # a reason is required
    response = manager_client.post(url, {**data, "change_reason": "New support contract"})
    assert response.status_code == 302, response.context and response.context["errors"]
    latest = level.history.first()
    assert (latest.history_user, latest.history_change_reason) == (
        manager, "New support contract")


def test_a_manager_can_add_a_service_and_history_records_who_added_it(manager_client, manager):
    response = manager_client.post(reverse("admin:incidents_service_add"), {
        "name": "Registration", "slug": "registration", "is_critical_path": "on",
        "is_public": "on",
    })
    assert response.status_code == 302
    service = Service.objects.get(slug="registration")
    assert service.history.get().history_user == manager
    assert messages_of(response)


def test_a_note_corrected_in_the_admin_goes_through_the_service_with_a_reason(
    manager_client, manager, declare
):
    from django.utils import timezone

    from incidents import services

    incident = declare()
    note = services.timeline_add_note(incident, by=manager, text="DB failvoer started")
    url = reverse("admin:incidents_timelineentry_change", args=[note.pk])
    shown_at = timezone.localtime(note.occurred_at)  # the form works in the local time zone
    response = manager_client.post(url, {
        "occurred_at_0": shown_at.strftime("%Y-%m-%d"),
        "occurred_at_1": shown_at.strftime("%H:%M:%S"),
        "text": "DB failover started", "is_key_event": "on", "change_reason": "Typo",
    })
    assert response.status_code == 302, response.context and response.context["errors"]
    note.refresh_from_db()
    assert (note.text, note.is_key_event) == ("DB failover started", True)
    latest = note.history.first()
    assert (latest.history_user, latest.history_change_reason) == (manager, "Typo")


def test_an_automatic_timeline_entry_keeps_its_text_and_time_in_the_admin(
    manager_client, declare
):
    incident = declare()
    entry = incident.timeline.get(kind="declared")
    response = manager_client.get(
        reverse("admin:incidents_timelineentry_change", args=[entry.pk]))
    form = response.context["adminform"].form
    assert "text" not in form.fields and "occurred_at" not in form.fields
    assert "is_key_event" in form.fields
