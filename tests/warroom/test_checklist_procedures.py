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



def test_handing_an_item_out_and_back_is_on_the_timeline_and_in_the_items_history(
        p0_at_start, incident_manager, responder, manager, client_for):
    incident = p0_at_start
    task = item(incident, "Emergency team assembled")
    checklist_item_assign(task, by=incident_manager, assignee=responder)
    checklist_item_assign(task, by=incident_manager, assignee=responder)  # no change: no record
    checklist_item_assign(task, by=incident_manager, assignee=None)
    task.refresh_from_db()
    assert task.assignee is None

    entries = [(entry.author, entry.text, entry.data) for entry in incident.timeline.filter(
        kind=TimelineEntry.Kind.CHECKLIST, data__item=task.pk).order_by("id")]
    assert entries == [
        (incident_manager, "Ivan Manager gave “Emergency team assembled” to Rita Responder.",
         {"item": task.pk, "assignee": responder.pk}),
        (incident_manager, "Ivan Manager gave “Emergency team assembled” to nobody.",
         {"item": task.pk, "assignee": None}),
    ]
    # The item's history in the admin says who gave it out, and why the row changed.
    changes = [(record.history_user, record.history_change_reason, record.assignee_id)
               for record in task.history.order_by("history_id")][1:]
    assert changes == [(incident_manager, "Assigned", responder.pk),
                       (incident_manager, "Assigned", None)]
    html = client_for(manager).get(
        f"/admin/incidents/incidentchecklistitem/{task.pk}/history/").content.decode()
    assert html.count("Assigned") == 2 and "Ivan Manager" in html


def test_handing_items_out_is_refused_word_for_word(
        p0_at_start, incident_manager, responder, product_manager, make_user):
    incident = p0_at_start
    task = item(incident, "Emergency team assembled")
    with pytest.raises(ActionRefused) as refused:
        checklist_item_assign(task, by=product_manager, assignee=responder)
    assert refused.value.reasons == ["You do not have permission to assign checklist items."]
    outsider = make_user("Responder", first_name="Olga", last_name="Outsider")
    with pytest.raises(ActionRefused) as refused:
        checklist_item_assign(task, by=incident_manager, assignee=outsider)
    assert refused.value.reasons == [f"Olga Outsider is not on {incident.reference}'s team; "
                                     "add them as a responder first."]
    services.incident_cancel(incident, by=incident_manager, reason="False alarm")
    for attempt in (lambda: checklist_item_assign(task, by=incident_manager, assignee=None),
                    lambda: checklist_item_set_done(task, by=incident_manager, done=True)):
        with pytest.raises(ActionRefused) as refused:
            attempt()
        assert refused.value.reasons == [f"{incident.reference} is cancelled; "
                                         "its checklist is a record now."]


def resolve_and_reopen(incident, by, *, resolved, reopened):
    with at(resolved):
        incident = services.incident_triage(incident, by=by)
        for gate in incident.checklist_items.filter(blocks="resolve"):
            checklist_item_set_done(gate, by=by, done=True)
        incident = services.incident_resolve(incident, by=by, summary="Rolled back")
    with at(reopened):
        return services.incident_reopen(incident, by=by, reason="Errors are back")


def test_a_reopen_reminds_of_windows_still_ahead_only(p0_at_start, incident_manager):
    """Hour one ended before the resolve and reminded then; the reopen at 70 min does not
    remind of it again, but of Triage Analysis (ends at 2 h), still ahead with items open."""
    incident = p0_at_start
    with at(60):
        deadlines_sweep()
    reminded = phase_reminders(incident).filter(title__contains="Initial Response").count()
    assert reminded == 4, "the manager and the assignee, in the app and by e-mail"
    resolve_and_reopen(incident, incident_manager, resolved=65, reopened=70)
    with at(71):
        deadlines_sweep()
    assert phase_reminders(incident).filter(title__contains="Initial Response").count() == 4
    with at(120):
        deadlines_sweep()
    assert phase_reminders(incident).filter(title__contains="Triage Analysis").exists()


def test_after_a_reopen_a_phase_told_not_to_remind_still_does_not(p0_at_start, incident_manager):
    ChecklistPhase.objects.filter(slug="initial-response").update(remind_when_window_ends=False)
    resolve_and_reopen(p0_at_start, incident_manager, resolved=10, reopened=20)
    with at(60):
        deadlines_sweep()
    assert not phase_reminders(p0_at_start).exists()


def test_after_a_reopen_an_item_whose_step_was_deleted_still_reminds(
        p0_at_start, incident_manager):
    """The item outlives its template step (a team pruned its procedure); its window still
    reminds after a reopen."""
    incident = p0_at_start
    for row in incident.checklist_items.filter(phase_slug="initial-response"):
        ChecklistTemplateItem.objects.filter(pk=row.template_item_id).delete()
    assert incident.checklist_items.filter(phase_slug="initial-response",
                                           template_item__isnull=True).exists()
    resolve_and_reopen(incident, incident_manager, resolved=10, reopened=20)
    with at(60):
        deadlines_sweep()
    assert phase_reminders(incident).filter(title__contains="Initial Response").exists()


def test_an_item_can_gate_marking_the_incident_mitigated_in_those_words(
        declare, severities, incident_manager):
    phase = ChecklistPhase.objects.create(slug="verify", name="Verify")
    ChecklistTemplateItem.objects.create(phase=phase, code="graphs", text="Error rate graphs flat",
                                         is_required=True, blocks="mitigate")
    template_with([phase], slug="p2-verify", severity=severities["P2"])
    incident = declare(severity="P2")
    incident = services.incident_triage(incident, by=incident_manager,
                                        incident_manager=incident_manager)
    incident = services.incident_investigate(incident, by=incident_manager)
    reasons = services.transition_refusals(incident, "mitigate", incident_manager)
    assert ("1 required checklist item is still open before you can mark mitigated: "
            "“Error rate graphs flat”. Tick them on the war room's checklist.") in reasons


def test_a_window_reminder_names_its_own_open_items_in_order_and_links_to_the_checklist(
        declare, incident_manager, responder, severities):
    """Two incidents on the same procedure: each reminder names only its incident's open
    items of the phase that ended, in checklist order, with who has them."""
    phase = ChecklistPhase.objects.create(slug="contain", name="Contain",
                                          ends_after=timedelta(minutes=30))
    for code, text in (("isolate", "Isolate the host"), ("rotate", "Rotate the keys")):
        ChecklistTemplateItem.objects.create(phase=phase, code=code, text=text)
    template_with([phase], slug="p3-contain", severity=severities["P3"])
    with at(0):
        incident = declare(severity="P3")
        other = declare(severity="P3")
        services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                      user=incident_manager)
        services.incident_assign_role(incident, by=incident_manager, role="communications_lead",
                                      user=responder)
        checklist_item_assign(item(incident, "Rotate the keys"), by=incident_manager,
                              assignee=responder)
    with at(30):
        deadlines_sweep()
    note = phase_reminders(incident).get(recipient=incident_manager, channel="inapp")
    assert note.title == f"{incident.reference}: the “Contain” window ended with 2 open checklist items"
    assert note.body == ("2 items are still open: “Isolate the host”; "
                         "“Rotate the keys” (Rita Responder).")
    assert note.url == f"/war-room/{incident.reference}/#checklist"
    entry = incident.timeline.get(kind=TimelineEntry.Kind.CHECKLIST,
                                  text__startswith="The “Contain” window")
    assert entry.text == ("The “Contain” window ended with 2 open checklist items; "
                          "the incident manager and the assignees were reminded.")
    assert entry.data == {"phase": "contain", "deadline": entry.data["deadline"],
                          "open": [item(incident, "Isolate the host").pk,
                                   item(incident, "Rotate the keys").pk]}
    # The other incident has no manager: its own two items, and the timeline says nobody.
    assert other.timeline.get(text__startswith="The “Contain” window").text == (
        "The “Contain” window ended with 2 open checklist items; "
        "nobody (no incident manager) was reminded.")


def test_a_window_with_one_open_item_says_so_in_the_singular(declare, incident_manager,
                                                              severities):
    phase = ChecklistPhase.objects.create(slug="contain", name="Contain",
                                          ends_after=timedelta(minutes=30))
    ChecklistTemplateItem.objects.create(phase=phase, code="isolate", text="Isolate the host")
    template_with([phase], slug="p3-contain", severity=severities["P3"])
    with at(0):
        incident = declare(severity="P3")
        services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                      user=incident_manager)
    with at(30):
        deadlines_sweep()
    note = phase_reminders(incident).get(channel="inapp")
    assert note.title == f"{incident.reference}: the “Contain” window ended with 1 open checklist item"
    assert note.body == "1 item is still open: “Isolate the host”."
    assert incident.timeline.get(text__startswith="The “Contain” window").text == (
        "The “Contain” window ended with 1 open checklist item; the incident manager was "
        "reminded.")


def test_items_no_longer_required_or_of_another_phase_are_not_reminded_of(
        p0_at_start, incident_manager, severities):
    """Lowered to P2 at 30 min: hour one's P0 items no longer count, so its end reminds
    nobody; at 2 h Triage Analysis reminds of nothing of hour one either."""
    incident = p0_at_start
    with at(30):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P2"], reason="One merchant")
    with at(60):
        deadlines_sweep()
    assert not phase_reminders(incident).filter(title__contains="Initial Response").exists()


def test_items_go_to_any_responder_who_joined_not_only_to_role_holders(
        declare, incident_manager, make_user):
    incident = declare(severity="P0")
    first = make_user("Responder", first_name="Ann", last_name="First")
    second = make_user("Responder", first_name="Bob", last_name="Second")
    for person in (first, second):
        services.incident_set_responder(incident, by=person, user=person, joined=True)
    for person in (first, second):
        task = checklist_item_assign(item(incident, "Emergency team assembled"),
                                     by=incident_manager, assignee=person)
        assert task.assignee == person


def test_the_checklist_follows_the_templates_order_then_each_templates_phase_order(
        declare, severities):
    """The level's own templates by their order, then name; templates for every level after
    them; within a template, its phases in the order the template gives them."""
    def phase_with(step):
        phase = ChecklistPhase.objects.create(slug=step.lower().replace(" ", "-"), name=step)
        ChecklistTemplateItem.objects.create(phase=phase, code="only", text=step)
        return phase

    zulu = ChecklistTemplate.objects.create(slug="zulu", name="Zulu", order=5,
                                            severity=severities["P3"])
    # Given in reverse of their creation: the template's order decides, not the ids.
    ChecklistTemplatePhase.objects.create(template=zulu, phase=phase_with("Zulu second"),
                                          order=1)
    ChecklistTemplatePhase.objects.create(template=zulu, phase=phase_with("Zulu first"), order=0)
    template_with([phase_with("Mike step")], slug="mike", severity=severities["P3"])
    ChecklistTemplate.objects.filter(slug="mike").update(name="Mike", order=5)
    template_with([phase_with("Yankee step")], slug="yankee", severity=severities["P3"])
    ChecklistTemplate.objects.filter(slug="yankee").update(name="Yankee", order=1)
    template_with([phase_with("Every level step")], slug="alpha-every-level")

    incident = declare(severity="P3")
    mine = {"Yankee step", "Mike step", "Zulu first", "Zulu second", "Every level step"}
    order = [text for text in incident.checklist_items.order_by("position")
             .values_list("text", flat=True) if text in mine]
    assert order == ["Yankee step", "Mike step", "Zulu first", "Zulu second", "Every level step"]


def test_a_type_change_that_only_adds_one_step_says_so(declare, incident_manager,
                                                       incident_types):
    phase = ChecklistPhase.objects.create(slug="classify", name="Classify")
    ChecklistTemplateItem.objects.create(phase=phase, code="data", text="Personal data involved?")
    template = template_with([phase], slug="security-classify")
    ChecklistTemplate.objects.filter(pk=template.pk).update(
        incident_type=incident_types["security"])
    incident = declare(title="Token leaked", incident_type=incident_types["technical"])
    services.incident_update_impact(incident, by=incident_manager,
                                    incident_type=incident_types["security"])
    entry = incident.timeline.get(text__startswith="Checklist changed")
    assert entry.text == ("Checklist changed after the type changed from Technical to "
                          "Security: 1 item added.")
    assert entry.author == incident_manager
