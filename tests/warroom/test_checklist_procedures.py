"""Checklists as a team's procedure: phases shared between severities, templates for one
service, runbook text on items, any transition gated by an item, items given to people, and
a reminder when a phase window ends with items still open (through the deadline sweep)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation.deadlines import deadlines_sweep
from escalation.models import Notification
from incidents import services
from incidents.errors import ActionRefused
from incidents.models import (
    ChecklistPhase,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ChecklistTemplatePhase,
    TimelineEntry,
)
from incidents.warroom.services import checklist_item_assign, checklist_item_set_done

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ROLLBACK = "helm rollback freightliner -n freightliner-production"


def at(minutes):
    return time_machine.travel(START + timedelta(minutes=minutes), tick=False)


def item(incident, text):
    return incident.checklist_items.get(text=text)


def phase_reminders(incident):
    return Notification.objects.filter(incident=incident,
                                       reason__startswith="checklist.window_ended.")


def template_with(phases, *, slug, severity=None, service=None):
    template = ChecklistTemplate.objects.create(slug=slug, name=slug.replace("-", " ").title(),
                                                severity=severity, service=service)
    for order, phase in enumerate(phases):
        ChecklistTemplatePhase.objects.create(template=template, phase=phase, order=order)
    return template


def test_seed_003_p0_p1_mitigation_steps_are_defined_once_and_used_at_both_severities(
        declare, severities):
    """Seed 003 "Immediate Mitigation: For P0/P1 Incidents", with its commands as runbook."""
    mitigation = ChecklistPhase.objects.create(slug="immediate-mitigation",
                                               name="Immediate mitigation")
    ChecklistTemplateItem.objects.create(
        phase=mitigation, code="rollback", text="Consider rollback if recent deployment",
        runbook=f"# Quick rollback\n{ROLLBACK}")
    ChecklistTemplateItem.objects.create(
        phase=mitigation, code="scale", text="Scale resources if capacity issue",
        runbook="kubectl scale deployment/freightliner --replicas=10 -n freightliner-production")
    for code in ("P0", "P1"):
        template_with([mitigation], slug=f"{code.lower()}-mitigation", severity=severities[code])

    p0, p1 = declare(severity="P0"), declare(severity="P1")
    p2 = declare(severity="P2")

    for incident in (p0, p1):
        rollback = item(incident, "Consider rollback if recent deployment")
        assert ROLLBACK in rollback.runbook
        assert rollback.phase_name == "Immediate mitigation"
    assert not p2.checklist_items.filter(phase_slug="immediate-mitigation").exists()

    # One edit of the shared phase reaches both severities' next incidents.
    ChecklistTemplateItem.objects.create(phase=mitigation, code="breakers",
                                         text="Enable circuit breakers if downstream issue")
    assert item(declare(severity="P1"), "Enable circuit breakers if downstream issue")
    assert item(declare(severity="P0"), "Enable circuit breakers if downstream issue")


def test_the_war_room_shows_an_items_runbook(declare, severities, incident_manager, client_for):
    phase = ChecklistPhase.objects.create(slug="diagnose", name="Diagnose")
    ChecklistTemplateItem.objects.create(phase=phase, code="logs", text="Check application logs",
                                         runbook="kubectl logs -f deployment/freightliner")
    template_with([phase], slug="p2-diagnose", severity=severities["P2"])
    incident = declare(severity="P2")
    html = client_for(incident_manager).get(f"/war-room/{incident.reference}/").content.decode()
    assert "Runbook" in html and "kubectl logs -f deployment/freightliner" in html


def test_a_template_for_one_service_applies_only_to_incidents_on_that_service(
        declare, payments, internal_service):
    phase = ChecklistPhase.objects.create(slug="payments-runs", name="Payment runs")
    ChecklistTemplateItem.objects.create(phase=phase, code="pause",
                                         text="Pause the scheduled payment runs")
    template_with([phase], slug="payments-any-severity", service=payments)

    on_payments = declare(severity="P2", services=[payments])
    elsewhere = declare(severity="P2", services=[internal_service])
    assert item(on_payments, "Pause the scheduled payment runs")
    assert not elsewhere.checklist_items.filter(text="Pause the scheduled payment runs").exists()


def test_an_item_can_gate_a_transition_other_than_resolve_or_close(
        declare, severities, incident_manager):
    phase = ChecklistPhase.objects.create(slug="confirm", name="Confirm")
    ChecklistTemplateItem.objects.create(phase=phase, code="critical-path",
                                         text="Critical path affected confirmed",
                                         is_required=True, blocks="triage")
    template_with([phase], slug="p2-confirm", severity=severities["P2"])
    incident = declare(severity="P2")
    services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                  user=incident_manager)

    with pytest.raises(ActionRefused) as refused:
        services.incident_triage(incident, by=incident_manager)
    assert ("1 required checklist item is still open before you can triage: "
            "“Critical path affected confirmed”") in " ".join(refused.value.reasons)
    incident.refresh_from_db()
    assert incident.state == "reported"

    checklist_item_set_done(item(incident, "Critical path affected confirmed"),
                            by=incident_manager, done=True)
    assert services.incident_triage(incident, by=incident_manager).state == "triaged"


def test_items_go_to_people_on_the_team_only(declare, incident_manager, responder, make_user):
    incident = declare(severity="P0")
    services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                  user=incident_manager)
    services.incident_assign_role(incident, by=incident_manager, role="communications_lead",
                                  user=responder)
    stakeholder_task = item(incident, "Stakeholders notified")

    checklist_item_assign(stakeholder_task, by=incident_manager, assignee=responder)
    stakeholder_task.refresh_from_db()
    assert stakeholder_task.assignee == responder
    assert incident.timeline.filter(kind=TimelineEntry.Kind.CHECKLIST,
                                    text__contains="gave “Stakeholders notified” to").exists()
    outsider = make_user("Responder")
    with pytest.raises(ActionRefused, match="not on .*team"):
        checklist_item_assign(stakeholder_task, by=incident_manager, assignee=outsider)


@pytest.fixture
def p0_at_start(declare, incident_manager, responder):
    with at(0):
        incident = declare(title="Checkout down", severity="P0")
        services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                      user=incident_manager)
        services.incident_assign_role(incident, by=incident_manager, role="communications_lead",
                                      user=responder)
        checklist_item_assign(item(incident, "Stakeholders notified"), by=incident_manager,
                              assignee=responder)
    return incident


def test_seed_000_hour_one_window_ending_with_open_items_reminds_the_manager_and_assignee(
        p0_at_start, incident_manager, responder):
    """Seed 000: "Initial Response (Hour 1)" items still open at the end of hour 1."""
    incident = p0_at_start
    with at(59):
        deadlines_sweep()
    assert not phase_reminders(incident).exists()

    with at(60):
        deadlines_sweep()
    reminded = {(n.recipient.username, n.channel) for n in phase_reminders(incident)}
    assert reminded == {("ivan", "inapp"), ("ivan", "email"), ("rita", "inapp"), ("rita", "email")}
    note = phase_reminders(incident).first()
    assert "Initial Response" in note.title and "5 open checklist items" in note.title
    assert "“Stakeholders notified” (Rita Responder)" in note.body
    entry = incident.timeline.get(kind=TimelineEntry.Kind.CHECKLIST,
                                  text__startswith="The “Initial Response” window ended")
    assert "the incident manager and the assignees were reminded" in entry.text

    with at(61):
        deadlines_sweep()
    assert phase_reminders(incident).count() == 4, "each window reminds once"


def test_a_window_whose_items_are_all_ticked_reminds_nobody(p0_at_start, incident_manager):
    incident = p0_at_start
    with at(30):
        for row in incident.checklist_items.filter(phase_name="Initial Response"):
            checklist_item_set_done(row, by=incident_manager, done=True)
    with at(60):
        deadlines_sweep()
    assert not phase_reminders(incident).exists()
    with at(120):  # the next window (Triage Analysis, hours 1-2) is still open
        deadlines_sweep()
    assert phase_reminders(incident).filter(title__contains="Triage Analysis").exists()


def test_a_phase_can_be_told_not_to_remind(p0_at_start):
    ChecklistPhase.objects.filter(slug="initial-response").update(remind_when_window_ends=False)
    with at(0):
        incident = services.incident_declare(by=p0_at_start.reporter, title="Another",
                                             severity=p0_at_start.severity)
    with at(60):
        deadlines_sweep()
    assert not phase_reminders(incident).exists()


def test_no_window_reminders_after_the_incident_is_resolved(p0_at_start, incident_manager):
    incident = p0_at_start
    with at(10):
        services.incident_triage(incident, by=incident_manager)
        for gate in incident.checklist_items.filter(blocks="resolve"):
            checklist_item_set_done(gate, by=incident_manager, done=True)
        services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    with at(8 * 60):
        deadlines_sweep()
    assert not phase_reminders(incident).exists()


def test_a_reopened_incident_is_reminded_of_a_window_still_ahead(p0_at_start, incident_manager):
    incident = p0_at_start
    with at(10):
        incident = services.incident_triage(incident, by=incident_manager)
        for gate in incident.checklist_items.filter(blocks="resolve"):
            checklist_item_set_done(gate, by=incident_manager, done=True)
        incident = services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    with at(20):
        services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    with at(60):
        deadlines_sweep()
    assert phase_reminders(incident).exists(), "hour one still ended with items open"

