"""Every change leaves exactly one history row (who and why) and a timeline entry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine

from incidents import services
from incidents.errors import ActionRefused, Conflict
from incidents.models import Incident, TimelineEntry

from .conftest import walk

pytestmark = pytest.mark.django_db

State = Incident.State
Kind = TimelineEntry.Kind


def test_declaring_writes_one_history_row_and_a_declared_entry(declare, responder):
    incident = declare(by=responder)
    rows = list(incident.history.all())
    assert len(rows) == 1
    assert rows[0].history_type == "+"
    assert rows[0].history_user == responder
    assert rows[0].history_change_reason == "Declared"
    entry = incident.timeline.get(kind=Kind.DECLARED)
    assert entry.author == responder
    assert entry.is_key_event


def test_a_backdated_detection_time_adds_a_detected_entry_at_that_time(declare):
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        incident = declare(detected_at=datetime(2026, 3, 2, 9, 40, tzinfo=dt_timezone.utc))
    kinds = [(e.kind, e.occurred_at.isoformat())
             for e in incident.timeline.filter(kind__in=[Kind.NOTE, Kind.DECLARED])]
    assert kinds == [
        (Kind.NOTE, "2026-03-02T09:40:00+00:00"),
        (Kind.DECLARED, "2026-03-02T10:00:00+00:00"),
    ]


@pytest.mark.parametrize("step, kwargs, reason", [
    ("investigate", {}, "Start investigating"),
    ("mitigate", {"reason": "Failover done"}, "Failover done"),
    ("resolve", {"summary": "Fixed"}, "Resolve"),
])
def test_each_transition_writes_exactly_one_history_row_with_user_and_reason(
    incident_in, responder, step, kwargs, reason
):
    incident = incident_in(State.TRIAGED)
    if step == "resolve":
        incident = services.incident_investigate(incident, by=responder)
    before = incident.history.count()
    services.TRANSITION_SERVICES[step](incident, by=responder, **kwargs)
    assert incident.history.count() == before + 1
    latest = incident.history.latest()
    assert latest.history_user == responder
    assert latest.history_change_reason == reason
    assert latest.state == incident.__class__.objects.get(pk=incident.pk).state


def test_every_transition_adds_a_timeline_entry_naming_who_and_from_where_to_where(
    declare, incident_manager
):
    incident = declare(severity="P3")  # P0/P1 need a published review before closing
    incident = walk(incident, ["triage", "investigate", "mitigate", "resolve"],
                    by=incident_manager)
    incident = services.incident_reopen(incident, by=incident_manager, reason="Came back")
    incident = services.incident_resolve(incident, by=incident_manager, summary="Fixed again")
    services.incident_close(incident, by=incident_manager)
    transitions = [
        (e.data["transition"], e.data["source"], e.data["target"], e.author)
        for e in incident.timeline.filter(kind=Kind.TRANSITION)
    ]
    assert transitions == [
        ("triage", "reported", "triaged", incident_manager),
        ("investigate", "triaged", "investigating", incident_manager),
        ("mitigate", "investigating", "mitigated", incident_manager),
        ("resolve", "mitigated", "resolved", incident_manager),
        ("reopen", "resolved", "investigating", incident_manager),
        ("resolve", "investigating", "resolved", incident_manager),
        ("close", "resolved", "closed", incident_manager),
    ]
    close_entry = incident.timeline.filter(kind=Kind.TRANSITION).last()
    assert close_entry.text == "Ivan Manager closed the incident (Resolved → Closed)."


def test_cancel_and_duplicate_are_on_the_timeline_with_their_reason(incident_in, incident_manager):
    cancelled = services.incident_cancel(incident_in(State.REPORTED), by=incident_manager,
                                         reason="Monitoring false positive")
    entry = cancelled.timeline.filter(kind=Kind.TRANSITION).get()
    assert entry.data["target"] == "cancelled"
    assert entry.text.endswith("Reason: Monitoring false positive")
    assert cancelled.history.latest().history_change_reason == "Monitoring false positive"


def test_raising_severity_is_audited_with_the_reason(incident_in, incident_manager, severities):
    incident = incident_in(State.TRIAGED, severity="P2")
    before = incident.history.count()
    services.incident_change_severity(incident, by=incident_manager, severity=severities["P0"],
                                      reason="All card payments fail")
    incident.refresh_from_db()
    assert incident.severity.code == "P0"
    assert incident.history.count() == before + 1
    latest = incident.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (
        incident_manager, "All card payments fail")
    entry = incident.timeline.filter(kind=Kind.SEVERITY).get()
    assert entry.data == {"old": "P2", "new": "P0"}
    assert entry.text == ("Ivan Manager raised the severity from P2 to P0. "
                          "Reason: All card payments fail")
    assert entry.is_key_event


def test_lowering_severity_is_audited_with_the_reason(incident_in, incident_manager, severities):
    incident = incident_in(State.MITIGATED, severity="P1")
    services.incident_change_severity(incident, by=incident_manager, severity=severities["P3"],
                                      reason="Workaround covers all customers")
    entry = incident.timeline.filter(kind=Kind.SEVERITY).get()
    assert entry.text.startswith("Ivan Manager lowered the severity from P1 to P3.")
    assert incident.history.latest().history_change_reason == "Workaround covers all customers"


@pytest.mark.parametrize("reason, message", [
    ("", "Say why the severity changes"),
    ("Same again", "is already P3"),
])
def test_a_severity_change_without_reason_or_without_change_is_refused(
    incident_in, incident_manager, severities, reason, message
):
    incident = incident_in(State.TRIAGED)
    before = incident.history.count()
    with pytest.raises(ActionRefused, match=message):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P3"], reason=reason)
    assert incident.history.count() == before
    assert not incident.timeline.filter(kind=Kind.SEVERITY).exists()


def test_severity_of_a_closed_incident_can_no_longer_change(
    incident_in, incident_manager, severities
):
    incident = incident_in(State.CLOSED)
    with pytest.raises(ActionRefused, match="its severity can no longer change"):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P1"], reason="Reclassified")


def test_a_role_change_is_audited_and_names_the_previous_holder(
    incident_in, incident_manager, make_user
):
    incident = incident_in(State.TRIAGED)
    successor = make_user("Incident manager", first_name="Ingrid", last_name="Next")
    before = incident.history.count()
    services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                  user=successor, reason="Shift handover")
    incident.refresh_from_db()
    assert incident.incident_manager == successor
    assert successor in incident.responders.all()
    assert incident.history.count() == before + 1
    assert incident.history.latest().history_change_reason == "Shift handover"
    entry = incident.timeline.filter(kind=Kind.ROLE).last()
    assert entry.text == ("Ivan Manager made Ingrid Next incident manager (was Ivan Manager). "
                          "Reason: Shift handover")


def test_assigning_the_same_person_again_records_nothing(incident_in, incident_manager):
    incident = incident_in(State.TRIAGED)
    before = (incident.history.count(), incident.timeline.count())
    services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                  user=incident_manager)
    assert (incident.history.count(), incident.timeline.count()) == before


def test_clearing_a_role_is_on_the_timeline(incident_in, incident_manager, make_user):
    incident = incident_in(State.TRIAGED)
    lead = make_user("Responder", first_name="Cara", last_name="Comms")
    services.incident_assign_role(incident, by=incident_manager, role="communications_lead",
                                  user=lead)
    services.incident_assign_role(incident, by=incident_manager, role="communications_lead",
                                  user=None, reason="Back to one person")
    incident.refresh_from_db()
    assert incident.communications_lead is None
    assert incident.timeline.filter(kind=Kind.ROLE).last().text == (
        "Ivan Manager removed Cara Comms as communications lead. Reason: Back to one person")


def test_an_unknown_role_is_refused(incident_in, incident_manager):
    with pytest.raises(ActionRefused, match="Unknown role"):
        services.incident_assign_role(incident_in(State.TRIAGED), by=incident_manager,
                                      role="mascot", user=incident_manager)


def test_an_impact_update_is_one_history_row_and_one_entry_naming_the_fields(
    incident_in, responder
):
    incident = incident_in(State.INVESTIGATING)
    before = incident.history.count()
    services.incident_update_impact(incident, by=responder, customers_affected=1200,
                                    is_customer_facing=True, reason="Support tickets counted")
    assert incident.history.count() == before + 1
    entry = incident.timeline.filter(kind=Kind.IMPACT).get()
    assert entry.text == ("Rita Responder updated customers affected, customer-facing. "
                          "Reason: Support tickets counted")


def test_a_note_can_be_backdated_and_is_not_in_history_of_the_incident(incident_in, responder):
    incident = incident_in(State.INVESTIGATING)
    before = incident.history.count()
    with time_machine.travel("2026-03-02 12:00:00+00:00", tick=False):
        note = services.timeline_add_note(
            incident, by=responder, text="  Saw the first 500s in the PSP dashboard ",
            occurred_at=datetime(2026, 3, 2, 11, 15, tzinfo=dt_timezone.utc), is_key_event=True,
        )
    note.refresh_from_db()
    assert note.kind == Kind.NOTE
    assert note.text == "Saw the first 500s in the PSP dashboard"
    assert note.occurred_at.isoformat() == "2026-03-02T11:15:00+00:00"
    assert note.author == responder
    assert note.is_key_event
    assert incident.history.count() == before


def test_a_note_dated_in_the_future_is_refused(incident_in, responder):
    incident = incident_in(State.INVESTIGATING)
    count = incident.timeline.count()
    with pytest.raises(ActionRefused, match="cannot be dated in the future"):
        services.timeline_add_note(incident, by=responder, text="Later",
                                   occurred_at=datetime.now(dt_timezone.utc) + timedelta(hours=1))
    assert incident.timeline.count() == count


def test_an_empty_note_is_refused(incident_in, responder):
    with pytest.raises(ActionRefused, match="A note needs some text"):
        services.timeline_add_note(incident_in(State.TRIAGED), by=responder, text="   ")


def test_correcting_a_note_time_keeps_its_own_history(incident_in, responder, incident_manager):
    incident = incident_in(State.INVESTIGATING)
    note = services.timeline_add_note(incident, by=responder, text="Rolled back")
    earlier = note.occurred_at - timedelta(minutes=20)
    services.timeline_entry_update(note, by=incident_manager, occurred_at=earlier,
                                   reason="Rollback started earlier")
    note.refresh_from_db()
    assert note.occurred_at == earlier
    latest = note.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (
        incident_manager, "Rollback started earlier")
    assert note.history.count() == 2


def test_automatic_entries_cannot_be_rewritten_but_can_be_flagged_key(
    incident_in, incident_manager
):
    incident = incident_in(State.TRIAGED)
    entry = incident.timeline.filter(kind=Kind.TRANSITION).get()
    with pytest.raises(ActionRefused, match="Only manual notes can be edited"):
        services.timeline_entry_update(entry, by=incident_manager, text="Something else")
    services.timeline_entry_update(entry, by=incident_manager, is_key_event=False)
    entry.refresh_from_db()
    assert entry.text.startswith("Ivan Manager triaged the incident")
    assert not entry.is_key_event


def test_a_refused_transition_writes_no_history_and_no_timeline(declare, incident_manager):
    incident = declare()
    before = (incident.history.count(), incident.timeline.count())
    with pytest.raises(ActionRefused):
        services.incident_triage(incident, by=incident_manager)
    assert (incident.history.count(), incident.timeline.count()) == before


def test_a_guard_refusal_after_a_partial_triage_rolls_everything_back(
    declare, incident_manager, severities
):
    """Triage changes the severity first; if the transition is then refused, the severity change
    must not survive on its own."""
    incident = declare(severity="P2")
    before = (incident.history.count(), incident.timeline.count())
    with pytest.raises(ActionRefused):
        services.incident_triage(incident, by=incident_manager, severity=severities["P1"],
                                 reason="Looks bigger")
    incident.refresh_from_db()
    assert incident.severity.code == "P2"
    assert (incident.history.count(), incident.timeline.count()) == before


def test_changing_the_affected_services_is_recorded_and_versioned(declare, incident_manager,
                                                                   payments):
    from incidents.models import Service

    website = Service.objects.create(name="Public website", slug="public-website")
    incident = declare(by=incident_manager, services=[payments])
    version = incident.version
    incident = services.incident_update_impact(
        incident, by=incident_manager, services=[website], reason="Only the website is down",
        expected_version=version,
    )
    assert list(incident.services.all()) == [website]
    assert incident.version == version + 1
    entry = incident.timeline.filter(kind="impact").get()
    assert "services" in entry.text and "Only the website is down" in entry.text
    assert entry.data["services"] == ["Payments", "Public website"]
    with pytest.raises(Conflict):
        services.incident_update_impact(incident, by=incident_manager, services=[payments],
                                        expected_version=version)
    assert list(incident.services.all()) == [website]
