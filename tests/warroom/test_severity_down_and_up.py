"""A severity lowered and raised again (issue 15, item 6): the checklist keeps every item, ticked
or open, marks what the current level does not ask for as not required (it gates nothing), says
what changed on the timeline, and re-requires kept items on the way back up instead of adding
duplicates, with phase headers and due times of the current level."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from escalation.deadlines import deadlines_sweep
from incidents import services
from incidents.errors import ActionRefused
from incidents.models import (
    ChecklistPhase,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ChecklistTemplatePhase,
    TimelineEntry,
)
from incidents.warroom.selectors import checklist_groups
from incidents.warroom.services import checklist_item_set_done, open_blocking_items

from tests.conftest import retire_for_a_successor

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 9, 0, tzinfo=dt_timezone.utc)
LOWERED = START + timedelta(minutes=30)
RAISED = START + timedelta(hours=3)
TICKED = "Issue reproduced and confirmed"  # P0, Initial Response (0-1 h)
OPEN = "Root cause identified"  # P0, Triage Analysis (1-2 h)
GATE = "Smoke test: basic user journeys functional"  # P0 quality gate, blocks resolve


def item(incident, text):
    return incident.checklist_items.get(text=text)


def change(incident, by, severity, at):
    with time_machine.travel(at, tick=False):
        return services.incident_change_severity(incident, by=by, severity=severity,
                                                 reason="Re-assessed")


@pytest.fixture
def down_and_up(declare, incident_manager, severities):
    """A P0 with one item ticked, lowered to P1 and raised back to P0."""
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
        checklist_item_set_done(item(incident, TICKED), by=incident_manager, done=True)
    p0_count = incident.checklist_items.count()
    incident = change(incident, incident_manager, severities["P1"], LOWERED)
    after_lowering = {row.text: row.applies for row in incident.checklist_items.all()}
    incident = change(incident, incident_manager, severities["P0"], RAISED)
    return incident, p0_count, after_lowering


def test_lowering_keeps_every_p0_item_and_marks_them_not_required(down_and_up):
    incident, p0_count, after_lowering = down_and_up
    assert after_lowering[TICKED] is False and after_lowering[OPEN] is False
    assert after_lowering[GATE] is False
    assert after_lowering["Fix production issue"] is True, "P1 asks for it too"
    assert after_lowering["Assigned to an owner or senior developer"] is True, "P1's own item"
    assert sum(1 for applies in after_lowering.values() if not applies) >= 30
    assert len(after_lowering) > p0_count, "nothing deleted, P1's items added"


def test_raising_back_re_requires_kept_items_without_duplicates_or_lost_ticks(
        down_and_up, incident_manager):
    incident, _, after_lowering = down_and_up
    texts = list(incident.checklist_items.values_list("text", flat=True))
    assert len(texts) == len(set(texts)) == len(after_lowering)
    ticked = item(incident, TICKED)
    assert ticked.applies and ticked.done_at == START and ticked.done_by == incident_manager
    assert item(incident, OPEN).applies
    assert not item(incident, "Assigned to an owner or senior developer").applies
    assert [row.text for row in open_blocking_items(incident, "resolve")].count(GATE) == 1


def test_re_required_open_items_are_due_within_the_p0_windows_counted_from_the_raise(
        down_and_up):
    incident, _, _ = down_and_up
    triage = item(incident, OPEN)
    assert triage.window_starts_at == RAISED + timedelta(hours=1)
    assert triage.due_at == RAISED + timedelta(hours=2)
    assert item(incident, TICKED).due_at == START + timedelta(hours=1), (
        "a ticked item keeps the window it was done in")
    groups = {group.phase_name: group for group in checklist_groups(incident, now=RAISED)
              if group.template_name == "P0 Emergency Response Checklist"}
    header = groups["Initial Response"]
    assert header.window_starts_at == RAISED and header.due_at == RAISED + timedelta(hours=1)
    assert header.done_count == 1 and len(header.required_items) == 5
    assert groups["Triage Analysis"].due_at == RAISED + timedelta(hours=2)
    p1 = [group for group in checklist_groups(incident, now=RAISED)
          if group.template_name == "P1 Urgent Resolution Protocol"]
    assert p1 and all(group.not_required_count == len(group.items) for group in p1)


def test_each_change_says_on_the_timeline_what_happened_to_the_checklist(down_and_up,
                                                                        incident_manager):
    incident, _, _ = down_and_up
    entries = list(incident.timeline.filter(kind=TimelineEntry.Kind.CHECKLIST,
                                            text__startswith="Checklist changed")
                   .order_by("occurred_at", "id"))
    assert len(entries) == 2, "one summary per severity change"
    lowered, raised = entries
    assert lowered.occurred_at == LOWERED
    assert "the severity was lowered from P0 to P1" in lowered.text
    assert "items added" in lowered.text
    assert "no longer required (kept, 1 of them ticked)" in lowered.text
    assert raised.occurred_at == RAISED
    assert "the severity was raised from P1 to P0" in raised.text
    assert f"{lowered.data['not_required']} items required again" in raised.text
    assert raised.data["added"] == 0, "kept items are required again, never copied"
    assert lowered.author == raised.author == incident_manager, "who changed the severity"


def test_a_not_required_gate_does_not_refuse_resolving(declare, incident_manager, severities):
    incident = declare(severity="P0")
    incident = services.incident_triage(incident, by=incident_manager,
                                        incident_manager=incident_manager)
    incident = services.incident_investigate(incident, by=incident_manager)
    with pytest.raises(ActionRefused, match="Smoke test"):
        services.incident_resolve(incident, by=incident_manager, summary="Fixed")
    incident = change(incident, incident_manager, severities["P2"], timezone.now())
    assert not item(incident, GATE).applies and item(incident, GATE).done_at is None
    resolved = services.incident_resolve(incident, by=incident_manager, summary="Fixed")
    assert resolved.state == "resolved"


def test_the_war_room_shows_kept_items_as_not_required(declare, incident_manager, severities,
                                                        client_for):
    incident = declare(severity="P0")
    incident = change(incident, incident_manager, severities["P1"], timezone.now())
    html = client_for(incident_manager).get(
        reverse("warroom:room", kwargs={"reference": incident.reference})).content.decode()
    gate = html[html.index(GATE):]
    gate = gate[:gate.index("</li>")]
    assert "Not required now" in gate and "Required to" not in gate
    assert "0/5 done · 5 not required now" not in html, "counters count required items only"
    assert "0/0 done · 5 not required now" in html


def test_lowering_with_nothing_ticked_says_the_items_are_kept_on_the_list(
        declare, incident_manager, severities):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
    incident = change(incident, incident_manager, severities["P1"], LOWERED)
    entry = incident.timeline.get(kind=TimelineEntry.Kind.CHECKLIST,
                                  text__startswith="Checklist changed")
    kept = entry.data["not_required"]
    assert f"; {kept} items no longer required (kept on the list)." in entry.text
    assert entry.text.startswith(f"Checklist changed after the severity was lowered from P0 to "
                                 f"P1: {entry.data['added']} items added; ")


def test_the_items_history_says_who_made_it_not_required_and_required_again(
        down_and_up, incident_manager):
    incident, _, _ = down_and_up
    changes = [(record.history_user, record.history_change_reason, record.applies)
               for record in item(incident, OPEN).history.order_by("history_id")][1:]
    assert changes == [(incident_manager, "No longer required", False),
                       (incident_manager, "Required again", True)]
    # The items the lower level added name who lowered it as their author.
    added = item(incident, "Assigned to an owner or senior developer").history.earliest(
        "history_id")
    assert added.history_user == incident_manager


def test_each_change_records_its_counts_and_the_new_level(down_and_up):
    incident, p0_count, after_lowering = down_and_up
    lowered, raised = (incident.timeline.filter(kind=TimelineEntry.Kind.CHECKLIST,
                                                text__startswith="Checklist changed")
                       .order_by("occurred_at", "id"))
    not_required = sum(not applies for applies in after_lowering.values())
    added = len(after_lowering) - p0_count
    assert lowered.data == {"added": added, "required_again": 0,
                            "not_required": not_required, "severity": "P1"}
    assert raised.data == {"added": 0, "required_again": not_required,
                           "not_required": added, "severity": "P0"}


def test_re_required_open_items_remind_when_their_new_window_ends(down_and_up):
    """Raised back at 3 h: the open Triage Analysis items are due 2 h later, and remind then
    (their first window, 1-2 h, passed while they were not required)."""
    incident, _, _ = down_and_up
    triage_reminders = incident.timeline.filter(
        kind=TimelineEntry.Kind.CHECKLIST,
        text__startswith="The “Triage Analysis” window ended with 5 open checklist items;")
    # The first window's timer (2 h) fires too, but its items are due later now.
    with time_machine.travel(RAISED + timedelta(hours=2) - timedelta(minutes=1), tick=False):
        deadlines_sweep()
    assert not triage_reminders.exists()
    with time_machine.travel(RAISED + timedelta(hours=2), tick=False):
        deadlines_sweep()
    assert triage_reminders.count() == 1


def test_an_item_whose_step_was_reworded_since_stays_required(
        declare, incident_manager, incident_types):
    """The row is matched to its template step by id, whatever the step says now."""
    with time_machine.travel(START, tick=False):  # the same every run, not the machine's clock
        incident = declare(severity="P0", incident_type=incident_types["technical"])
        ChecklistTemplateItem.objects.filter(pk=item(incident, OPEN).template_item_id).update(
            text="Root cause identified and written down")
        services.incident_update_impact(incident, by=incident_manager,
                                        incident_type=incident_types["security"])
    assert item(incident, OPEN).applies


def test_a_step_the_new_level_asks_for_in_another_phase_stays_required_once(
        declare, incident_manager, severities):
    """Matched by its words when the new level's procedure has the same step elsewhere."""
    for code in ("P2", "P1"):
        phase = ChecklistPhase.objects.create(slug=f"database-{code}", name=f"Database {code}")
        ChecklistTemplateItem.objects.create(phase=phase, code="dba",
                                             text="Page the database team")
        template = ChecklistTemplate.objects.create(slug=f"database-{code}", name=code,
                                                    severity=severities[code])
        ChecklistTemplatePhase.objects.create(template=template, phase=phase)
    incident = declare(severity="P2")
    change(incident, incident_manager, severities["P1"], timezone.now())
    rows = incident.checklist_items.filter(text="Page the database team")
    assert [row.applies for row in rows] == [True]


def test_a_change_that_only_drops_items_or_only_requires_them_again_is_on_the_timeline(
        declare, incident_manager, severities):
    """With the P1 procedure the only one asking for a step, lowering to P2 only drops it and
    raising back only requires it again: neither adds an item, and each still says so."""
    ChecklistTemplate.objects.update(is_active=False)
    phase = ChecklistPhase.objects.create(slug="database", name="Database")
    ChecklistTemplateItem.objects.create(phase=phase, code="dba", text="Page the database team")
    template = ChecklistTemplate.objects.create(slug="database-p1", name="Database",
                                                severity=severities["P1"])
    ChecklistTemplatePhase.objects.create(template=template, phase=phase)
    incident = declare(severity="P1")
    incident = change(incident, incident_manager, severities["P2"], LOWERED)
    incident = change(incident, incident_manager, severities["P1"], RAISED)
    entries = incident.timeline.filter(kind=TimelineEntry.Kind.CHECKLIST,
                                       text__startswith="Checklist changed")
    assert [entry.text for entry in entries.order_by("occurred_at", "id")] == [
        "Checklist changed after the severity was lowered from P1 to P2: 1 item no longer "
        "required (kept on the list).",
        "Checklist changed after the severity was raised from P2 to P1: 1 item required again.",
    ]
    assert [row.applies for row in incident.checklist_items.all()] == [True]


def test_moving_to_the_level_now_in_use_at_the_same_rank_says_the_severity_changed(
        declare, incident_manager, severities):
    incident = declare(severity="P2")
    successor = retire_for_a_successor(severities["P2"], code="P2-new", name="Major")
    change(incident, incident_manager, successor, LOWERED)
    entry = incident.timeline.filter(kind=TimelineEntry.Kind.CHECKLIST,
                                     text__startswith="Checklist changed").get()
    assert entry.text.startswith("Checklist changed after the severity was changed from P2 to "
                                 "P2-new:")


def test_a_phase_window_reminds_once_however_often_the_level_went_down_and_up_that_second(
        declare, incident_manager, severities):
    """Lowered and raised back twice within one second (two managers' edits crossing, a form
    sent twice): both raises count the windows from the same moment, and the Triage Analysis
    window reminds once when it ends, not once for each raise."""
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
    for _ in range(2):
        incident = change(incident, incident_manager, severities["P1"], RAISED)
        incident = change(incident, incident_manager, severities["P0"], RAISED)
    with time_machine.travel(RAISED + timedelta(hours=2), tick=False):
        deadlines_sweep()
    assert incident.timeline.filter(
        kind=TimelineEntry.Kind.CHECKLIST,
        text__startswith="The “Triage Analysis” window ended with").count() == 1
