"""Managers configure the war room in the admin; records stay read-only there."""

import pytest

from incidents.models import ChecklistPhase, ChecklistTemplate, MessageTemplate, StatusUpdate
from incidents.warroom.communications import status_update_send

pytestmark = pytest.mark.django_db


def test_managers_edit_checklist_templates_with_their_phases_inline(manager, client_for):
    template = ChecklistTemplate.objects.get(name="P0 Emergency Response Checklist")
    html = client_for(manager).get(
        f"/admin/incidents/checklisttemplate/{template.pk}/change/").content.decode()
    assert "Triage Analysis" in html and "Post-Resolution" in html


def test_managers_edit_a_phases_items_inline_and_see_which_templates_use_it(
        manager, client_for):
    phase = ChecklistPhase.objects.get(slug="triage-analysis")
    client = client_for(manager)
    html = client.get(f"/admin/incidents/checklistphase/{phase.pk}/change/").content.decode()
    assert "Root cause identified" in html
    listing = client.get("/admin/incidents/checklistphase/?q=required").content.decode()
    assert "P0 Required tasks" not in listing or "Required tasks" in listing
    shared = ChecklistPhase.objects.get(slug="required-tasks")
    assert sorted(shared.templates.values_list("severity__code", flat=True)) == ["P0", "P1"]


def test_a_message_template_with_a_syntax_error_is_refused_with_the_reason(manager, client_for):
    response = client_for(manager).post("/admin/incidents/messagetemplate/add/", {
        "name": "Broken", "audience": "team", "stage": "update", "subject": "Update",
        "body": "{% if state %}never closed", "source": "", "is_active": "on",
    })
    assert response.status_code == 200
    assert "Template syntax error" in response.content.decode()
    assert not MessageTemplate.objects.filter(name="Broken").exists()


def test_sent_updates_are_read_only_in_the_admin(p0, manager, incident_manager, client_for):
    update = status_update_send(p0, by=incident_manager, audience="team", stage="update",
                                subject="Rolling back", body="Details")
    client = client_for(manager)
    assert client.get(f"/admin/incidents/statusupdate/{update.pk}/change/").status_code == 200
    client.post(f"/admin/incidents/statusupdate/{update.pk}/delete/", {"post": "yes"})
    assert StatusUpdate.objects.filter(pk=update.pk).exists()
    assert client.get("/admin/incidents/statusupdate/add/").status_code == 403


def test_responders_cannot_change_the_configuration(responder, client_for):
    responder.is_staff = True
    responder.save()
    response = client_for(responder).get("/admin/incidents/messagetemplate/add/")
    assert response.status_code == 403
