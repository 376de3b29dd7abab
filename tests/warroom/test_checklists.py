"""Checklists: instantiated per severity on declaration, extended when the severity rises,
ticked with a timeline record, overdue after their window, and blocking resolve/close."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from incidents import services
from incidents.errors import ActionRefused
from incidents.models import ChecklistTemplateItem, IncidentChecklistItem, TimelineEntry
from incidents.warroom.services import checklist_item_set_done, open_blocking_items

pytestmark = pytest.mark.django_db


def texts(incident):
    return list(incident.checklist_items.values_list("text", flat=True))


def item(incident, text):
    return incident.checklist_items.get(text=text)


@pytest.mark.parametrize("severity", ["P0", "P1", "P2", "P3"])
def test_a_declared_incident_gets_every_item_of_its_severitys_templates(declare, severity):
    incident = declare(severity=severity)
    expected = {t.lower() for t in ChecklistTemplateItem.objects.filter(
        phase__templates__severity__code=severity, phase__templates__is_active=True,
    ).values_list("text", flat=True)}
    assert expected, "the migration seeds a checklist for every severity"
    assert {t.lower() for t in texts(incident)} == expected


def test_a_p0_checklist_follows_the_seed_phases_with_their_windows(declare):
    incident = declare(severity="P0")
    first = item(incident, "Issue reproduced and confirmed")
    last = item(incident, "Post-mortem scheduled")
    assert first.phase_name == "Initial Response"
    assert first.due_at == incident.declared_at + timedelta(hours=1)
    assert last.phase_name == "Post-Resolution"
    assert last.window_starts_at == incident.declared_at + timedelta(hours=6)
    assert last.due_at == incident.declared_at + timedelta(hours=8)
    gate = item(incident, "Smoke test: basic user journeys functional")
    assert (gate.kind, gate.is_required, gate.blocks) == ("quality_gate", True, "resolve")
    for task in ("Fix production issue", "Release hotfix", "Schedule post-mortem"):
        assert item(incident, task).blocks == "close"
    added = incident.timeline.get(kind="checklist", text__startswith="Checklist items added")
    assert added.author == incident.reporter, "the timeline says who declared it"


def test_p2_and_p3_lists_are_lighter_and_block_nothing(declare):
    for severity in ("P2", "P3"):
        incident = declare(severity=severity)
        assert 0 < len(texts(incident)) < 10
        assert not incident.checklist_items.filter(is_required=True).exists()


def test_raising_the_severity_adds_the_missing_items_and_keeps_ticked_ones(
        declare, incident_manager):
    incident = declare(severity="P1")
    ticked = item(incident, "Release hotfix")
    checklist_item_set_done(ticked, by=incident_manager, done=True)
    before = IncidentChecklistItem.objects.filter(incident=incident).count()

    services.incident_change_severity(incident, by=incident_manager,
                                      severity=incident.severity.__class__.objects.get(code="P0"),
                                      reason="Every checkout fails")

    after = texts(incident)
    assert len(after) > before
    assert "Smoke test: basic user journeys functional" in after
    assert after.count("Release hotfix") == 1, "items both levels share are not duplicated"
    assert item(incident, "Release hotfix").done_at is not None


def test_lowering_the_severity_keeps_stricter_items_as_not_required_and_ungated(
        declare, incident_manager, severities):
    incident = declare(severity="P0")
    checklist_item_set_done(item(incident, "Root cause identified"), by=incident_manager,
                            done=True)
    count = incident.checklist_items.count()
    services.incident_change_severity(incident, by=incident_manager, severity=severities["P2"],
                                      reason="Only one merchant affected")
    assert incident.checklist_items.filter(applies=False).count() == count, (
        "nothing of P0's list is deleted")
    assert item(incident, "Root cause identified").done_at is not None
    assert not item(incident, "Smoke test: basic user journeys functional").applies
    assert item(incident, "Issue confirmed").applies, "P2's own items are added"
    assert open_blocking_items(incident, "resolve") == []
    assert open_blocking_items(incident, "close") == []


def test_ticking_an_item_records_who_and_when_on_the_timeline(declare, incident_manager):
    incident = declare(severity="P0")
    moment = timezone.now().replace(microsecond=0) + timedelta(minutes=5)
    with time_machine.travel(moment, tick=False):
        ticked = checklist_item_set_done(item(incident, "Root cause identified"),
                                         by=incident_manager, done=True)
    assert ticked.done_by == incident_manager and ticked.done_at == moment
    entry = incident.timeline.filter(kind=TimelineEntry.Kind.CHECKLIST).latest("id")
    assert entry.author == incident_manager
    assert entry.occurred_at == moment
    assert entry.text == "Ivan Manager ticked “Root cause identified” (Triage Analysis)."


def test_unticking_is_recorded_and_ticking_twice_records_once(declare, incident_manager):
    incident = declare(severity="P0")
    target = item(incident, "Rollback plan ready")
    checklist_item_set_done(target, by=incident_manager, done=True)
    checklist_item_set_done(target, by=incident_manager, done=True)
    checklist_item_set_done(target, by=incident_manager, done=False)
    texts_on_timeline = list(incident.timeline.filter(kind="checklist", data__item=target.pk)
                             .values_list("text", flat=True))
    assert texts_on_timeline == [
        "Ivan Manager ticked “Rollback plan ready” (Resolution Execution).",
        "Ivan Manager unticked “Rollback plan ready” (Resolution Execution)."]
    target.refresh_from_db()
    assert target.done_at is None and target.done_by is None


def test_an_item_past_its_window_is_overdue_until_ticked(declare, incident_manager):
    incident = declare(severity="P0")
    target = item(incident, "Emergency team assembled")  # Initial Response: hour 0-1
    assert not target.is_overdue()
    later = incident.declared_at + timedelta(hours=1, minutes=1)
    with time_machine.travel(later, tick=False):
        assert target.is_overdue()
        ticked = checklist_item_set_done(target, by=incident_manager, done=True)
        assert not ticked.is_overdue()
    entry = incident.timeline.filter(kind="checklist").latest("id")
    assert "1 min after its window closed" in entry.text


def test_people_without_the_permission_cannot_tick(declare, product_manager):
    incident = declare(severity="P0")
    with pytest.raises(ActionRefused, match="permission to tick"):
        checklist_item_set_done(item(incident, "Timeline estimated"), by=product_manager,
                                done=True)


def test_resolve_is_refused_while_required_quality_gates_are_open_naming_them(
        p0, incident_manager):
    services.incident_triage(p0, by=incident_manager)
    checklist_item_set_done(item(p0, "Smoke test: basic user journeys functional"),
                            by=incident_manager, done=True)
    with pytest.raises(ActionRefused) as refused:
        services.incident_resolve(p0, by=incident_manager, summary="Rolled back the release")
    assert refused.value.reasons == [
        "3 required checklist items are still open before you can resolve: “Minimum viable "
        "fix: core functionality restored”, “Business validation: revenue systems "
        "operational”, “Stability check: no immediate regressions”. Tick them on the war "
        "room's checklist."]
    p0.refresh_from_db()
    assert p0.state == "triaged"


def test_resolve_goes_ahead_once_the_gates_are_ticked(p0, declare, incident_manager):
    declare(severity="P0")  # another incident's open gates are its own
    services.incident_triage(p0, by=incident_manager)
    for gate in p0.checklist_items.filter(blocks="resolve"):
        checklist_item_set_done(gate, by=incident_manager, done=True)
    resolved = services.incident_resolve(p0, by=incident_manager, summary="Rolled back")
    assert resolved.state == "resolved"


def test_close_is_refused_while_required_tasks_are_open_naming_them(declare, incident_manager):
    incident = declare(severity="P1")
    services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                  user=incident_manager)
    services.incident_triage(incident, by=incident_manager)
    incident = services.incident_resolve(incident, by=incident_manager, summary="Feature flag off")
    checklist_item_set_done(item(incident, "Fix production issue"), by=incident_manager,
                            done=True)
    reasons = services.transition_refusals(incident, "close", incident_manager)
    mine = next(r for r in reasons if "checklist" in r)
    assert "before you can close" in mine
    assert "“Release hotfix”" in mine and "“Schedule post-mortem”" in mine
    assert "Fix production issue" not in mine
    with pytest.raises(ActionRefused):
        services.incident_close(incident, by=incident_manager)


def test_ticks_are_in_the_items_history_with_who_ticked(declare, incident_manager, manager,
                                                        client_for):
    incident = declare(severity="P0")
    target = item(incident, "Rollback plan ready")
    checklist_item_set_done(target, by=incident_manager, done=True)
    checklist_item_set_done(target, by=incident_manager, done=False)
    changes = [(record.history_user, record.history_change_reason)
               for record in target.history.order_by("history_id")][1:]
    assert changes == [(incident_manager, "Ticked"), (incident_manager, "Unticked")]
    data = list(incident.timeline.filter(kind="checklist", data__item=target.pk)
                .order_by("id").values_list("data", flat=True))
    assert data == [{"item": target.pk, "done": True}, {"item": target.pk, "done": False}]
    html = client_for(manager).get(
        f"/admin/incidents/incidentchecklistitem/{target.pk}/history/").content.decode()
    assert "Ticked" in html and "Unticked" in html


def test_ticking_without_the_permission_is_refused_word_for_word(declare, product_manager):
    incident = declare(severity="P0")
    with pytest.raises(ActionRefused) as refused:
        checklist_item_set_done(item(incident, "Timeline estimated"), by=product_manager,
                                done=True)
    assert refused.value.reasons == ["You do not have permission to tick checklist items."]


def test_an_item_ticked_at_the_very_end_of_its_window_is_on_time(declare, incident_manager):
    incident = declare(severity="P0")
    target = item(incident, "Emergency team assembled")  # Initial Response: hour 0-1
    with time_machine.travel(target.due_at, tick=False):
        checklist_item_set_done(target, by=incident_manager, done=True)
    entry = incident.timeline.filter(kind="checklist").latest("id")
    assert entry.text == "Ivan Manager ticked “Emergency team assembled” (Initial Response)."


def test_the_timeline_and_the_item_give_the_same_moment_for_a_tick(declare, incident_manager):
    incident = declare(severity="P0")
    ticked = checklist_item_set_done(item(incident, "Rollback plan ready"), by=incident_manager,
                                     done=True)
    entry = incident.timeline.filter(kind="checklist").latest("id")
    assert entry.occurred_at == ticked.done_at


def test_items_added_by_a_raise_follow_the_list_in_order_and_name_who_raised_it(
        declare, incident_manager, severities):
    incident = declare(severity="P1")
    count = incident.checklist_items.count()
    services.incident_change_severity(incident, by=incident_manager, severity=severities["P0"],
                                      reason="Every checkout fails")
    rows = list(incident.checklist_items.order_by("id"))
    assert [row.position for row in rows] == list(range(1, len(rows) + 1))
    for row in rows[count:]:
        assert row.history.get().history_user == incident_manager


def test_the_declaration_says_which_checklists_were_copied_and_who_declared(declare,
                                                                           severities):
    incident = declare(severity="P0")
    rows = incident.checklist_items.all()
    names = sorted({row.template_name for row in rows})
    assert len(names) > 1
    entry = incident.timeline.get(kind="checklist", text__startswith="Checklist items added")
    assert entry.text == f"Checklist items added from {', '.join(names)} ({len(rows)} items)."
    assert entry.data == {"added": len(rows), "severity": "P0"}
    for row in rows:
        assert row.history.get().history_user == incident.reporter


def test_a_step_two_checklists_of_one_level_share_is_copied_once(declare, severities):
    from incidents.models import ChecklistPhase, ChecklistTemplate, ChecklistTemplatePhase

    for slug in ("database", "storage"):
        phase = ChecklistPhase.objects.create(slug=slug, name=slug.title())
        ChecklistTemplateItem.objects.create(phase=phase, code="dba",
                                             text="Page the database team")
        template = ChecklistTemplate.objects.create(slug=slug, name=slug.title(),
                                                    severity=severities["P3"])
        ChecklistTemplatePhase.objects.create(template=template, phase=phase)
    incident = declare(severity="P3")
    assert incident.checklist_items.filter(text="Page the database team").count() == 1


@pytest.mark.parametrize("moved", [False, True], ids=["as added", "first row moved"])
def test_steps_given_the_same_place_in_a_checklist_keep_the_order_they_were_added_in(
        declare, severities, moved):
    from incidents.models import ChecklistPhase, ChecklistTemplate, ChecklistTemplatePhase

    ChecklistTemplate.objects.filter(severity=severities["P3"]).update(is_active=False)
    tell = ChecklistPhase.objects.create(slug="tell", name="Tell")  # made first: the lower id
    find = ChecklistPhase.objects.create(slug="find", name="Find")
    for phase, text in ((tell, "Tell support"), (find, "Find the cause")):
        ChecklistTemplateItem.objects.create(phase=phase, code=phase.slug, text=text)
    template = ChecklistTemplate.objects.create(slug="database", name="Database",
                                                severity=severities["P3"])
    added_first = ChecklistTemplatePhase.objects.create(template=template, phase=find, order=1)
    ChecklistTemplatePhase.objects.create(template=template, phase=tell, order=1)
    if moved:
        # Moved to another step and back, the first link's row lies after the second's in its
        # table and indexes (PostgreSQL writes a new row version when an indexed column
        # changes), and its step has the higher id. Ties come back in one of these orders or
        # its reverse, depending on the plan: only the order they were added in puts "Find"
        # first in both layouts.
        spare = ChecklistPhase.objects.create(slug="spare", name="Spare")
        for phase in (spare, find):
            ChecklistTemplatePhase.objects.filter(pk=added_first.pk).update(phase=phase)
    incident = declare(severity="P3")
    assert texts(incident) == ["Find the cause", "Tell support"]


def test_a_phase_window_timer_is_listed_with_the_incidents_timers(declare):
    from escalation.models import Deadline

    incident = declare(severity="P0")
    assert Deadline.objects.filter(incident=incident, kind="checklist.window_ended",
                                   key__startswith="checklist.window.initial-response.").exists()
