from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine
from django.utils import timezone

from escalation.models import Deadline, Notification
from incidents import services as incident_services
from incidents.errors import ActionRefused, Conflict
from incidents.models import Incident, Service, TimelineEntry
from postmortems import services
from postmortems.models import (
    ActionItem,
    FollowUpTask,
    PostMortem,
    PostMortemTimelineItem,
    ReviewAgendaItem,
)

from .conftest import refusal

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
                        revenue_impact_per_hour=500, description="Card payments time out.")
    postmortem = incident.postmortem
    assert postmortem.title == incident.title
    assert postmortem.summary == "Card payments time out."
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
    with pytest.raises(ActionRefused) as refused:
        services.postmortem_update(postmortem, by=responder, section="lessons",
                                   went_well="Second", expected_version=stale_version)
    assert refused.value.reasons == [
        f"The post-mortem for {postmortem.incident.reference} was changed by someone else while "
        "you were editing (reload to see the change); your change was not saved."]
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


# --- Who hears about a review's steps, and what a review accepts ----------------------------


def _pending_review_timers():
    return Deadline.objects.filter(key__startswith="postmortem.", fired_at=None,
                                   cancelled_at=None)


def _inbox(user, reason_prefix):
    return Notification.objects.filter(recipient=user, reason__startswith=reason_prefix,
                                       channel=Notification.Channel.INAPP)


def test_a_submitted_review_tells_the_incident_manager_and_not_the_submitter(
        resolved, responder, incident_manager):
    incident = resolved("P1")
    postmortem = services.postmortem_transition(_fill(incident.postmortem, responder), "submit",
                                                by=responder)

    told = _inbox(incident_manager, "postmortem.submitted").get()
    assert told.title == f"Post-mortem for {incident.reference} is ready for review"
    assert told.url == postmortem.get_absolute_url()
    assert told.incident == incident
    assert not _inbox(responder, "postmortem.submitted").exists()


def test_an_incident_manager_who_submits_is_not_told_of_their_own_submission(
        resolved, incident_manager):
    postmortem = _fill(resolved("P1").postmortem, incident_manager)
    services.postmortem_transition(postmortem, "submit", by=incident_manager)
    assert not Notification.objects.filter(reason__startswith="postmortem.submitted").exists()


def test_a_review_of_an_incident_without_a_manager_goes_to_the_active_managers(
        resolved, responder, manager, make_user):
    retired = make_user("Manager", username="old", is_active=False)
    incident = resolved("P1")
    Incident.objects.filter(pk=incident.pk).update(incident_manager=None)
    services.postmortem_transition(_fill(incident.postmortem, responder), "submit", by=responder)

    submitted = Notification.objects.filter(reason__startswith="postmortem.submitted",
                                            channel=Notification.Channel.INAPP)
    assert [n.recipient for n in submitted] == [manager]
    assert not _inbox(retired, "postmortem.submitted").exists()


def test_a_returned_review_tells_its_owner_what_to_change(resolved, responder, incident_manager):
    incident = resolved("P1")
    postmortem = services.postmortem_update(incident.postmortem, by=incident_manager,
                                            section="planning", owner=responder)
    postmortem = services.postmortem_transition(_fill(postmortem, responder), "submit",
                                                by=responder)
    postmortem = services.postmortem_transition(postmortem, "return_to_drafting",
                                                by=incident_manager, comments=" Add the timeline. ")

    told = _inbox(responder, "postmortem.returned").get()
    assert told.title == f"Post-mortem for {incident.reference} needs changes"
    assert told.body == "Add the timeline."
    assert told.url == postmortem.get_absolute_url()
    assert told.incident == incident
    assert not _inbox(incident_manager, "postmortem.returned").exists()


def test_publishing_is_a_key_event_named_for_the_publisher_and_stops_the_reminders(
        resolved, responder, incident_manager):
    incident = resolved("P1")
    postmortem = services.postmortem_transition(_fill(incident.postmortem, responder), "submit",
                                                by=responder)
    assert _pending_review_timers().exists()
    services.postmortem_transition(postmortem, "publish", by=incident_manager)

    entry = incident.timeline.get(kind=TimelineEntry.Kind.POSTMORTEM,
                                  text__contains="published")
    assert entry.text == "Ivan Manager published the post-mortem."
    assert entry.is_key_event
    assert entry.author == incident_manager
    assert not _pending_review_timers().exists()


def test_a_review_may_tick_every_agenda_point_once_and_an_unknown_one_is_refused_by_name(
        resolved, responder):
    postmortem = resolved("P1").postmortem
    every_point = list(ReviewAgendaItem.objects.filter(is_active=True)
                       .values_list("slug", flat=True))
    services.postmortem_update(postmortem, by=responder, section="meeting",
                               agenda_done=every_point + every_point[:1])
    assert PostMortem.objects.get(pk=postmortem.pk).agenda_done == sorted(every_point)

    with pytest.raises(ActionRefused) as refused:
        services.postmortem_update(postmortem, by=responder, section="meeting",
                                   agenda_done=[every_point[0], "made_up"])
    assert refused.value.reasons == ["Unknown choices: ['made_up']."]
    assert PostMortem.objects.get(pk=postmortem.pk).agenda_done == sorted(every_point)


def test_a_review_timeline_line_needs_a_time_and_some_text(resolved, responder):
    postmortem = resolved("P1").postmortem
    item = postmortem.timeline.first()
    with pytest.raises(ActionRefused) as refused:
        services.postmortem_timeline_edit(postmortem, by=responder,
                                          add={"occurred_at": None, "text": "Paged the DBA"})
    assert refused.value.reasons == ["Each timeline line needs a date and time."]
    with pytest.raises(ActionRefused) as refused:
        services.postmortem_timeline_edit(postmortem, by=responder,
                                          updates={item.pk: {"text": "   "}})
    assert refused.value.reasons == ["Each timeline line needs some text."]
    with pytest.raises(ActionRefused) as refused:
        services.postmortem_timeline_edit(
            postmortem, by=responder,
            add={"occurred_at": datetime(1, 1, 1, tzinfo=dt_timezone.utc), "text": "Long ago"})
    assert refused.value.reasons[0].startswith("The time of a timeline line is out of range.")
    assert postmortem.timeline.get(pk=item.pk).text == item.text
    assert not postmortem.timeline.filter(text__in=["Paged the DBA", "Long ago"]).exists()


def test_a_waived_in_review_or_published_review_refuses_edits_saying_why(
        resolved, responder, incident_manager, manager):
    incident = resolved("P1")
    postmortem = services.postmortem_transition(_fill(incident.postmortem, responder), "submit",
                                                by=responder)
    with pytest.raises(ActionRefused) as refused:
        services.postmortem_update(postmortem, by=responder, section="lessons", went_well="x")
    assert refused.value.reasons == [f"The post-mortem for {incident.reference} is in review; "
                                     "return it to drafting to change it."]

    services.postmortem_transition(postmortem, "publish", by=incident_manager)
    with pytest.raises(ActionRefused) as refused:
        services.postmortem_timeline_import(postmortem, by=responder)
    assert refused.value.reasons == [f"The post-mortem for {incident.reference} is published; "
                                     "it can no longer change."]

    waived = resolved("P1")
    services.postmortem_waive(waived, by=manager, reason="Covered by the review of the first")
    with pytest.raises(ActionRefused) as refused:
        services.postmortem_update(waived.postmortem, by=responder, section="lessons",
                                   went_well="x")
    assert refused.value.reasons == [f"The post-mortem for {waived.reference} was waived."]


# --- What edits, steps and waivers leave behind, and each refusal in words ------------------


# --- Waiving ---------------------------------------------------------------------------------


def test_waiving_an_incident_without_a_review_records_who_when_and_why(resolved, manager):
    incident = resolved("P2")  # its severity needs no review: none was scheduled
    assert not PostMortem.objects.filter(incident=incident).exists()
    with time_machine.travel(NOON, tick=False):
        postmortem = services.postmortem_waive(incident, by=manager, reason="  Test traffic  ")

    assert (postmortem.waived, postmortem.waived_by, postmortem.waived_at,
            postmortem.waived_reason) == (True, manager, NOON, "Test traffic")
    latest = postmortem.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (manager, "Waived: Test traffic")
    entry = incident.timeline.get(kind=TimelineEntry.Kind.POSTMORTEM, data__event="waived")
    assert entry.text == "Mona Boss waived the post-mortem. Reason: Test traffic"
    assert (entry.author, entry.is_key_event) == (manager, True)
    assert entry.data == {"postmortem": postmortem.pk, "event": "waived"}


def test_a_waiver_refused_says_why(resolved, manager, incident_manager, responder):
    incident = resolved("P1")
    assert refusal(lambda: services.postmortem_waive(incident, by=manager, reason=" ")) == [
        "Say why the post-mortem is waived."]
    services.postmortem_waive(incident, by=manager, reason="Duplicate")
    assert refusal(lambda: services.postmortem_waive(incident, by=manager, reason="Again")) == [
        f"The post-mortem for {incident.reference} is already waived."]

    published = resolved("P1")
    review = services.postmortem_transition(_fill(published.postmortem, responder), "submit",
                                            by=responder)
    services.postmortem_transition(review, "publish", by=incident_manager)
    assert refusal(lambda: services.postmortem_waive(published, by=manager, reason="Late")) == [
        f"The post-mortem for {published.reference} is already published."]


# --- Steps -----------------------------------------------------------------------------------


def test_publishing_records_the_publisher_in_the_review_its_history_and_the_timeline(
        resolved, responder, incident_manager):
    incident = resolved("P1")
    review = services.postmortem_transition(_fill(incident.postmortem, responder), "submit",
                                            by=responder)
    review = services.postmortem_transition(review, "publish", by=incident_manager)

    assert PostMortem.objects.get(pk=review.pk).published_by == incident_manager
    latest = review.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (incident_manager, "Publish")
    entry = incident.timeline.get(kind=TimelineEntry.Kind.POSTMORTEM, data__event="published")
    assert entry.data == {"postmortem": review.pk, "event": "published"}


def test_a_step_refused_says_why_in_words(resolved, responder, manager):
    incident = resolved("P1")
    review = incident.postmortem
    ref = incident.reference
    assert refusal(lambda: services.postmortem_transition(review, "archive", by=responder)) == [
        "Unknown action “archive”."]
    assert refusal(lambda: services.postmortem_transition(review, "publish", by=responder)) == [
        f"The post-mortem for {ref} is scheduled; you cannot publish it now."]
    review = services.postmortem_transition(_fill(review, responder), "submit", by=responder)
    assert refusal(lambda: services.postmortem_transition(review, "publish", by=responder)) == [
        "You do not have permission to publish post-mortems."]
    assert refusal(lambda: services.postmortem_transition(
        review, "return_to_drafting", by=manager, comments=" ")) == [
        "Say what needs to change before the review can be published."]
    stale = review.version - 1
    with pytest.raises(Conflict):
        services.postmortem_transition(review, "return_to_drafting", by=manager,
                                       comments="More detail", expected_version=stale)
    services.postmortem_waive(incident, by=manager, reason="Duplicate")
    assert refusal(lambda: services.postmortem_transition(review, "publish", by=manager)) == [
        f"The post-mortem for {ref} was waived."]


# --- Sections --------------------------------------------------------------------------------


def test_editing_a_section_needs_the_permission_named_in_words(resolved, product_manager,
                                                                 responder):
    review = resolved("P1").postmortem
    assert refusal(lambda: services.postmortem_update(
        review, by=product_manager, section="summary", summary="Mine")) == [
        "You do not have permission to edit post-mortems."]
    assert refusal(lambda: services.postmortem_update(
        review, by=responder, section="planning", owner=responder)) == [
        "You do not have permission to change a review's owner or due time."]


def test_a_review_in_review_can_still_be_given_a_new_owner_and_due_time(
        resolved, responder, manager):
    review = services.postmortem_transition(_fill(resolved("P1").postmortem, responder),
                                            "submit", by=responder)
    due = timezone.now() + timedelta(days=3)
    review = services.postmortem_update(review, by=manager, section="planning", owner=manager,
                                        due_at=due)
    assert (review.state, review.owner, review.due_at) == ("in_review", manager, due)


def test_follow_up_tasks_ticked_must_be_active_ones_and_an_unknown_one_is_refused(
        resolved, responder):
    review = resolved("P1").postmortem
    active = sorted(FollowUpTask.objects.filter(is_active=True).values_list("slug", flat=True))
    assert active
    review = services.postmortem_update(review, by=responder, section="follow_ups",
                                        follow_ups_done=active)
    assert review.follow_ups_done == active
    assert refusal(lambda: services.postmortem_update(
        review, by=responder, section="follow_ups", follow_ups_done=["made_up"])) == [
        "Unknown choices: ['made_up']."]


def test_the_summary_names_the_services_affected_and_refuses_a_start_out_of_range(
        resolved, responder, payments):
    review = resolved("P1").postmortem
    website = Service.objects.create(name="Public website", slug="public-website")
    review = services.postmortem_update(review, by=responder, section="summary",
                                        services_affected=[website, payments])
    assert set(review.services_affected.all()) == {website, payments}
    reasons = refusal(lambda: services.postmortem_update(
        review, by=responder, section="summary",
        started_at=datetime(1800, 1, 1, tzinfo=dt_timezone.utc)))
    assert reasons[0].startswith("The started is out of range.")


# --- The review's timeline -------------------------------------------------------------------


def test_timeline_edits_are_kept_in_the_history_under_the_editors_name(resolved, responder):
    review = resolved("P1").postmortem
    first, second = review.timeline.order_by("occurred_at", "id")[:2]
    untouched = review.timeline.exclude(pk__in=[first.pk, second.pk]).first()
    services.postmortem_timeline_edit(
        review, by=responder,
        updates={first.pk: {"text": "Dropped"},  # deleted: its update is ignored
                 second.pk: {"occurred_at": NOON, "text": "Reworded",
                             "included": not second.included},
                 untouched.pk: {"text": untouched.text, "included": untouched.included}},
        delete_ids={first.pk}, add={"occurred_at": NOON, "text": "  Status page updated  "})

    was_included = second.included
    second.refresh_from_db()
    assert (second.occurred_at, second.text, second.included) == (NOON, "Reworded",
                                                                   not was_included)
    assert [(h.history_user, h.history_change_reason) for h in second.history.all()[:1]] == [
        (responder, "Edited in review")]
    assert not untouched.history.exists(), "an unchanged line is not saved again"
    deleted = PostMortemTimelineItem.history.filter(id=first.pk, history_type="-").get()
    assert deleted.history_user == responder
    added = review.timeline.get(text="Status page updated")
    assert added.included
    assert [(h.history_user, h.history_change_reason) for h in added.history.all()] == [
        (responder, "Added in review")]
    latest = PostMortem.objects.get(pk=review.pk).history.latest()
    assert (latest.history_user, latest.history_change_reason) == (responder, "Edited timeline")


def test_a_blank_new_line_is_ignored_and_lines_gone_meanwhile_are_refused(
        resolved, responder, product_manager):
    review = resolved("P1").postmortem
    count = review.timeline.count()
    for blank in (" ", ""):  # the page always sends its row for a new line
        services.postmortem_timeline_edit(review, by=responder,
                                          add={"occurred_at": None, "text": blank})
    assert review.timeline.count() == count
    assert refusal(lambda: services.postmortem_timeline_edit(
        review, by=responder, delete_ids={10**9})) == [
        "Some timeline lines no longer exist; reload the page."]
    assert refusal(lambda: services.postmortem_timeline_edit(
        review, by=product_manager, delete_ids=set())) == [
        "You do not have permission to edit post-mortems."]


# --- Action items ----------------------------------------------------------------------------


def test_a_new_action_item_keeps_its_author_and_tells_its_owner_when_it_is_due(
        resolved, incident_manager, responder):
    incident = resolved("P1")
    with time_machine.travel(NOON, tick=False):
        item = services.action_item_create(
            incident.postmortem, by=incident_manager, owner=responder, title="Add index",
            due_date=NOON.date() + timedelta(days=7))
    item.refresh_from_db()
    assert (item.created_by, item.description, item.follow_up, item.ticket_url) == (
        incident_manager, "", "", "")
    assert item.history.get().history_user == incident_manager
    told = Notification.objects.get(recipient=responder, reason="action_item.assigned",
                                    channel=Notification.Channel.INAPP)
    assert (told.title, told.url, told.incident_id) == (
        "New action item for you: Add index (due Mon 09 Mar 2026)", item.get_absolute_url(),
        incident.pk)


def test_a_new_action_item_is_trimmed_and_refused_in_words(resolved, incident_manager, manager,
                                                           responder):
    incident = resolved("P1")
    item = services.action_item_create(
        incident.postmortem, by=incident_manager, owner=responder, title="Add index",
        due_date=timezone.localdate(), description="  Orders by customer  ")
    assert ActionItem.objects.get(pk=item.pk).description == "Orders by customer"
    assert refusal(lambda: services.action_item_create(
        incident.postmortem, by=incident_manager, owner=responder, title="Late",
        due_date=timezone.localdate() - timedelta(days=1))) == [
        "The due date cannot be in the past."]
    services.postmortem_waive(incident, by=manager, reason="Duplicate")
    assert refusal(lambda: services.action_item_create(
        incident.postmortem, by=incident_manager, owner=responder, title="More",
        due_date=timezone.localdate())) == [
        f"The post-mortem for {incident.reference} was waived."]


def test_starting_a_review_by_hand_is_kept_in_its_history_and_refused_in_words(
        resolved, declare, incident_manager, product_manager):
    incident = resolved("P2")
    assert refusal(lambda: services.postmortem_create(incident=incident, by=product_manager)) == [
        "You do not have permission to create post-mortems."]
    review = services.postmortem_create(incident=incident, by=incident_manager)
    first = review.history.get()
    assert (first.history_user, first.history_change_reason) == (incident_manager, "Scheduled")
    version = PostMortem.objects.get(pk=review.pk).version  # what a stale edit is checked by
    services.postmortem_update(review, by=incident_manager, section="summary", summary="Slow.")
    assert PostMortem.objects.get(pk=review.pk).version == version + 1
    assert refusal(lambda: services.postmortem_create(incident=incident, by=incident_manager)) == [
        f"{incident.reference} already has a post-mortem."]
    cancelled = incident_services.incident_cancel(declare(severity="P2"), by=incident_manager,
                                                  reason="False alarm")
    assert refusal(lambda: services.postmortem_create(incident=cancelled, by=incident_manager)) == [
        f"{cancelled.reference} is cancelled; it needs no post-mortem."]
    assert not PostMortem.objects.filter(incident=cancelled).exists()


def test_a_long_reason_is_cut_to_fit_the_history(resolved, manager):
    reason = "Reviewed together with the earlier outage of the same queue. " * 3
    review = services.postmortem_waive(resolved("P1"), by=manager, reason=reason)
    assert review.history.latest().history_change_reason == f"Waived: {reason.strip()}"[:100]


def test_a_review_started_by_hand_a_day_later_is_due_from_the_resolution(
        resolved, incident_manager, severities):
    severities["P2"].postmortem_due_within = timedelta(days=3)
    severities["P2"].save()
    with time_machine.travel(NOON, tick=False):
        incident = resolved("P2")
    with time_machine.travel(NOON + timedelta(days=1), tick=False):
        review = services.postmortem_create(incident=incident, by=incident_manager)
    assert review.due_at == NOON + timedelta(days=3)


def test_a_review_without_a_due_window_says_so_on_the_timeline_under_its_starters_name(
        resolved, incident_manager):
    incident = resolved("P2")  # P2 reviews have no due window
    review = services.postmortem_create(incident=incident, by=incident_manager)
    assert review.due_at is None
    entry = incident.timeline.get(kind=TimelineEntry.Kind.POSTMORTEM)
    assert (entry.text, entry.author, entry.data) == (
        "Post-mortem scheduled; owner: Ivan Manager.", incident_manager,
        {"postmortem": review.pk, "event": "scheduled"})


def test_resolving_again_moves_the_reviews_end_and_is_kept_in_its_history(
        resolved, incident_manager, resolve):
    with time_machine.travel(NOON, tick=False):
        incident = resolved("P1")
    with time_machine.travel(NOON + timedelta(hours=2), tick=False):
        incident = incident_services.incident_reopen(incident, by=incident_manager,
                                                     reason="Errors are back")
    with time_machine.travel(NOON + timedelta(hours=5), tick=False):
        resolve(incident)
    review = PostMortem.objects.get(incident=incident)
    assert review.ended_at == NOON + timedelta(hours=5)
    latest = review.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (
        incident_manager, "Incident resolved again")


def test_importing_the_timeline_needs_the_permission_and_is_kept_under_the_importers_name(
        resolved, incident_manager, product_manager):
    review = resolved("P1").postmortem
    assert refusal(lambda: services.postmortem_timeline_import(review, by=product_manager)) == [
        "You do not have permission to edit post-mortems."]
    services.postmortem_timeline_import(review, by=incident_manager)
    latest = review.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (
        incident_manager, "Imported 0 timeline entries")
