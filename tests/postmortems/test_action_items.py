from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from escalation.models import Deadline, Notification
from incidents.errors import ActionRefused
from incidents.models import IncidentParticipant
from postmortems import selectors, services
from postmortems.models import ActionItem, FollowUpTask

from .conftest import refusal

pytestmark = pytest.mark.django_db


@pytest.fixture
def review(resolved):
    return resolved("P1").postmortem


@pytest.fixture
def make_item(review, incident_manager, responder):
    def make(owner=None, days=7, **kwargs):
        return services.action_item_create(
            review, by=incident_manager, owner=owner or responder, title=kwargs.pop("title", "Add index"),
            due_date=timezone.localdate() + timedelta(days=days), **kwargs)

    return make


def test_an_action_item_goes_open_in_progress_done(make_item, responder):
    item = make_item()
    assert item.state == ActionItem.State.OPEN
    item = services.action_item_transition(item, "start", by=responder)
    assert item.state == ActionItem.State.IN_PROGRESS
    item = services.action_item_transition(item, "complete", by=responder)
    assert item.state == ActionItem.State.DONE
    assert item.completed_at is not None
    assert [h.history_change_reason for h in item.history.order_by("history_date")] == [
        "Created", "Start", "Mark done"]


def test_wont_do_needs_a_reason_and_records_it(make_item, responder):
    item = make_item()
    with pytest.raises(ActionRefused, match="Say why"):
        services.action_item_transition(item, "wont_do", by=responder, reason=" ")
    assert ActionItem.objects.get(pk=item.pk).state == ActionItem.State.OPEN

    item = services.action_item_transition(item, "wont_do", by=responder,
                                           reason="Replaced by the new queue")
    assert item.state == ActionItem.State.WONT_DO
    assert item.wont_do_reason == "Replaced by the new queue"


def test_a_finished_item_cannot_be_finished_again(make_item, responder):
    item = services.action_item_transition(make_item(), "complete", by=responder)
    with pytest.raises(ActionRefused, match="is done"):
        services.action_item_transition(item, "start", by=responder)


def test_only_the_owner_or_an_incident_manager_can_change_an_item(make_item, make_user,
                                                                   incident_manager):
    item = make_item()
    colleague = make_user("Responder")
    with pytest.raises(ActionRefused, match="Only the owner"):
        services.action_item_transition(item, "complete", by=colleague)
    assert services.action_item_transition(item, "complete", by=incident_manager).state == "done"


def test_an_owner_cannot_hand_their_item_to_someone_else(make_item, responder, make_user):
    with pytest.raises(ActionRefused, match="Only an incident manager can give"):
        services.action_item_update(make_item(), by=responder, owner=make_user("Responder"))


def test_a_due_date_in_the_past_is_refused(review, incident_manager, responder):
    with pytest.raises(ActionRefused, match="cannot be in the past"):
        services.action_item_create(review, by=incident_manager, owner=responder, title="Late",
                                    due_date=timezone.localdate() - timedelta(days=1))
    assert not ActionItem.objects.exists()


def test_a_bad_ticket_link_is_refused_in_words(review, incident_manager, responder):
    with pytest.raises(ActionRefused, match="Ticket url"):
        services.action_item_create(review, by=incident_manager, owner=responder, title="X",
                                    due_date=timezone.localdate(), ticket_url="not a url")


def test_a_product_manager_cannot_add_action_items(review, product_manager, responder):
    with pytest.raises(ActionRefused, match="permission to add action items"):
        services.action_item_create(review, by=product_manager, owner=responder, title="X",
                                    due_date=timezone.localdate())


def test_a_follow_up_task_becomes_an_action_item_of_its_kind_once(review, incident_manager,
                                                                  responder):
    due = timezone.localdate() + timedelta(days=3)
    item = services.action_item_create_from_follow_up(
        review, by=incident_manager, follow_up="add_tests", owner=responder, due_date=due)
    assert (item.title, item.kind) == ("Add tests", ActionItem.Kind.TEST)
    with pytest.raises(ActionRefused, match="already has an action item"):
        services.action_item_create_from_follow_up(
            review, by=incident_manager, follow_up="add_tests", owner=responder, due_date=due)


def test_overdue_counts_for_the_dashboard_count_only_unfinished_items_past_due(
        make_item, responder, incident_manager):
    late = make_item(days=1)
    make_item(days=1, owner=incident_manager)
    make_item(days=10)
    done = make_item(days=1)
    services.action_item_transition(done, "complete", by=responder)
    ActionItem.objects.filter(pk__in=[late.pk, done.pk]).update(
        due_date=timezone.localdate() - timedelta(days=1))

    counts = selectors.action_item_counts(responder)

    assert counts == {"open": 3, "overdue": 1, "mine_open": 2, "mine_overdue": 1}


def test_action_item_filters_narrow_the_list(make_item, incident_manager, responder):
    make_item(title="Monitor", kind=ActionItem.Kind.MONITORING)
    make_item(title="Doc", kind=ActionItem.Kind.DOCUMENTATION, owner=incident_manager)
    items = {"user": incident_manager}
    assert [i.title for i in selectors.action_item_list(**items, kind="monitoring")] == ["Monitor"]
    assert [i.title for i in selectors.action_item_list(**items, owner=incident_manager)] == ["Doc"]
    assert list(selectors.action_item_list(user=incident_manager, overdue=True)) == []


def test_an_action_item_needs_a_title_an_owner_and_a_due_date_in_range(
        review, make_item, incident_manager, responder):
    next_week = timezone.localdate() + timedelta(days=7)
    missing = [({"title": "   "}, "An action item needs a title."),
               ({"owner": None}, "An action item needs an owner."),
               ({"due_date": None}, "An action item needs a due date.")]
    for change, reason in missing:
        fields = {"title": "Add index", "owner": responder, "due_date": next_week, **change}
        with pytest.raises(ActionRefused) as refused:
            services.action_item_create(review, by=incident_manager, **fields)
        assert refused.value.reasons == [reason]
    assert not review.action_items.exists()

    item = make_item()
    with pytest.raises(ActionRefused) as refused:
        services.action_item_update(item, by=incident_manager, title=None)
    assert refused.value.reasons == ["An action item needs a title."]
    with pytest.raises(ActionRefused) as refused:
        services.action_item_update(item, by=incident_manager, due_date=date(9999, 12, 31))
    assert refused.value.reasons[0].startswith("The due date is out of range.")
    assert ActionItem.objects.get(pk=item.pk).due_date == next_week

    item = services.action_item_update(item, by=incident_manager, title="Add a covering index")
    assert ActionItem.objects.get(pk=item.pk).title == "Add a covering index"


# --- Editing: refusals in words, history, timers, a new owner told ---------------------------


@pytest.fixture
def item(resolved, incident_manager, responder):
    review = resolved("P1").postmortem
    return services.action_item_create(review, by=incident_manager, owner=responder,
                                       title="Add index",
                                       due_date=timezone.localdate() + timedelta(days=7))


def pending_timers(item):
    return set(Deadline.objects.filter(object_id=item.pk, key__startswith="action_item.",
                                       fired_at=None, cancelled_at=None)
               .values_list("pk", "due_at"))


def given_to(user):
    return Notification.objects.filter(recipient=user, reason__startswith="action_item.assigned.",
                                       channel=Notification.Channel.INAPP)


def test_an_edit_refused_says_why_in_words_and_changes_nothing(item, responder, make_user):
    colleague = make_user("Responder")
    assert refusal(lambda: services.action_item_update(item, by=colleague, title="Mine")) == [
        "Only the owner or an incident manager can change this action item."]
    assert refusal(lambda: services.action_item_update(item, by=responder, owner=colleague)) == [
        "Only an incident manager can give an action item to someone else."]
    assert refusal(lambda: services.action_item_update(
        item, by=responder, due_date=timezone.localdate() - timedelta(days=1))) == [
        "The due date cannot be in the past."]
    with pytest.raises(TypeError, match=r"Unknown action item fields: \['colour'\]"):
        services.action_item_update(item, by=responder, colour="red")
    done = services.action_item_transition(item, "complete", by=responder)
    assert refusal(lambda: services.action_item_update(done, by=responder, title="Again")) == [
        "“Add index” is done; reopen it to change it."]
    assert ActionItem.objects.get(pk=item.pk).title == "Add index"


def test_an_edit_is_trimmed_and_kept_in_the_history_under_the_editors_name(item, responder):
    item = services.action_item_update(item, by=responder, title="  Add the orders index  ")
    assert item.title == "Add the orders index"
    latest = item.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (responder, "Edited")


def test_an_overdue_item_can_still_be_edited_and_moved_to_today(item, responder):
    with time_machine.travel(timezone.now() + timedelta(days=9)):
        assert item.due_date < timezone.localdate()
        item = services.action_item_update(item, by=responder, title="Add the orders index")
        assert item.title == "Add the orders index"
        item = services.action_item_update(item, by=responder, due_date=timezone.localdate())
        assert item.due_date == timezone.localdate()


def test_the_timers_follow_a_new_due_date_and_stay_for_a_new_title(item, responder):
    before = pending_timers(item)
    assert before
    services.action_item_update(item, by=responder, title="Add the orders index")
    assert pending_timers(item) == before
    services.action_item_update(item, by=responder,
                                due_date=timezone.localdate() + timedelta(days=14))
    after = pending_timers(item)
    assert after and {due for _, due in after}.isdisjoint({due for _, due in before})


def test_an_incident_manager_gives_the_item_to_someone_who_is_told_and_may_see_the_incident(
        item, incident_manager, responder, make_user):
    newcomer = make_user("Responder")
    item = services.action_item_update(item, by=incident_manager, owner=newcomer)

    assert item.owner == newcomer
    incident = item.postmortem.incident
    assert IncidentParticipant.objects.filter(
        incident=incident, user=newcomer, reason=IncidentParticipant.Reason.ADDED).exists()
    told = given_to(newcomer).get()
    assert (told.title, told.url, told.incident_id) == (
        "Action item given to you: Add index", item.get_absolute_url(), incident.pk)
    assert (told.content_type.model, told.object_id) == ("actionitem", item.pk)
    assert not given_to(responder).exists()


def test_nobody_is_told_of_an_edit_that_keeps_the_owner_or_of_taking_the_item_oneself(
        item, incident_manager, responder):
    services.action_item_update(item, by=incident_manager, title="Add the orders index")
    assert not given_to(responder).exists()
    services.action_item_update(item, by=incident_manager, owner=incident_manager)
    assert not given_to(incident_manager).exists()


def test_a_follow_up_item_keeps_its_author_and_a_retired_or_unknown_task_is_refused(
        review, incident_manager, responder):
    due = timezone.localdate() + timedelta(days=3)
    item = services.action_item_create_from_follow_up(
        review, by=incident_manager, follow_up="add_tests", owner=responder, due_date=due)
    assert ActionItem.objects.get(pk=item.pk).created_by == incident_manager
    FollowUpTask.objects.filter(slug="share_learnings").update(is_active=False)
    assert refusal(lambda: services.action_item_create_from_follow_up(
        review, by=incident_manager, follow_up="share_learnings", owner=responder,
        due_date=due)) == ["Unknown follow-up task “share_learnings”."]
    assert not review.action_items.filter(follow_up="share_learnings").exists()


def test_an_item_keeps_the_priority_it_was_given(make_item):
    item = make_item(priority=ActionItem.Priority.HIGH)
    assert ActionItem.objects.get(pk=item.pk).priority == ActionItem.Priority.HIGH


def test_a_step_on_an_item_refused_says_why_in_words(make_item, make_user, responder):
    item = make_item()
    colleague = make_user("Responder")
    assert refusal(lambda: services.action_item_transition(item, "close", by=responder)) == [
        "Unknown action “close”."]
    assert refusal(lambda: services.action_item_transition(item, "complete", by=colleague)) == [
        "Only the owner or an incident manager can change this action item."]
    assert refusal(lambda: services.action_item_transition(
        item, "wont_do", by=responder, reason="  ")) == [
        "Say why this action item will not be done."]
    declined = services.action_item_transition(item, "wont_do", by=responder,
                                               reason="Replaced by the new queue")
    assert refusal(lambda: services.action_item_transition(declined, "reopen", by=responder)) == [
        "Only an incident manager can reopen an item that was declined."]
    assert ActionItem.objects.get(pk=item.pk).state == ActionItem.State.WONT_DO


def test_each_step_on_an_item_is_kept_in_its_history_with_who_and_why(make_item, responder):
    item = services.action_item_transition(make_item(), "start", by=responder)
    services.action_item_transition(item, "wont_do", by=responder, reason="  Replaced  ")
    steps = [(h.history_user, h.history_change_reason)
             for h in ActionItem.objects.get(pk=item.pk).history.order_by("history_date")][1:]
    assert steps == [(responder, "Start"), (responder, "Won't do: Replaced")]
