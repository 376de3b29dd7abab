from datetime import datetime, timezone as dt_timezone

import pytest
import time_machine

from incidents import services as incident_services
from incidents.errors import ActionRefused
from incidents.models import Incident, TimelineEntry
from postmortems import services
from postmortems.models import PostMortem

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=dt_timezone.utc)


def test_resolving_a_p1_schedules_a_required_review_due_within_the_severity_window(
        resolved, incident_manager, severities):
    with time_machine.travel(NOON, tick=False):
        incident = resolved("P1")
    postmortem = incident.postmortem
    assert postmortem.state == PostMortem.State.SCHEDULED
    assert postmortem.is_required
    assert postmortem.owner == incident_manager
    assert postmortem.due_at == NOON + severities["P1"].postmortem_due_within


def test_resolving_a_p2_schedules_no_review_but_one_can_be_started_by_hand(
        resolved, incident_manager):
    incident = resolved("P2")
    assert not PostMortem.objects.filter(incident=incident).exists()

    postmortem = services.postmortem_create(incident=incident, by=incident_manager)

    assert not postmortem.is_required
    assert postmortem.due_at is None


def test_a_new_review_is_prefilled_from_the_incident(resolved, payments):
    incident = resolved("P0", customers_affected=1200, customers_affected_pct=40,
                        revenue_impact_per_hour=500)
    postmortem = incident.postmortem
    assert postmortem.title == incident.title
    assert postmortem.users_affected == 1200
    assert list(postmortem.services_affected.all()) == [payments]
    assert postmortem.started_at == incident.detected_at
    assert postmortem.ended_at == incident.resolved_at
    assert postmortem.resolution == "Rolled back release 42."
    assert postmortem.before_revenue_impact == 500
    assert postmortem.before_customer_access_pct == 60


def test_the_incident_timeline_is_imported_with_key_events_preselected(
        declare, resolve, incident_manager):
    incident = declare("Checkout down", severity="P1")
    incident_services.timeline_add_note(incident, by=incident_manager, text="Looked at logs.")
    incident_services.timeline_add_note(incident, by=incident_manager, text="Found bad deploy.",
                                        is_key_event=True)
    incident = resolve(incident)

    items = {item.text: item for item in incident.postmortem.timeline.all()}
    assert items["Looked at logs."].included is False
    assert items["Found bad deploy."].included is True
    entry_count = incident.timeline.exclude(kind=TimelineEntry.Kind.POSTMORTEM).count()
    assert len(items) == entry_count


def test_importing_again_brings_only_new_entries(resolved, incident_manager):
    incident = resolved("P1")
    postmortem = incident.postmortem
    before = postmortem.timeline.count()
    incident_services.timeline_add_note(incident, by=incident_manager, text="Customers told.")

    assert services.postmortem_timeline_import(postmortem, by=incident_manager) == 1
    assert services.postmortem_timeline_import(postmortem, by=incident_manager) == 0
    assert postmortem.timeline.count() == before + 1


def test_editing_the_review_timeline_leaves_the_incident_record_alone(resolved, incident_manager):
    incident = resolved("P1")
    postmortem = incident.postmortem
    item = postmortem.timeline.first()
    original = item.source_entry.text

    services.postmortem_timeline_edit(
        postmortem, by=incident_manager,
        updates={item.pk: {"text": "Reworded for the review", "included": True}},
        add={"occurred_at": NOON, "text": "Status page updated"},
    )

    item.refresh_from_db()
    assert item.text == "Reworded for the review"
    assert item.source_entry.text == original
    assert postmortem.timeline.filter(text="Status page updated").exists()


def _fill(postmortem, by):
    services.postmortem_update(postmortem, by=by, section="summary", summary="Checkout failed.")
    services.postmortem_update(postmortem, by=by, section="analysis",
                               root_cause="A migration locked the orders table.",
                               five_whys=["Why slow?", "", "Why locked?"])
    return PostMortem.objects.get(pk=postmortem.pk)


def test_a_review_goes_from_drafting_through_review_to_published(
        resolved, responder, incident_manager):
    incident = resolved("P1")
    postmortem = incident.postmortem

    postmortem = _fill(postmortem, responder)
    assert postmortem.state == PostMortem.State.DRAFTING
    assert postmortem.five_whys == ["Why slow?", "Why locked?"]

    postmortem = services.postmortem_transition(postmortem, "submit", by=responder)
    assert postmortem.state == PostMortem.State.IN_REVIEW

    postmortem = services.postmortem_transition(postmortem, "publish", by=incident_manager)
    assert postmortem.state == PostMortem.State.PUBLISHED
    assert postmortem.published_at is not None
    assert incident.timeline.filter(kind=TimelineEntry.Kind.POSTMORTEM,
                                    text__contains="published").exists()


def test_submitting_an_empty_draft_is_refused_with_what_is_missing(resolved, responder):
    postmortem = resolved("P1").postmortem
    services.postmortem_update(postmortem, by=responder, section="summary", summary="")
    with pytest.raises(ActionRefused, match="Fill in a summary, the root cause"):
        services.postmortem_transition(postmortem, "submit", by=responder)


def test_returning_to_drafting_needs_comments_and_keeps_them(resolved, responder,
                                                             incident_manager):
    postmortem = _fill(resolved("P1").postmortem, responder)
    postmortem = services.postmortem_transition(postmortem, "submit", by=responder)

    with pytest.raises(ActionRefused, match="Say what needs to change"):
        services.postmortem_transition(postmortem, "return_to_drafting", by=incident_manager)
    postmortem = services.postmortem_transition(postmortem, "return_to_drafting",
                                                by=incident_manager, comments="Add the timeline.")
    assert postmortem.state == PostMortem.State.DRAFTING
    assert postmortem.review_comments == "Add the timeline."


def test_a_responder_cannot_publish(resolved, responder):
    postmortem = _fill(resolved("P1").postmortem, responder)
    postmortem = services.postmortem_transition(postmortem, "submit", by=responder)
    with pytest.raises(ActionRefused, match="permission to publish"):
        services.postmortem_transition(postmortem, "publish", by=responder)


def test_a_review_in_review_cannot_be_edited(resolved, responder):
    postmortem = _fill(resolved("P1").postmortem, responder)
    postmortem = services.postmortem_transition(postmortem, "submit", by=responder)
    with pytest.raises(ActionRefused, match="return it to drafting"):
        services.postmortem_update(postmortem, by=responder, section="lessons",
                                   went_well="Fast rollback")


def test_a_stale_edit_is_refused_and_changes_nothing(resolved, responder):
    postmortem = resolved("P1").postmortem
    stale_version = postmortem.version
    services.postmortem_update(postmortem, by=responder, section="lessons", went_well="First")
    with pytest.raises(ActionRefused, match="changed by someone else"):
        services.postmortem_update(postmortem, by=responder, section="lessons",
                                   went_well="Second", expected_version=stale_version)
    assert PostMortem.objects.get(pk=postmortem.pk).went_well == "First"


def test_edits_are_recorded_in_history_with_user_and_reason(resolved, responder):
    postmortem = resolved("P1").postmortem
    services.postmortem_update(postmortem, by=responder, section="lessons", went_well="Paging")
    latest = postmortem.history.first()
    assert latest.history_user == responder
    assert latest.history_change_reason == "Edited lessons"


# --- Closing guard and waiver --------------------------------------------------------------


def test_closing_is_refused_until_the_required_review_is_published(
        resolved, responder, incident_manager, close):
    incident = resolved("P1")
    with pytest.raises(ActionRefused) as refused:
        close(incident, by=incident_manager)
    assert (f"The post-mortem for {incident.reference} must be published before closing "
            "(it is scheduled).") in refused.value.reasons

    postmortem = _fill(incident.postmortem, responder)
    postmortem = services.postmortem_transition(postmortem, "submit", by=responder)
    services.postmortem_transition(postmortem, "publish", by=incident_manager)

    assert close(incident, by=incident_manager).state == Incident.State.CLOSED


def test_closing_an_incident_whose_severity_needs_no_review_is_not_held_up(
        resolved, incident_manager, close):
    incident = resolved("P2")
    assert close(incident, by=incident_manager).state == Incident.State.CLOSED


def test_a_manager_can_waive_the_review_with_a_reason_and_then_close(
        resolved, manager, incident_manager, close):
    incident = resolved("P1")
    with pytest.raises(ActionRefused, match="Say why"):
        services.postmortem_waive(incident, by=manager, reason="  ")

    postmortem = services.postmortem_waive(incident, by=manager, reason="Duplicate of INC-1 review")

    assert postmortem.waived and postmortem.waived_by == manager
    assert postmortem.history.first().history_change_reason.startswith("Waived")
    assert incident.timeline.filter(text__contains="waived the post-mortem").exists()
    assert close(incident, by=incident_manager).state == Incident.State.CLOSED


def test_an_incident_manager_cannot_waive(resolved, incident_manager):
    with pytest.raises(ActionRefused, match="permission to waive"):
        services.postmortem_waive(resolved("P1"), by=incident_manager, reason="Busy")
