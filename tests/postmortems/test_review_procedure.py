"""The review procedure is data: the meeting agenda, the follow-up tasks and the reminder
offsets are rows managers edit in the admin (with history); the defaults reproduce what the
code did before (seed 004's agenda, seed 001's follow-ups, the old offsets)."""

from datetime import date, datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from escalation.deadlines import deadlines_sweep
from escalation.models import Notification
from postmortems import services
from postmortems.models import (
    ActionItem,
    FollowUpTask,
    PostMortem,
    ReviewAgendaItem,
    ReviewReminder,
)

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=dt_timezone.utc)
DUE = date(2026, 3, 13)
DUE_MOMENT = datetime(2026, 3, 13, 23, 0, tzinfo=dt_timezone.utc)  # end of day, Amsterdam


@pytest.fixture
def review(resolved):
    with time_machine.travel(NOON, tick=False):
        return resolved("P1").postmortem  # due NOON + 2 days


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        deadlines_sweep()


def inbox(model, reason_prefix):
    return Notification.objects.filter(
        content_type=ContentType.objects.get_for_model(model), reason__startswith=reason_prefix,
        channel=Notification.Channel.INAPP)


def test_seed_004s_meeting_agenda_is_the_default_20_30_20_20(review):
    agenda = review.agenda
    assert [point["minutes"] for point in agenda] == [20, 30, 20, 20, 0]
    assert agenda[0]["label"] == "Review incident timeline and key decisions"


def test_a_manager_edits_the_agenda_and_reviews_offer_the_new_point(
        review, client, responder):
    ReviewAgendaItem.objects.create(slug="customer_impact", label="Walk through customer impact",
                                    minutes=10, order=2)
    ReviewAgendaItem.objects.filter(slug="follow_up_review").update(is_active=False)
    client.force_login(responder)
    page = client.get(reverse("postmortems:edit", args=[review.incident.reference, "meeting"]))
    html = page.content.decode()
    assert "Walk through customer impact (10 min)" in html
    assert "Schedule follow-up review" not in html

    services.postmortem_update(review, by=responder, section="meeting",
                               agenda_done=["timeline", "customer_impact"])
    review.refresh_from_db()
    assert review.agenda_done == ["customer_impact", "timeline"]
    with pytest.raises(Exception, match="Unknown choices"):
        services.postmortem_update(review, by=responder, section="meeting",
                                   agenda_done=["follow_up_review"])


def test_a_retired_agenda_point_stays_on_the_reviews_that_covered_it(review, responder):
    services.postmortem_update(review, by=responder, section="meeting", agenda_done=["timeline"])
    ReviewAgendaItem.objects.filter(slug="timeline").update(is_active=False)
    review.refresh_from_db()
    covered = {point["key"]: point["done"] for point in review.agenda}
    assert covered["timeline"] is True


def test_a_follow_up_task_added_by_a_manager_becomes_an_action_item_of_its_kind(
        review, incident_manager, responder):
    FollowUpTask.objects.create(slug="update_runbooks", label="Update runbooks",
                                kind=ActionItem.Kind.DOCUMENTATION, order=9)
    item = services.action_item_create_from_follow_up(
        review, by=incident_manager, follow_up="update_runbooks", owner=responder,
        due_date=date.today() + timedelta(days=7))
    assert (item.title, item.kind, item.follow_up) == ("Update runbooks", "documentation",
                                                       "update_runbooks")
    assert "Update runbooks" in [task["label"] for task in review.follow_up_list]

    FollowUpTask.objects.filter(slug="share_learnings").update(is_active=False)
    with pytest.raises(Exception, match="Unknown follow-up task"):
        services.action_item_create_from_follow_up(
            review, by=incident_manager, follow_up="share_learnings", owner=responder,
            due_date=date.today() + timedelta(days=7))


def test_action_item_reminder_offsets_come_from_the_data(review, incident_manager, responder):
    ReviewReminder.objects.filter(slug="action-item-reminder").update(offset=timedelta(days=5))
    with time_machine.travel(NOON, tick=False):
        services.action_item_create(review, by=incident_manager, owner=responder,
                                    title="Alert on lock waits", due_date=DUE)
    sweep_at(DUE_MOMENT - timedelta(days=5, minutes=1))
    assert not inbox(ActionItem, "action_item.reminder").exists()
    sweep_at(DUE_MOMENT - timedelta(days=5))
    assert [n.recipient for n in inbox(ActionItem, "action_item.reminder")] == [responder]


def test_a_second_escalation_rule_tells_managers_a_week_after_the_due_date(
        review, incident_manager, responder, manager):
    ReviewReminder.objects.create(slug="action-item-week-late", subject="action_item",
                                  direction="after", offset=timedelta(days=7),
                                  recipients="managers")
    with time_machine.travel(NOON, tick=False):
        services.action_item_create(review, by=incident_manager, owner=responder,
                                    title="Alert on lock waits", due_date=DUE)
    sweep_at(DUE_MOMENT + timedelta(days=2))
    assert [n.recipient for n in inbox(ActionItem, "action_item.escalated")] == [incident_manager]
    sweep_at(DUE_MOMENT + timedelta(days=7) - timedelta(minutes=1))
    assert inbox(ActionItem, "action_item.escalated").count() == 1
    sweep_at(DUE_MOMENT + timedelta(days=7))
    assert {n.recipient for n in inbox(ActionItem, "action_item.escalated")} == {
        incident_manager, manager}


def test_a_review_escalation_after_its_due_time_can_be_added(review, manager):
    ReviewReminder.objects.create(slug="review-day-late", subject="postmortem",
                                  direction="after", offset=timedelta(days=1),
                                  recipients="managers")
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        services.postmortem_schedule_timers(PostMortem.objects.get(pk=review.pk))
    sweep_at(review.due_at + timedelta(hours=23))
    assert not inbox(PostMortem, "postmortem.escalated").exists()
    sweep_at(review.due_at + timedelta(days=1))
    assert [n.recipient for n in inbox(PostMortem, "postmortem.escalated")] == [manager]


def test_the_admin_refuses_a_negative_or_absurd_offset_naming_the_field(manager, client):
    client.force_login(manager)
    response = client.post("/admin/postmortems/reviewreminder/add/", {
        "slug": "odd", "subject": "action_item", "offset": "-1 00:00:00", "direction": "before",
        "recipients": "owner", "is_active": "on",
    })
    assert response.status_code == 200
    assert "Choose an offset between 1 minute and 365 days." in response.content.decode()
    assert not ReviewReminder.objects.filter(slug="odd").exists()


def test_managers_edit_the_agenda_in_the_admin_with_history(manager, client):
    client.force_login(manager)
    point = ReviewAgendaItem.objects.get(slug="went_well")
    response = client.post(f"/admin/postmortems/reviewagendaitem/{point.pk}/change/", {
        "label": point.label, "minutes": 25, "order": point.order, "is_active": "on",
    })
    assert response.status_code == 302
    point.refresh_from_db()
    assert point.minutes == 25
    assert point.history.first().history_user == manager
    assert client.get("/admin/postmortems/reviewagendaitem/").status_code == 200
    assert client.get("/admin/postmortems/followuptask/").status_code == 200
    assert client.get("/admin/postmortems/reviewreminder/").status_code == 200
