"""Every change leaves exactly one history row (who and why) and a timeline entry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine

from incidents import services
from incidents.errors import ActionRefused, Conflict
from incidents.models import Incident, TimelineEntry

from tests.conftest import retire_for_a_successor

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
    assert entry.author == incident_manager
    assert entry.data == {"old": "P2", "new": "P0"}
    assert entry.text == ("Ivan Manager raised the severity from P2 to P0. "
                          "Reason: All card payments fail")
    assert entry.is_key_event


def test_moving_between_two_levels_of_one_rank_neither_raises_nor_lowers_the_severity(
        incident_in, incident_manager, severities):
    """A retired level keeps its rank: moving an incident from it to the level now in use at
    that rank is a change of name, not of urgency."""
    incident = incident_in(State.TRIAGED, severity="P2")
    successor = retire_for_a_successor(severities["P2"], code="P2-new", name="Major")
    incident = services.incident_change_severity(incident, by=incident_manager,
                                                 severity=successor, reason="Renamed levels")
    entry = incident.timeline.filter(kind="severity").get()
    assert entry.text.startswith("Ivan Manager changed the severity from P2 to P2-new.")


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
    assert note.history.earliest().history_user == responder


def test_only_people_who_may_correct_the_timeline_can_correct_a_note(
    incident_in, responder, incident_manager
):
    note = services.timeline_add_note(incident_in(State.INVESTIGATING), by=responder,
                                      text="Rolled back")
    assert not responder.has_perm("incidents.change_timelineentry")
    with pytest.raises(ActionRefused, match="permission to correct timeline entries"):
        services.timeline_entry_update(note, by=responder, text="Nothing happened",
                                       is_key_event=True)
    note.refresh_from_db()
    assert (note.text, note.is_key_event, note.history.count()) == ("Rolled back", False, 1)
    services.timeline_entry_update(note, by=incident_manager, text="Rolled back v2.3")
    note.refresh_from_db()
    assert note.text == "Rolled back v2.3"


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
    incident = services.incident_update_impact(incident, by=incident_manager,
                                               services=[website, payments])
    both = incident.timeline.filter(kind="impact").latest("id")
    assert both.data["services"] == ["Public website", "Payments, Public website"]


def test_joining_and_leaving_a_response_is_on_the_timeline_once_each(incident_in, responder):
    incident = incident_in(State.TRIAGED)
    for _ in range(2):
        services.incident_set_responder(incident, by=responder, user=responder, joined=True)
    assert responder in incident.responders.all()
    assert incident.participants.filter(user=responder, reason="responder").exists()
    for _ in range(2):
        services.incident_set_responder(incident, by=responder, user=responder, joined=False)
    assert responder not in incident.responders.all()
    entries = incident.timeline.filter(kind=Kind.ROLE, data__role="responder")
    assert [(e.author, e.text, e.data) for e in entries] == [
        (responder, "Rita Responder joined the response.",
         {"role": "responder", "user": responder.pk, "joined": True}),
        (responder, "Rita Responder left the response.",
         {"role": "responder", "user": responder.pk, "joined": False}),
    ]


def test_correcting_a_note_refuses_a_future_or_out_of_range_time_in_words(
    incident_in, responder, incident_manager
):
    with time_machine.travel("2026-03-02 12:00:00+00:00", tick=False):
        note = services.timeline_add_note(incident_in(State.INVESTIGATING), by=responder,
                                          text="Rolled back")
        with pytest.raises(ActionRefused) as refused:
            services.timeline_entry_update(note, by=incident_manager,
                                           occurred_at=note.occurred_at + timedelta(seconds=1))
        assert refused.value.reasons == ["A note cannot be dated in the future."]
        with pytest.raises(ActionRefused) as refused:
            services.timeline_entry_update(
                note, by=incident_manager, occurred_at=datetime(1, 1, 1, tzinfo=dt_timezone.utc))
        assert refused.value.reasons[0].startswith("The time of the note is out of range.")
        # This very moment is not the future.
        services.timeline_entry_update(note, by=incident_manager,
                                       occurred_at=datetime(2026, 3, 2, 12, tzinfo=dt_timezone.utc))
    note.refresh_from_db()
    assert note.occurred_at.isoformat() == "2026-03-02T12:00:00+00:00"
    assert note.history.count() == 2


def test_correcting_a_notes_text_keeps_it_trimmed_and_refuses_an_empty_one(
    incident_in, responder, incident_manager
):
    note = services.timeline_add_note(incident_in(State.INVESTIGATING), by=responder,
                                      text="Rolled bakc")
    with pytest.raises(ActionRefused) as refused:
        services.timeline_entry_update(note, by=incident_manager, text="   ")
    assert refused.value.reasons == ["A note needs some text."]
    services.timeline_entry_update(note, by=incident_manager, text="  Rolled back  ")
    note.refresh_from_db()
    assert note.text == "Rolled back"
    latest = note.history.latest()
    assert latest.history_user == incident_manager
    assert not latest.history_change_reason  # none given, none invented


def test_a_long_reason_for_a_correction_is_kept_to_its_first_100_characters(
    incident_in, responder, incident_manager
):
    note = services.timeline_add_note(incident_in(State.INVESTIGATING), by=responder, text="x")
    reason = "Corrected after reading the load balancer logs again " * 4
    services.timeline_entry_update(note, by=incident_manager, is_key_event=True, reason=reason)
    assert note.history.latest().history_change_reason == reason[:100]


def test_an_automatic_entry_refuses_a_text_or_time_change_in_words(incident_in, incident_manager):
    entry = incident_in(State.TRIAGED).timeline.filter(kind=Kind.TRANSITION).get()
    for change in ({"text": "Something else"}, {"occurred_at": entry.occurred_at}):
        with pytest.raises(ActionRefused) as refused:
            services.timeline_entry_update(entry, by=incident_manager, **change)
        assert refused.value.reasons == [
            "Only manual notes can be edited; automatic entries are a record."]


def test_entries_recorded_in_a_batch_get_the_current_time_and_their_author_in_history(
    incident_in, incident_manager
):
    incident = incident_in(State.TRIAGED)
    earlier = datetime(2026, 3, 2, 9, 0, tzinfo=dt_timezone.utc)
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        first, second = services.timeline_record_many([
            TimelineEntry(incident=incident, kind=Kind.NOTE, text="Paged", author=incident_manager),
            TimelineEntry(incident=incident, kind=Kind.NOTE, text="Earlier", occurred_at=earlier),
        ])
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.occurred_at.isoformat() == "2026-03-02T10:00:00+00:00"
    assert second.occurred_at == earlier
    assert first.history.get().history_user == incident_manager


def test_an_impact_update_records_old_and_new_values_and_nothing_when_unchanged(
    incident_in, responder
):
    incident = incident_in(State.INVESTIGATING)
    services.incident_update_impact(incident, by=responder, customers_affected=1200)
    services.incident_update_impact(incident, by=responder, customers_affected=1500,
                                    title="Checkout fails for card payments",
                                    description="Since the 10:00 deploy")
    before = (incident.history.count(), incident.timeline.count())
    services.incident_update_impact(incident, by=responder, customers_affected=1500)
    assert (incident.history.count(), incident.timeline.count()) == before
    incident.refresh_from_db()
    assert incident.title == "Checkout fails for card payments"
    assert incident.description == "Since the 10:00 deploy"
    latest = incident.timeline.filter(kind=Kind.IMPACT).last()
    assert latest.data == {
        "customers_affected": ["1200", "1500"],
        "title": ["Checkout returns 500", "Checkout fails for card payments"],
        "description": ["", "Since the 10:00 deploy"],
    }
    assert incident.history.latest().history_change_reason == "Impact updated"


def test_an_impact_update_refuses_bad_values_in_words_and_unknown_fields_loudly(
    incident_in, responder
):
    incident = incident_in(State.INVESTIGATING)
    with pytest.raises(ActionRefused) as refused:
        services.incident_update_impact(incident, by=responder, customers_affected=-1)
    assert refused.value.reasons == ["Customers affected cannot be negative."]
    with pytest.raises(ActionRefused) as refused:
        services.incident_update_impact(incident, by=responder, title="Down\nBcc: all@example.com")
    assert refused.value.reasons == ["A title is one line: it becomes the subject of e-mails."]
    with pytest.raises(TypeError, match=r"Unknown impact fields: \['colour'\]"):
        services.incident_update_impact(incident, by=responder, colour="red")
    incident.refresh_from_db()
    assert (incident.customers_affected, incident.title) == (None, "Checkout returns 500")
    assert not incident.timeline.filter(kind=Kind.IMPACT).exists()


def test_naming_the_first_affected_services_records_that_there_were_none(
    declare, incident_manager, payments
):
    incident = declare(by=incident_manager)
    services.incident_update_impact(incident, by=incident_manager, services=[payments])
    entry = incident.timeline.filter(kind=Kind.IMPACT).get()
    assert entry.data["services"] == ["none", "Payments"]


# --- Declaration ------------------------------------------------------------------------------


def test_the_declared_entry_names_the_reporter_the_reference_and_the_severity(
    declare, responder, severities, payments
):
    incident = declare(by=responder, severity="P2", services=[payments])
    entry = incident.timeline.get(kind=Kind.DECLARED)
    assert entry.text == f"Rita Responder declared {incident.reference} as {severities['P2']}."
    assert list(incident.services.all()) == [payments]
    assert list(incident.participants.values_list("user", "reason")) == [
        (responder.pk, "reporter")]
    # Declared this very moment: no separate "Issue detected." entry.
    assert not incident.timeline.filter(kind=Kind.NOTE).exists()


def test_a_backdated_detection_is_a_key_entry_by_the_reporter(declare, responder):
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        incident = declare(by=responder,
                           detected_at=datetime(2026, 3, 2, 9, 40, tzinfo=dt_timezone.utc))
    entry = incident.timeline.get(kind=Kind.NOTE)
    assert (entry.text, entry.author, entry.is_key_event) == ("Issue detected.", responder, True)
    assert incident.detected_at.isoformat() == "2026-03-02T09:40:00+00:00"


def test_a_security_incident_starts_restricted_and_the_timeline_says_why(
    declare, responder, incident_types
):
    from django.contrib.auth.models import Group

    team = Group.objects.create(name="Security team")
    legal = Group.objects.create(name="Legal")
    incident = declare(by=responder, incident_type=incident_types["security"],
                       groups=[team, legal])
    assert incident.is_restricted
    assert incident.history.get().is_restricted
    assert set(incident.visible_to_groups.all()) == {team, legal}
    entry = incident.timeline.get(kind=Kind.VISIBILITY)
    assert entry.text == ("Visible to its participants and Legal, Security team only: "
                          "Security incidents start restricted.")
    assert (entry.author, entry.is_key_event) == (responder, True)
    assert entry.data == {"restricted": True, "groups": sorted([team.pk, legal.pk])}


def test_a_declarer_may_keep_a_security_incident_open_or_restrict_any_other(
    declare, responder, incident_types
):
    opened = declare(by=responder, incident_type=incident_types["security"], restricted=False)
    assert not opened.is_restricted
    assert not opened.timeline.filter(kind=Kind.VISIBILITY).exists()
    restricted = declare(by=responder, restricted=True)
    assert restricted.is_restricted
    assert restricted.timeline.get(kind=Kind.VISIBILITY).text == (
        "Visible to its participants only: Rita Responder restricted it when declaring.")


def test_an_unknown_impact_field_at_declaration_is_a_programming_error(declare):
    with pytest.raises(TypeError, match=r"Unknown impact fields: \['colour'\]"):
        declare(colour="red")
    assert not Incident.objects.exists()


def test_a_title_of_two_lines_is_refused_at_declaration(declare):
    with pytest.raises(ActionRefused) as refused:
        declare(title="Checkout down\nBcc: everyone@example.com")
    assert refused.value.reasons == ["A title is one line: it becomes the subject of e-mails."]
    assert not Incident.objects.exists()


def test_impact_numbers_at_their_limits_are_accepted_and_beyond_them_refused_in_words(declare):
    from decimal import Decimal

    incident = declare(revenue_impact_per_hour=Decimal("0"), customers_affected=0,
                       customers_affected_pct=Decimal("0"), currency="EUR")
    assert (incident.revenue_impact_per_hour, incident.customers_affected) == (0, 0)
    assert declare(customers_affected_pct=Decimal("100")).customers_affected_pct == 100
    with pytest.raises(ActionRefused) as refused:
        declare(revenue_impact_per_hour=Decimal("-0.01"), customers_affected=-1,
                customers_affected_pct=Decimal("-0.1"), currency="eu")
    assert refused.value.reasons == [
        "Revenue impact per hour cannot be negative.",
        "Customers affected cannot be negative.",
        "A percentage is between 0 and 100.",
        "“eu” is not an ISO 4217 currency code (e.g. EUR, USD, GBP).",
    ]
    with pytest.raises(ActionRefused) as refused:
        declare(customers_affected_pct=Decimal("100.1"))
    assert refused.value.reasons == ["A percentage is between 0 and 100."]
    assert Incident.objects.count() == 2


def test_declaring_for_a_service_fills_the_roles_from_its_owner_and_technical_lead(
    declare, incident_manager, make_user, severities, payments
):
    from incidents.models import IncidentRole, RoleRequirement

    owner = make_user("Incident manager", first_name="Olga", last_name="Owner")
    lead = make_user("Responder", first_name="Tom", last_name="Lead")
    payments.owner, payments.technical_lead = owner, lead
    payments.save()
    technical_lead = IncidentRole.objects.create(code="technical-lead", name="Technical lead")
    RoleRequirement.objects.create(role=IncidentRole.objects.get(code="incident_manager"),
                                   severity=severities["P0"], fill_from_service="owner")
    RoleRequirement.objects.create(role=technical_lead, severity=severities["P0"],
                                   fill_from_service="technical_lead")
    incident = declare(by=incident_manager, severity="P0", services=[payments])
    assert incident.incident_manager == owner
    assert incident.role_assignments.get(role=technical_lead).user == lead
    assert set(incident.responders.all()) == {owner, lead}
    assert set(incident.participants.filter(reason="role").values_list("user", flat=True)) == {
        owner.pk, lead.pk}
    entries = incident.timeline.filter(kind=Kind.ROLE).order_by("text")
    assert [(e.author, e.text, e.data) for e in entries] == [
        (incident_manager, "Olga Owner is incident manager: owner of Payments.",
         {"role": "incident_manager", "new": owner.pk, "service": "payments"}),
        (incident_manager, "Tom Lead is technical lead: technical lead of Payments.",
         {"role": "technical-lead", "new": lead.pk, "service": "payments"}),
    ]


# --- Roles ------------------------------------------------------------------------------------


def test_a_manager_defined_role_is_given_handed_over_and_cleared_on_the_timeline(
    incident_in, incident_manager, make_user
):
    from incidents.models import IncidentRole

    auditor = IncidentRole.objects.create(code="security-auditor", name="Security auditor")
    first = make_user("Responder", first_name="Sam", last_name="Audit")
    second = make_user("Responder", first_name="Bea", last_name="Check")
    incident = incident_in(State.TRIAGED)
    before = incident.history.count()
    services.incident_assign_role(incident, by=incident_manager, role="security-auditor",
                                  user=first)
    assert incident.history.latest().history_change_reason == "Security auditor changed"
    services.incident_assign_role(incident, by=incident_manager, role="security-auditor",
                                  user=second, reason="Sam is off shift")
    services.incident_assign_role(incident, by=incident_manager, role="security-auditor",
                                  user=second)
    services.incident_assign_role(incident, by=incident_manager, role="security-auditor",
                                  user=None)
    assert not incident.role_assignments.filter(role=auditor).exists()
    assert {first, second} <= set(incident.responders.all())
    assert incident.participants.filter(user=second, reason="role").exists()
    assert incident.history.count() == before + 3
    entries = incident.timeline.filter(kind=Kind.ROLE, data__role="security-auditor")
    assert [(e.author, e.text, e.data) for e in entries] == [
        (incident_manager, "Ivan Manager made Sam Audit security auditor.",
         {"role": "security-auditor", "old": None, "new": first.pk}),
        (incident_manager, "Ivan Manager made Bea Check security auditor (was Sam Audit). "
                           "Reason: Sam is off shift",
         {"role": "security-auditor", "old": first.pk, "new": second.pk}),
        (incident_manager, "Ivan Manager removed Bea Check as security auditor.",
         {"role": "security-auditor", "old": second.pk, "new": None}),
    ]


def test_a_built_in_role_given_without_a_reason_says_what_changed(
    incident_in, incident_manager, make_user
):
    incident = incident_in(State.TRIAGED)
    lead = make_user("Responder", first_name="Cara", last_name="Comms")
    services.incident_assign_role(incident, by=incident_manager, role="communications_lead",
                                  user=lead)
    incident.refresh_from_db()
    assert incident.communications_lead == lead
    latest = incident.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (
        incident_manager, "Communications lead changed")
    entry = incident.timeline.filter(kind=Kind.ROLE).last()
    assert (entry.author, entry.text, entry.data) == (
        incident_manager, "Ivan Manager made Cara Comms communications lead.",
        {"role": "communications_lead", "old": None, "new": lead.pk})


def test_someone_who_does_not_work_incidents_gets_a_role_only_through_its_group(
    incident_in, incident_manager, product_manager
):
    from django.contrib.auth.models import Group

    from incidents.models import IncidentRole

    incident = incident_in(State.TRIAGED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_assign_role(incident, by=incident_manager, role="communications_lead",
                                      user=product_manager)
    assert refused.value.reasons == [
        "Paul PM does not work incidents (no responder or incident manager group) and is not "
        "in the role's group, so cannot be communications lead."]
    comms = Group.objects.create(name="Communications")
    product_manager.groups.add(comms)
    IncidentRole.objects.filter(incident_field="communications_lead").update(group=comms)
    services.incident_assign_role(incident, by=incident_manager, role="communications_lead",
                                  user=product_manager)
    incident.refresh_from_db()
    assert incident.communications_lead == product_manager


def test_an_unknown_role_is_refused_by_name(incident_in, incident_manager):
    from incidents.models import IncidentRole

    IncidentRole.objects.create(code="security-auditor", name="Security auditor")
    incident = incident_in(State.TRIAGED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_assign_role(incident, by=incident_manager, role="mascot",
                                      user=incident_manager)
    assert refused.value.reasons == ["Unknown role “mascot”."]


def test_a_role_change_from_a_stale_form_is_refused_and_changes_nothing(
    incident_in, incident_manager, make_user
):
    incident = incident_in(State.TRIAGED)
    stale = incident.version - 1
    with pytest.raises(Conflict) as refused:
        services.incident_assign_role(incident, by=incident_manager, role="scribe",
                                      user=make_user("Responder"), expected_version=stale)
    assert refused.value.reasons == [
        f"{incident.reference} was changed by someone else while you were editing "
        "(reload to see the change); your change was not saved."]
    incident.refresh_from_db()
    assert incident.scribe is None


# --- Severity and triage ----------------------------------------------------------------------


def test_severity_refusals_say_why_in_words(incident_in, incident_manager, severities):
    incident = incident_in(State.TRIAGED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P1"], reason="  ")
    assert refused.value.reasons == ["Say why the severity changes."]
    with pytest.raises(ActionRefused) as refused:
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P3"], reason="Same")
    assert refused.value.reasons == [f"{incident.reference} is already {severities['P3']}."]
    closed = incident_in(State.CLOSED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_change_severity(closed, by=incident_manager,
                                          severity=severities["P1"], reason="Reclassified")
    assert refused.value.reasons == [
        f"{closed.reference} is closed; its severity can no longer change."]


def test_a_severity_change_moves_the_sla_in_the_name_of_who_changed_it(
    incident_in, incident_manager, severities
):
    incident = incident_in(State.TRIAGED, severity="P3")
    services.incident_change_severity(incident, by=incident_manager, severity=severities["P1"],
                                      reason="All card payments fail")
    entry = incident.timeline.filter(kind=Kind.SLA).last()
    assert entry.text.startswith("SLA recomputed for P1")
    assert entry.author == incident_manager


def test_triage_records_the_severity_and_manager_it_sets_with_its_own_reasons(
    declare, incident_manager, severities
):
    incident = declare(severity="P2")
    services.incident_triage(incident, by=incident_manager, severity=severities["P1"],
                             incident_manager=incident_manager)
    severity = incident.timeline.get(kind=Kind.SEVERITY)
    assert severity.text == ("Ivan Manager raised the severity from P2 to P1. "
                             "Reason: Severity confirmed at triage")
    role = incident.timeline.get(kind=Kind.ROLE, data__role="incident_manager")
    assert role.text == "Ivan Manager made Ivan Manager incident manager. Reason: Assigned at triage"
    reasons = list(incident.history.order_by("history_id").values_list(
        "history_change_reason", flat=True))
    assert reasons[1:] == ["Severity confirmed at triage", "Assigned at triage", "Triage"]


def test_triage_with_the_current_severity_and_manager_changes_neither(
    declare, incident_manager, severities
):
    incident = declare(severity="P2")
    services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                  user=incident_manager)
    services.incident_triage(incident, by=incident_manager, severity=severities["P2"],
                             incident_manager=incident_manager, reason="Confirmed as reported")
    assert not incident.timeline.filter(kind=Kind.SEVERITY).exists()
    assert incident.timeline.filter(kind=Kind.ROLE, data__role="incident_manager").count() == 1
    entry = incident.timeline.get(kind=Kind.TRANSITION)
    assert entry.text == ("Ivan Manager triaged the incident (Reported → Triaged). "
                          "Reason: Confirmed as reported")
    assert entry.is_key_event


def test_starting_to_investigate_stays_off_the_key_events_and_mitigating_is_on_them(
    incident_in, responder
):
    incident = services.incident_investigate(incident_in(State.TRIAGED), by=responder,
                                             reason="PSP logs first")
    services.incident_mitigate(incident, by=responder, reason="Failover done")
    entries = incident.timeline.filter(kind=Kind.TRANSITION)
    assert [(e.data["transition"], e.is_key_event) for e in entries] == [
        ("triage", True), ("investigate", False), ("mitigate", True)]
    assert [e.text for e in entries][1:] == [
        "Rita Responder moved to investigating the incident (Triaged → Investigating). "
        "Reason: PSP logs first",
        "Rita Responder mitigated the incident (Investigating → Mitigated). Reason: Failover done",
    ]


def test_a_severity_change_from_a_stale_form_is_refused_and_changes_nothing(
    incident_in, incident_manager, severities
):
    incident = incident_in(State.TRIAGED)
    with pytest.raises(Conflict):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P1"], reason="Worse",
                                          expected_version=incident.version - 1)
    incident.refresh_from_db()
    assert incident.severity.code == "P3"
    assert not incident.timeline.filter(kind=Kind.SEVERITY).exists()


def test_a_reason_given_for_resolving_or_closing_is_on_the_timeline(incident_in, incident_manager):
    incident = services.incident_resolve(incident_in(State.MITIGATED), by=incident_manager,
                                         summary="Rolled back", reason="Errors gone for an hour")
    services.incident_close(incident, by=incident_manager, reason="Review not needed at P3")
    texts = [e.text for e in incident.timeline.filter(kind=Kind.TRANSITION)][-2:]
    assert texts == [
        "Ivan Manager resolved the incident (Mitigated → Resolved). Reason: Errors gone for an hour",
        "Ivan Manager closed the incident (Resolved → Closed). Reason: Review not needed at P3",
    ]


def test_a_duplicate_of_a_restricted_incident_does_not_name_it(incident_in, incident_manager):
    original = incident_in(State.INVESTIGATING)
    services.incident_set_visibility(original, by=incident_manager, restricted=True,
                                     reason="Fraud case")
    original.refresh_from_db()
    copy = services.incident_mark_duplicate(incident_in(State.REPORTED), by=incident_manager,
                                            duplicate_of=original)
    entry = copy.timeline.get(kind=Kind.TRANSITION, data__transition="mark_duplicate")
    assert entry.text.endswith("Reason: Duplicate of a restricted incident")
    assert original.reference not in entry.text


def test_a_long_reason_is_whole_on_the_timeline_and_cut_to_100_characters_in_history(
    incident_in, incident_manager
):
    reason = "Monitoring false positive: the synthetic check ran against staging " * 3
    incident = services.incident_cancel(incident_in(State.REPORTED), by=incident_manager,
                                        reason=reason)
    assert incident.history.latest().history_change_reason == reason.strip()[:100]
    assert incident.timeline.get(kind=Kind.TRANSITION).text.endswith(f"Reason: {reason.strip()}")


def test_note_refusals_say_why_in_words_and_add_nothing(incident_in, responder, product_manager):
    incident = incident_in(State.INVESTIGATING)
    count = incident.timeline.count()
    with pytest.raises(ActionRefused) as refused:
        services.timeline_add_note(incident, by=product_manager, text="Looks bad")
    assert refused.value.reasons == ["You do not have permission to add notes to the timeline."]
    with pytest.raises(ActionRefused) as refused:
        services.timeline_add_note(incident, by=responder, text="  ")
    assert refused.value.reasons == ["A note needs some text."]
    with pytest.raises(ActionRefused) as refused:
        services.timeline_add_note(incident, by=responder, text="Long ago",
                                   occurred_at=datetime(1, 1, 1, tzinfo=dt_timezone.utc))
    assert refused.value.reasons[0].startswith("The time of the note is out of range.")
    with time_machine.travel("2026-03-02 12:00:00+00:00", tick=False):
        with pytest.raises(ActionRefused) as refused:
            services.timeline_add_note(
                incident, by=responder, text="Later",
                occurred_at=datetime(2026, 3, 2, 12, 0, 1, tzinfo=dt_timezone.utc))
        assert refused.value.reasons == ["A note cannot be dated in the future."]
        assert incident.timeline.count() == count
        # This very moment is not the future.
        note = services.timeline_add_note(
            incident, by=responder, text="Now",
            occurred_at=datetime(2026, 3, 2, 12, 0, tzinfo=dt_timezone.utc))
    assert note.occurred_at.isoformat() == "2026-03-02T12:00:00+00:00"


def test_an_impact_update_without_a_reason_is_attributed_and_ends_its_sentence(
    incident_in, responder
):
    incident = incident_in(State.INVESTIGATING)
    services.incident_update_impact(incident, by=responder, customers_affected=40)
    entry = incident.timeline.get(kind=Kind.IMPACT)
    assert (entry.author, entry.text) == (responder, "Rita Responder updated customers affected.")
    assert incident.history.latest().history_user == responder


def test_a_review_owned_by_the_outgoing_incident_manager_follows_the_role(
    incident_in, incident_manager, manager, make_user
):
    from postmortems import services as postmortem_services

    incident = incident_in(State.INVESTIGATING)
    postmortem = postmortem_services.postmortem_create(incident=incident, by=incident_manager)
    assert postmortem.owner == incident_manager
    successor = make_user("Incident manager", first_name="Ingrid", last_name="Next")
    services.incident_assign_role(incident, by=manager, role="incident_manager", user=successor)
    postmortem.refresh_from_db()
    assert postmortem.owner == successor
    latest = postmortem.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (
        manager, "Owner follows the incident manager")


def test_the_lifecycle_moves_the_sla_and_the_review_along_with_the_state(
    declare, incident_manager, core_guards_only
):
    """Other areas follow each transition: triage meets the response clock, resolving a P1
    schedules its review, resolving it again is recorded on the review by whoever did it."""
    from escalation.models import SlaClock
    from postmortems.models import PostMortem

    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        incident = declare(severity="P1")
    with time_machine.travel("2026-03-02 10:05:00+00:00", tick=False):
        incident = services.incident_triage(incident, by=incident_manager,
                                            incident_manager=incident_manager)
    response = SlaClock.objects.get(incident=incident, kind="response")
    assert response.met_at.isoformat() == "2026-03-02T10:05:00+00:00"
    incident = services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    postmortem = PostMortem.objects.get(incident=incident)
    incident = services.incident_reopen(incident, by=incident_manager, reason="Errors are back")
    services.incident_resolve(incident, by=incident_manager, summary="Rolled back again")
    latest = postmortem.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (
        incident_manager, "Incident resolved again")
