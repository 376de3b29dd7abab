import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from incidents import services
from incidents.models import Incident, SeverityLevel

from .conftest import admin_url, messages_of

pytestmark = pytest.mark.django_db


def test_the_history_view_shows_the_user_and_reason_of_each_change(
    manager_client, manager, declare, move_to
):
    incident = move_to(declare(), "triaged")
    services.incident_cancel(incident, by=manager, reason="Customer's own network")
    response = manager_client.get(admin_url("history", incident.pk))
    assert response.status_code == 200
    records = list(response.context["page_obj"])
    assert records[0].history_change_reason == "Customer's own network"
    assert records[0].history_user == manager
    assert b"Customer&#x27;s own network" in response.content
    assert response.context["revert_disabled"] is True


def test_a_past_version_is_shown_read_only_without_a_revert_button(
    manager_client, declare, move_to
):
    incident = move_to(declare(), "triaged")
    first = incident.history.last()
    response = manager_client.get(
        admin_url("simple_history", incident.pk, first.history_id))
    assert response.status_code == 200
    assert response.context["revert_disabled"] is True
    assert b'value="Revert"' not in response.content
    assert list(response.context["adminform"].form.fields) == ["change_reason",
                                                               "expected_version"]


def test_a_revert_post_is_refused_and_changes_nothing(manager_client, manager, declare, move_to):
    incident = move_to(declare(title="Original title"), "triaged")
    services.incident_update_impact(incident, by=manager, title="Better title", reason="Clarity")
    first = incident.history.last()
    history_before = incident.history.count()

    response = manager_client.post(
        admin_url("simple_history", incident.pk, first.history_id),
        {"title": "Original title", "_save": "Revert"},
    )

    assert response.status_code == 302
    assert response.url == admin_url("history", incident.pk)
    assert any("read-only record" in message for message in messages_of(response))
    incident.refresh_from_db()
    assert (incident.state, incident.title) == ("triaged", "Better title")
    assert incident.history.count() == history_before


def test_reverting_a_severity_level_is_refused_too(manager_client):
    level = SeverityLevel.objects.get(code="P2")
    level.name = "Renamed"
    level._change_reason = "test"
    level.save()
    first = level.history.last()
    response = manager_client.post(
        reverse("admin:incidents_severitylevel_simple_history", args=[level.pk, first.history_id]),
        {"code": "P2", "name": first.name, "rank": level.rank},
    )
    assert response.status_code == 302
    level.refresh_from_db()
    assert level.name == "Renamed"


def _run_action(client, action, incidents, **extra):
    return client.post(admin_url("changelist"), {
        "action": action, ACTION_CHECKBOX_NAME: [i.pk for i in incidents], **extra,
    })


def test_bulk_close_goes_through_the_service_and_reports_refusals(
    manager_client, manager, declare, move_to, core_guards_only
):
    resolved = [move_to(declare(title=f"Resolved {n}"), "resolved") for n in range(2)]
    still_open = declare(title="Still open")

    response = _run_action(manager_client, "close_selected", [*resolved, still_open])

    assert response.status_code == 302
    shown = messages_of(response)
    assert any(m.startswith("Closed 2 incident(s)") for m in shown)
    assert any(m.startswith(f"{still_open.reference} was not closed") and "reported" in m
               for m in shown)
    for incident in resolved:
        incident.refresh_from_db()
        assert incident.state == "closed"
        assert incident.history.first().history_user == manager
        assert incident.timeline.filter(kind="transition", data__target="closed").exists()
    still_open.refresh_from_db()
    assert still_open.state == "reported"


def test_bulk_cancel_asks_for_a_reason_first(manager_client, declare):
    incident = declare()
    response = _run_action(manager_client, "cancel_selected", [incident])
    assert response.status_code == 200
    assert b"Cancel these incidents" in response.content
    incident.refresh_from_db()
    assert incident.state == "reported"

    response = _run_action(manager_client, "cancel_selected", [incident], apply="1", reason="")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Incident.objects.get(pk=incident.pk).state == "reported"


def test_bulk_cancel_cancels_each_with_the_reason_and_reports_the_ones_it_cannot(
    manager_client, manager, declare, move_to, core_guards_only
):
    early = [declare(title="Dup A"), move_to(declare(title="Dup B"), "triaged")]
    mitigated = move_to(declare(title="Real"), "mitigated")

    response = _run_action(manager_client, "cancel_selected", [*early, mitigated],
                           apply="1", reason="Test alerts from staging")

    assert response.status_code == 302
    shown = messages_of(response)
    assert any(m.startswith("Cancelled 2 incident(s)") for m in shown)
    assert any(m.startswith(f"{mitigated.reference} was not cancelled") for m in shown)
    for incident in early:
        incident.refresh_from_db()
        assert incident.state == "cancelled"
        latest = incident.history.first()
        assert (latest.history_user, latest.history_change_reason) == (
            manager, "Test alerts from staging")
    mitigated.refresh_from_db()
    assert mitigated.state == "mitigated"


def test_bulk_actions_are_not_offered_without_their_permission(staff_responder, declare):
    from django.test import Client

    incident = declare()
    client = Client()
    client.force_login(staff_responder)
    response = client.get(admin_url("changelist"))
    action_form = response.context["action_form"]
    offered = [name for name, _ in action_form.fields["action"].choices] if action_form else []
    assert "close_selected" not in offered
    assert "cancel_selected" not in offered
    response = _run_action(client, "cancel_selected", [incident], apply="1", reason="No")
    incident.refresh_from_db()
    assert incident.state == "reported"


def test_history_diffs_show_local_times_names_and_a_dash_for_empty(
    manager_client, manager, declare, move_to
):
    """They showed raw UTC timestamps and "Deleted user (pk=None)" for a field that was empty."""
    incident = move_to(declare(), "triaged")
    response = manager_client.get(admin_url("history", incident.pk))
    changes = [change for record in response.context["page_obj"]
               for change in getattr(record, "history_delta_changes", [])]
    by_field = {change["field"]: change for change in changes}
    manager_change = by_field["Incident manager"]
    assert (manager_change["old"], manager_change["new"]) == ("—", "Mona Boss")
    acknowledged = by_field["Acknowledged at"]
    assert acknowledged["old"] == "—" and acknowledged["new"].endswith(("CET", "CEST"))
    assert "pk=None" not in response.content.decode()
    assert "Mona Boss" in response.content.decode()  # who changed it, by name
    assert "+00:00" not in response.content.decode()
