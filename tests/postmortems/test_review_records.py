"""What a review's edits, steps and waiver leave behind (history under the person's name,
timeline entries with their data) and the words of each refusal."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from escalation.models import Notification
from incidents.errors import ActionRefused, Conflict
from incidents.models import Service, TimelineEntry
from postmortems import services
from postmortems.models import ActionItem, FollowUpTask, PostMortem, PostMortemTimelineItem

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def refusal(call) -> list[str]:
    with pytest.raises(ActionRefused) as refused:
        call()
    return refused.value.reasons


def filled(postmortem, by):
    services.postmortem_update(postmortem, by=by, section="summary", summary="Checkout failed.")
    services.postmortem_update(postmortem, by=by, section="analysis",
                               root_cause="A migration locked the orders table.")
    return PostMortem.objects.get(pk=postmortem.pk)


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
    review = services.postmortem_transition(filled(published.postmortem, responder), "submit",
                                            by=responder)
    services.postmortem_transition(review, "publish", by=incident_manager)
    assert refusal(lambda: services.postmortem_waive(published, by=manager, reason="Late")) == [
        f"The post-mortem for {published.reference} is already published."]


# --- Steps -----------------------------------------------------------------------------------


def test_publishing_records_the_publisher_in_the_review_its_history_and_the_timeline(
        resolved, responder, incident_manager):
    incident = resolved("P1")
    review = services.postmortem_transition(filled(incident.postmortem, responder), "submit",
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
    review = services.postmortem_transition(filled(review, responder), "submit", by=responder)
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
    review = services.postmortem_transition(filled(resolved("P1").postmortem, responder),
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
        started_at=datetime(1800, 1, 1, tzinfo=UTC)))
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
