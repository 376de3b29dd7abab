"""Editing an action item: who may, what it refuses in words, what the history keeps, who is
told when it changes hands, and that its timers follow only its due date and owner."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from escalation.models import Deadline, Notification
from incidents.errors import ActionRefused
from incidents.models import IncidentParticipant
from postmortems import services
from postmortems.models import ActionItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(resolved, incident_manager, responder):
    review = resolved("P1").postmortem
    return services.action_item_create(review, by=incident_manager, owner=responder,
                                       title="Add index",
                                       due_date=timezone.localdate() + timedelta(days=7))


def refusal(call) -> list[str]:
    with pytest.raises(ActionRefused) as refused:
        call()
    return refused.value.reasons


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
