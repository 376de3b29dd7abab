import pytest
from django.test import Client

from incidents import guards
from incidents.models import Incident

from .conftest import admin_url, messages_of

pytestmark = pytest.mark.django_db


def test_triage_from_the_admin_records_history_user_reason_and_a_timeline_entry(
    manager_client, manager, incident_manager, declare, severities
):
    incident = declare(severity="P2")
    response = manager_client.post(admin_url("transition", incident.pk, "triage"), {
        "severity": severities["P1"].pk, "incident_manager": incident_manager.pk,
        "reason": "Confirmed on the bridge call",
    })
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.state == "triaged"
    assert incident.severity.code == "P1"
    assert incident.incident_manager == incident_manager
    latest = incident.history.first()
    assert latest.state == "triaged"
    assert (latest.history_user, latest.history_change_reason) == (
        manager, "Confirmed on the bridge call")
    entry = incident.timeline.filter(kind="transition").get()
    assert entry.author == manager
    assert entry.data == {"transition": "triage", "source": "reported", "target": "triaged"}


def test_a_transition_without_input_is_one_button_press(manager_client, manager, declare, move_to):
    incident = move_to(declare(), "triaged")
    response = manager_client.post(admin_url("transition", incident.pk, "investigate"))
    assert response.status_code == 302
    assert response.url == admin_url("change", incident.pk)
    incident.refresh_from_db()
    assert incident.state == "investigating"
    assert incident.history.first().history_user == manager
    assert any("investigating" in message for message in messages_of(response))


def test_resolve_asks_for_a_summary_before_anything_changes(manager_client, declare, move_to):
    incident = move_to(declare(), "investigating")
    url = admin_url("transition", incident.pk, "resolve")
    response = manager_client.post(url, {"summary": "  "})
    assert response.status_code == 200
    assert "summary" in response.context["form"].errors
    incident.refresh_from_db()
    assert incident.state == "investigating"

    response = manager_client.post(url, {"summary": "Rolled back release 4.2."})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.state, incident.resolution_summary) == ("resolved", "Rolled back release 4.2.")


def test_a_refused_transition_shows_every_reason_and_changes_nothing(
    manager_client, declare, move_to
):
    incident = move_to(declare(), "triaged")
    history_before = incident.history.count()
    timeline_before = incident.timeline.count()

    with guards.registered("investigate",
                           lambda i: ["The first-response checklist is not done."],
                           lambda i: ["Nobody has joined the war room yet."]):
        response = manager_client.post(admin_url("transition", incident.pk, "investigate"))

    assert response.status_code == 302
    shown = messages_of(response)
    assert "The first-response checklist is not done." in shown
    assert "Nobody has joined the war room yet." in shown
    incident.refresh_from_db()
    assert incident.state == "triaged"
    assert incident.history.count() == history_before
    assert incident.timeline.count() == timeline_before


def test_the_change_form_lists_the_guards_that_block_a_button(manager_client, declare, move_to):
    incident = move_to(declare(), "triaged")
    with guards.registered("investigate", lambda i: ["Checklist open."]):
        response = manager_client.get(admin_url("change", incident.pk))
    investigate = next(t for t in response.context["incident_actions"]["transitions"]
                       if t["name"] == "investigate")
    assert investigate["blocked_by"] == ["Checklist open."]
    assert b"Checklist open." in response.content


def test_a_transition_from_the_wrong_state_is_refused_in_words(manager_client, declare):
    incident = declare()
    response = manager_client.post(admin_url("transition", incident.pk, "close"))
    assert response.status_code == 302
    assert any("cannot be closed from there" in message for message in messages_of(response))
    incident.refresh_from_db()
    assert incident.state == "reported"


def test_a_staff_user_without_the_transition_permission_cannot_apply_it(
    staff_responder, declare, incident_manager
):
    incident = declare()
    client = Client()
    client.force_login(staff_responder)
    response = client.post(admin_url("transition", incident.pk, "triage"), {
        "severity": incident.severity_id, "incident_manager": incident_manager.pk,
    })
    assert response.status_code == 302
    assert any("permission" in message for message in messages_of(response))
    incident.refresh_from_db()
    assert (incident.state, incident.incident_manager) == ("reported", None)
    assert incident.history.count() == 1


def test_a_staff_user_who_cannot_view_incidents_gets_403(make_user, declare):
    incident = declare()
    client = Client()
    client.force_login(make_user(is_staff=True))
    assert client.post(admin_url("transition", incident.pk, "cancel"),
                       {"reason": "x"}).status_code == 403
    incident.refresh_from_db()
    assert incident.state == "reported"


def test_mark_duplicate_looks_up_the_original_by_reference(manager_client, declare):
    original = declare(title="Payments down")
    duplicate = declare(title="Cannot pay")
    url = admin_url("transition", duplicate.pk, "mark_duplicate")
    response = manager_client.post(url, {"original": "INC-1999-0001"})
    assert "No incident has the reference" in str(response.context["form"].errors)

    response = manager_client.post(url, {"original": original.reference.lower()})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.state, duplicate.duplicate_of) == ("duplicate", original)


def test_an_unknown_transition_name_is_a_404(manager_client, declare):
    incident = declare()
    assert manager_client.post(admin_url("transition", incident.pk, "delete")).status_code == 404
    assert Incident.objects.get(pk=incident.pk).state == "reported"


def test_cancel_and_reopen_open_a_form_for_their_reason_first(manager_client, declare):
    incident = declare()
    response = manager_client.get(admin_url("change", incident.pk))
    cancel = next(t for t in response.context["incident_actions"]["transitions"]
                  if t["name"] == "cancel")
    assert cancel["needs_input"]
    response = manager_client.post(admin_url("transition", incident.pk, "cancel"), {"reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert Incident.objects.get(pk=incident.pk).state == "reported"
