"""The incident lifecycle: every transition, its guards, and the reasons given when refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from incidents import guards, services
from incidents.errors import ActionRefused
from incidents.models import Incident

from .conftest import PATH_TO

pytestmark = pytest.mark.django_db

State = Incident.State


def test_a_declared_incident_starts_reported_with_reporter_and_times(declare, responder):
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        incident = declare(by=responder, title="Payments distribution stalled")
    incident.refresh_from_db()
    assert incident.state == State.REPORTED
    assert incident.reporter == responder
    assert incident.declared_at.isoformat() == "2026-03-02T10:00:00+00:00"
    assert incident.acknowledged_at is None


def test_declaring_with_a_detection_time_in_the_future_is_refused(declare):
    with pytest.raises(ActionRefused, match="detection time cannot be in the future"):
        declare(detected_at=timezone.now() + timedelta(minutes=5))
    assert not Incident.objects.exists()


def test_triage_is_refused_until_an_incident_manager_is_assigned(declare, incident_manager):
    incident = declare()
    with pytest.raises(ActionRefused) as refused:
        services.incident_triage(incident, by=incident_manager)
    assert refused.value.reasons == [
        "An incident manager must be assigned before the incident can be triaged."
    ]
    incident.refresh_from_db()
    assert incident.state == State.REPORTED


def test_triage_assigns_the_manager_confirms_severity_and_stamps_acknowledgement(
    declare, incident_manager, severities
):
    incident = declare(severity="P2")
    with time_machine.travel("2026-03-02 10:05:00+00:00", tick=False):
        incident = services.incident_triage(
            incident, by=incident_manager, incident_manager=incident_manager,
            severity=severities["P1"], reason="Checkout errors for all card payments",
        )
    incident.refresh_from_db()
    assert incident.state == State.TRIAGED
    assert incident.incident_manager == incident_manager
    assert incident.severity.code == "P1"
    assert incident.acknowledged_at.isoformat() == "2026-03-02T10:05:00+00:00"


def test_work_moves_forward_through_investigating_and_mitigated(incident_in, responder):
    incident = incident_in(State.TRIAGED)
    incident = services.incident_investigate(incident, by=responder)
    assert incident.state == State.INVESTIGATING
    incident = services.incident_mitigate(incident, by=responder, workaround="Fail over to PSP B")
    incident.refresh_from_db()
    assert incident.state == State.MITIGATED
    assert incident.workaround == "Fail over to PSP B"
    assert incident.mitigated_at is not None


def test_mitigating_straight_from_triaged_is_allowed(incident_in, responder):
    incident = services.incident_mitigate(incident_in(State.TRIAGED), by=responder)
    assert incident.state == State.MITIGATED
    # Neither a workaround nor a reason is made up when none is given.
    assert incident.workaround == ""
    assert incident.history.latest().history_change_reason == "Mark mitigated"
    assert incident.timeline.filter(kind="transition").last().text == (
        "Rita Responder mitigated the incident (Triaged → Mitigated).")


def test_resolve_is_refused_without_a_resolution_summary(incident_in, responder):
    incident = incident_in(State.MITIGATED)
    with pytest.raises(ActionRefused, match="resolution summary is required"):
        services.incident_resolve(incident, by=responder, summary="   ")
    incident.refresh_from_db()
    assert incident.state == State.MITIGATED
    assert incident.resolved_at is None


def test_resolve_with_a_summary_records_it_and_the_resolution_time(incident_in, responder):
    incident = incident_in(State.INVESTIGATING)
    with time_machine.travel("2026-03-02 12:00:00+00:00", tick=False):
        services.incident_resolve(incident, by=responder, summary="  Restarted the queue.  ")
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED
    assert incident.resolution_summary == "Restarted the queue."
    assert incident.resolved_at.isoformat() == "2026-03-02T12:00:00+00:00"
    # Resolving without a separate mitigation step counts the fix as the mitigation.
    assert incident.mitigated_at == incident.resolved_at


def test_reopening_records_the_reason_and_clears_the_resolution_time(
    incident_in, incident_manager
):
    incident = incident_in(State.RESOLVED)
    incident = services.incident_reopen(
        incident, by=incident_manager, reason="Errors are back after the cache expired"
    )
    incident.refresh_from_db()
    assert incident.state == State.INVESTIGATING
    assert incident.resolved_at is None
    entry = incident.timeline.filter(data__transition="reopen").get()
    assert "Errors are back after the cache expired" in entry.text
    assert incident.history.latest().history_change_reason == (
        "Errors are back after the cache expired"
    )


def test_reopening_without_a_reason_is_refused(incident_in, incident_manager):
    incident = incident_in(State.RESOLVED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_reopen(incident, by=incident_manager, reason="  ")
    assert refused.value.reasons == ["Say why the incident is being reopened."]
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED


@pytest.mark.parametrize("state", [State.REPORTED, State.TRIAGED, State.INVESTIGATING,
                                   State.MITIGATED])
def test_close_is_refused_unless_the_incident_is_resolved(incident_in, incident_manager, state):
    incident = incident_in(state)
    with pytest.raises(ActionRefused) as refused:
        services.incident_close(incident, by=incident_manager)
    assert "cannot be closed from there" in refused.value.reasons[0]
    incident.refresh_from_db()
    assert incident.state == state
    assert incident.closed_at is None


def test_close_from_resolved_stamps_the_closing_time(incident_in, incident_manager):
    incident = incident_in(State.RESOLVED)
    with time_machine.travel("2026-03-03 09:00:00+00:00", tick=False):
        services.incident_close(incident, by=incident_manager)
    incident.refresh_from_db()
    assert incident.state == State.CLOSED
    assert incident.closed_at.isoformat() == "2026-03-03T09:00:00+00:00"
    assert not incident.is_open


@pytest.mark.parametrize("state", [State.REPORTED, State.TRIAGED, State.INVESTIGATING])
def test_cancel_is_allowed_from_the_early_states(incident_in, incident_manager, state):
    incident = services.incident_cancel(
        incident_in(state), by=incident_manager, reason="False alarm from a test monitor"
    )
    incident.refresh_from_db()
    assert incident.state == State.CANCELLED
    assert incident.closed_at is not None


@pytest.mark.parametrize("state", [State.MITIGATED, State.RESOLVED, State.CLOSED])
def test_cancel_is_refused_once_the_incident_is_past_the_early_states(
    incident_in, incident_manager, state
):
    incident = incident_in(state)
    with pytest.raises(ActionRefused, match="cannot be cancelled from there"):
        services.incident_cancel(incident, by=incident_manager, reason="Never mind")
    incident.refresh_from_db()
    assert incident.state == state


def test_cancel_without_a_reason_is_refused(incident_in, incident_manager):
    incident = incident_in(State.REPORTED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_cancel(incident, by=incident_manager, reason="")
    assert refused.value.reasons == ["Say why the incident is being cancelled."]
    incident.refresh_from_db()
    assert incident.state == State.REPORTED


@pytest.mark.parametrize("state", [State.REPORTED, State.TRIAGED, State.INVESTIGATING])
def test_marking_a_duplicate_links_the_original_from_the_early_states(
    incident_in, incident_manager, state
):
    original = incident_in(State.INVESTIGATING)
    copy = incident_in(state)
    services.incident_mark_duplicate(copy, by=incident_manager, duplicate_of=original)
    copy.refresh_from_db()
    assert copy.state == State.DUPLICATE
    assert copy.duplicate_of == original
    assert copy.timeline.filter(data__transition="mark_duplicate").get().text.endswith(
        f"Reason: Duplicate of {original.reference}"
    )


@pytest.mark.parametrize("state", [State.MITIGATED, State.RESOLVED])
def test_marking_a_duplicate_is_refused_after_the_early_states(
    incident_in, incident_manager, state
):
    original = incident_in(State.REPORTED)
    copy = incident_in(state)
    with pytest.raises(ActionRefused, match="cannot be marked a duplicate from there"):
        services.incident_mark_duplicate(copy, by=incident_manager, duplicate_of=original)
    copy.refresh_from_db()
    assert copy.state == state
    assert copy.duplicate_of is None


def test_an_incident_cannot_be_marked_a_duplicate_of_itself(incident_in, incident_manager):
    incident = incident_in(State.REPORTED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_mark_duplicate(incident, by=incident_manager, duplicate_of=incident)
    assert refused.value.reasons == ["An incident cannot be a duplicate of itself."]
    incident.refresh_from_db()
    assert incident.state == State.REPORTED
    assert incident.duplicate_of is None


def test_marking_a_duplicate_without_naming_the_original_is_refused(incident_in, incident_manager):
    incident = incident_in(State.REPORTED)
    with pytest.raises(ActionRefused) as refused:
        services.incident_mark_duplicate(incident, by=incident_manager, duplicate_of=None,
                                         reason="Same outage")
    assert refused.value.reasons == ["Choose the incident this one duplicates."]
    incident.refresh_from_db()
    assert (incident.state, incident.duplicate_of) == (State.REPORTED, None)


def test_a_transition_made_on_the_model_directly_still_meets_the_guards(incident_in):
    """Code that skips the services (a shell session, a data fix) is held to the same rules: each
    transition's condition asks the guards. The condition is also built afresh here, because
    the model's own is built once at import, before a mutation-testing run can change it."""
    incident = incident_in(State.MITIGATED)
    with pytest.raises(TransitionNotAllowed):
        incident.resolve()
    assert not guards.condition("resolve")(incident)
    incident.resolution_summary = "Rolled back the release."
    assert guards.condition("resolve")(incident)
    assert not guards.condition("mark_duplicate")(incident)


@pytest.mark.parametrize("final", [State.CLOSED, State.CANCELLED, State.DUPLICATE])
def test_no_transition_leaves_a_final_state(incident_in, incident_manager, final):
    other = incident_in(State.REPORTED)
    incident = incident_in(State.REPORTED if final != State.CLOSED else State.CLOSED)
    if final == State.CANCELLED:
        incident = services.incident_cancel(incident, by=incident_manager, reason="Test alert")
    elif final == State.DUPLICATE:
        incident = services.incident_mark_duplicate(incident, by=incident_manager,
                                                    duplicate_of=other)
    assert services.available_transitions(incident, incident_manager) == []
    for name in services.TRANSITIONS:
        assert services.transition_refusals(incident, name, incident_manager), name


def test_refusals_name_the_state_the_incident_is_in(incident_in, incident_manager):
    incident = incident_in(State.REPORTED)
    reasons = services.transition_refusals(incident, "close", incident_manager)
    assert reasons == [
        f"{incident.reference} is reported; it cannot be closed from there."
    ]


def test_an_unknown_transition_name_is_refused_in_words(incident_in, incident_manager):
    incident = incident_in(State.REPORTED)
    assert services.transition_refusals(incident, "explode", incident_manager) == [
        "Unknown action “explode”."
    ]


def test_available_transitions_follow_the_state(incident_in, incident_manager):
    expected = {
        State.TRIAGED: {"investigate", "mitigate", "resolve", "cancel", "mark_duplicate"},
        State.MITIGATED: {"resolve"},
        State.RESOLVED: {"reopen", "close"},
    }
    for state, names in expected.items():
        incident = incident_in(state)
        offered = {t["name"] for t in services.available_transitions(incident, incident_manager)}
        assert offered == names, state


def test_actions_whose_form_supplies_the_missing_input_are_still_offered(
    incident_in, incident_manager
):
    reported = incident_in(State.REPORTED)
    offered = {t["name"] for t in services.available_transitions(reported, incident_manager)}
    assert offered == {"triage", "cancel", "mark_duplicate"}
    mitigated = incident_in(State.MITIGATED)
    offered = {t["name"] for t in services.available_transitions(mitigated, incident_manager)}
    assert offered == {"resolve"}


def test_every_state_can_be_reached_through_the_services(incident_in):
    for state in PATH_TO:
        assert incident_in(state).state == state


def test_acknowledging_stamps_the_time_once_and_leaves_the_state(declare, responder):
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        incident = declare()
    with time_machine.travel("2026-03-02 10:07:00+00:00", tick=False):
        incident = services.incident_acknowledge(incident, by=responder, reason="Paged at home")
    with time_machine.travel("2026-03-02 10:30:00+00:00", tick=False):
        services.incident_acknowledge(incident, by=responder)
    incident.refresh_from_db()
    assert incident.state == State.REPORTED
    assert incident.acknowledged_at.isoformat() == "2026-03-02T10:07:00+00:00"
    entry = incident.timeline.get(data__acknowledged=True)
    assert entry.text == "Rita Responder acknowledged the incident. Paged at home"
    assert (entry.author, entry.kind, entry.is_key_event) == (responder, "note", False)
    latest = incident.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (responder, "Paged at home")
    assert incident.version == 2


def test_acknowledging_without_a_reason_says_so_in_history(declare, responder):
    incident = services.incident_acknowledge(declare(), by=responder)
    assert incident.history.latest().history_change_reason == "Acknowledged"
    assert incident.timeline.get(data__acknowledged=True).text == (
        "Rita Responder acknowledged the incident.")


def test_acknowledging_a_cancelled_incident_records_nothing(incident_in, incident_manager, responder):
    incident = services.incident_cancel(incident_in(State.REPORTED), by=incident_manager,
                                        reason="Test alert")
    before = (incident.history.count(), incident.timeline.count())
    services.incident_acknowledge(incident, by=responder)
    incident.refresh_from_db()
    assert incident.acknowledged_at is None
    assert (incident.history.count(), incident.timeline.count()) == before


def test_a_product_manager_cannot_acknowledge(declare, product_manager):
    incident = declare()
    with pytest.raises(ActionRefused, match="You do not have permission to acknowledge incidents"):
        services.incident_acknowledge(incident, by=product_manager)
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_the_offered_transitions_carry_the_labels_of_their_buttons(incident_in, incident_manager):
    assert services.available_transitions(incident_in(State.RESOLVED), incident_manager) == [
        {"name": "reopen", "label": "Reopen"}, {"name": "close", "label": "Close"}]


def test_without_a_person_only_the_guards_are_asked(declare):
    """The system acting on its own (by=None) holds no permissions and needs none."""
    incident = declare()
    assert services.transition_refusals(incident, "triage", None) == [
        "An incident manager must be assigned before the incident can be triaged."]


def test_references_count_up_by_one_within_the_organisations_year(declare, settings):
    prefix = settings.FIREBREAK_REFERENCE_PREFIX
    with time_machine.travel("2026-12-31 22:30:00+00:00", tick=False):  # 23:30 in Amsterdam
        first, second = declare(), declare()
    with time_machine.travel("2026-12-31 23:30:00+00:00", tick=False):  # 00:30 on 1 January
        third = declare()
    assert [first.reference, second.reference, third.reference] == [
        f"{prefix}-2026-0001", f"{prefix}-2026-0002", f"{prefix}-2027-0001"]


def test_declaration_keeps_the_description_and_refuses_bad_detection_times_in_words(declare):
    incident = declare(description="Card payments fail with 500 since the 10:00 deploy")
    incident.refresh_from_db()
    assert incident.description == "Card payments fail with 500 since the 10:00 deploy"
    with time_machine.travel("2026-03-02 10:00:00+00:00", tick=False):
        with pytest.raises(ActionRefused) as refused:
            declare(detected_at=timezone.now() + timedelta(seconds=1))
        assert refused.value.reasons == ["The detection time cannot be in the future."]
    with pytest.raises(ActionRefused) as refused:
        declare(detected_at=timezone.now().replace(year=1))
    assert refused.value.reasons[0].startswith("The detection time is out of range.")
    assert Incident.objects.count() == 1


def test_a_rule_added_for_a_while_refuses_in_its_words_and_stops_refusing_after(
    incident_in, incident_manager
):
    """Another area's rule (a checklist, a review) added with guards.registered refuses the
    transition in its own words while it is registered, once however often it is added, and
    no longer once its block is left."""
    incident = incident_in(State.TRIAGED)

    def checklist_open(_incident):
        return ["The first-response checklist is not done."]

    with guards.registered("investigate", checklist_open, checklist_open,
                           lambda _incident: ["Nobody has joined the war room yet."]):
        with pytest.raises(ActionRefused) as refused:
            services.TRANSITION_SERVICES["investigate"](incident, by=incident_manager)
        assert refused.value.reasons == ["The first-response checklist is not done.",
                                         "Nobody has joined the war room yet."]
    incident.refresh_from_db()
    assert incident.state == State.TRIAGED
    assert services.transition_refusals(incident, "investigate", incident_manager) == []
    incident = services.TRANSITION_SERVICES["investigate"](incident, by=incident_manager)
    assert incident.state == State.INVESTIGATING


def test_with_only_the_incidents_own_rules_another_areas_refusal_stands_aside_until_after(
    incident_in, declare, incident_manager
):
    """Inside guards.only_own_guards the lifecycle's own rules still refuse (no manager, no
    triage) while another area's rule does not; after the block that rule refuses again."""
    triaged = incident_in(State.TRIAGED)
    reported = declare()
    with guards.registered("investigate", lambda _incident: ["Checklist open."]):
        with guards.only_own_guards():
            assert services.transition_refusals(triaged, "investigate", incident_manager) == []
            assert services.transition_refusals(reported, "triage", incident_manager) == [
                "An incident manager must be assigned before the incident can be triaged."
            ]
        assert services.transition_refusals(triaged, "investigate", incident_manager) == [
            "Checklist open."
        ]
    assert services.transition_refusals(triaged, "investigate", incident_manager) == []
