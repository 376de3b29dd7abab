"""Reminders and escalations, driven by the deadline sweep under a travelling clock."""

from datetime import date, datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType

from escalation.deadlines import deadlines_sweep
from escalation.models import Deadline, Notification
from incidents import services as incident_services
from postmortems import services
from postmortems.models import ActionItem, PostMortem, ReviewReminder

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=dt_timezone.utc)


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        deadlines_sweep()


def inbox(model, reason_prefix: str, user=None):
    qs = Notification.objects.filter(
        content_type=ContentType.objects.get_for_model(model), reason__startswith=reason_prefix,
        channel=Notification.Channel.INAPP)
    if user is not None:
        qs = qs.filter(recipient=user)
    return qs


@pytest.fixture
def p1_review(resolved):
    with time_machine.travel(NOON, tick=False):
        return resolved("P1").postmortem  # due NOON + 2 days; reminder 12 hours before


def test_the_owner_is_reminded_once_before_the_review_is_due(p1_review, incident_manager):
    sweep_at(NOON + timedelta(hours=35))
    assert not inbox(PostMortem, "postmortem.reminder").exists()

    sweep_at(NOON + timedelta(hours=36))
    sweep_at(NOON + timedelta(hours=37))

    reminders = inbox(PostMortem, "postmortem.reminder")
    assert [n.recipient for n in reminders] == [incident_manager]
    assert p1_review.incident.reference in reminders.get().title


def test_an_overdue_review_escalates_to_the_incident_manager_and_managers(
        p1_review, incident_manager, manager):
    sweep_at(NOON + timedelta(hours=47, minutes=59))
    assert not inbox(PostMortem, "postmortem.overdue").exists()

    sweep_at(NOON + timedelta(hours=48))
    sweep_at(NOON + timedelta(hours=72))

    overdue = inbox(PostMortem, "postmortem.overdue")
    assert {n.recipient for n in overdue} == {incident_manager, manager}
    assert overdue.count() == 2
    assert p1_review.incident.timeline.filter(text__contains="post-mortem is overdue").exists()


def test_a_published_review_is_not_chased(p1_review, responder, incident_manager):
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        services.postmortem_update(p1_review, by=responder, section="analysis",
                                   root_cause="Bad index")
        services.postmortem_update(p1_review, by=responder, section="summary", summary="Down")
        postmortem = services.postmortem_transition(p1_review, "submit", by=responder)
        services.postmortem_transition(postmortem, "publish", by=incident_manager)

    sweep_at(NOON + timedelta(days=5))
    assert not inbox(PostMortem, "postmortem.reminder").exists()
    assert not inbox(PostMortem, "postmortem.overdue").exists()
    assert inbox(PostMortem, "postmortem.submitted", incident_manager).exists()


def test_a_waived_review_is_not_chased(p1_review, manager):
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        services.postmortem_waive(p1_review.incident, by=manager, reason="Covered by INC-1")
    sweep_at(NOON + timedelta(days=5))
    assert not inbox(PostMortem, "postmortem.reminder").exists()
    assert not inbox(PostMortem, "postmortem.overdue").exists()


def test_reopening_the_incident_stops_the_clock_and_resolving_again_restarts_it(
        p1_review, incident_manager, resolve):
    incident = p1_review.incident
    with time_machine.travel(NOON + timedelta(hours=2), tick=False):
        incident = incident_services.incident_reopen(incident, by=incident_manager,
                                                     reason="Errors are back")
    sweep_at(NOON + timedelta(hours=49))
    assert not inbox(PostMortem, "postmortem.overdue").exists()

    resolved_again = NOON + timedelta(hours=50)
    with time_machine.travel(resolved_again, tick=False):
        resolve(incident)
    p1_review.refresh_from_db()
    assert p1_review.due_at == resolved_again + timedelta(days=2)
    sweep_at(resolved_again + timedelta(days=2))
    assert inbox(PostMortem, "postmortem.overdue").exists()


# --- Action items ------------------------------------------------------------------------

DUE = date(2026, 3, 6)  # end of day in Amsterdam: 2026-03-06 23:00 UTC
DUE_MOMENT = datetime(2026, 3, 6, 23, 0, tzinfo=dt_timezone.utc)


@pytest.fixture
def action_item(p1_review, incident_manager, responder):
    with time_machine.travel(NOON, tick=False):
        return services.action_item_create(p1_review, by=incident_manager, owner=responder,
                                           title="Alert on lock waits", due_date=DUE,
                                           kind=ActionItem.Kind.MONITORING)


def test_the_owner_hears_of_a_new_action_item(action_item, responder):
    assert inbox(ActionItem, "action_item.assigned", responder).count() == 1


def test_the_owner_is_reminded_two_days_before_the_due_date_once(action_item, responder):
    sweep_at(DUE_MOMENT - timedelta(days=2, minutes=1))
    assert not inbox(ActionItem, "action_item.reminder").exists()
    sweep_at(DUE_MOMENT - timedelta(days=2))
    sweep_at(DUE_MOMENT - timedelta(days=1))
    assert [n.recipient for n in inbox(ActionItem, "action_item.reminder")] == [responder]


def test_an_overdue_action_item_tells_the_owner_then_escalates_to_the_incident_manager(
        action_item, responder, incident_manager):
    sweep_at(DUE_MOMENT)
    assert [n.recipient for n in inbox(ActionItem, "action_item.overdue")] == [responder]
    assert not inbox(ActionItem, "action_item.escalated").exists()

    sweep_at(DUE_MOMENT + timedelta(days=2))
    sweep_at(DUE_MOMENT + timedelta(days=2) + timedelta(days=1))
    escalated = inbox(ActionItem, "action_item.escalated")
    assert [n.recipient for n in escalated] == [incident_manager]


def test_a_done_action_item_is_not_chased(action_item, responder):
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        services.action_item_transition(action_item, "complete", by=responder)
    sweep_at(DUE_MOMENT + timedelta(days=5))
    assert not inbox(ActionItem, "action_item.reminder").exists()
    assert not inbox(ActionItem, "action_item.overdue").exists()


def test_moving_the_due_date_moves_the_reminders(action_item, incident_manager, responder):
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        services.action_item_update(action_item, by=incident_manager, due_date=DUE + timedelta(days=7))
    sweep_at(DUE_MOMENT + timedelta(hours=1))
    assert not inbox(ActionItem, "action_item.overdue").exists()
    sweep_at(DUE_MOMENT + timedelta(days=7))
    assert inbox(ActionItem, "action_item.overdue", responder).count() == 1


def test_bringing_the_due_date_closer_drops_the_reminder_of_the_old_date(
        action_item, incident_manager, responder):
    # Due on the 3rd: its reminder two days before is already past, so none is scheduled, and
    # the one for the old date (the 4th, 23:00) must not arrive after the item is overdue.
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        services.action_item_update(action_item, by=incident_manager, due_date=date(2026, 3, 3))
    sweep_at(datetime(2026, 3, 3, 23, 0, tzinfo=dt_timezone.utc))
    assert inbox(ActionItem, "action_item.overdue", responder).count() == 1
    sweep_at(DUE_MOMENT - timedelta(days=2))
    sweep_at(DUE_MOMENT)
    assert not inbox(ActionItem, "action_item.reminder").exists()


def test_the_incident_timeline_says_when_the_review_is_due_in_local_time_and_who_owns_it(
        p1_review):
    entry = p1_review.incident.timeline.get(data__event="scheduled")
    assert entry.text == ("Post-mortem scheduled, due Wed 04 Mar 2026, 13:00 CET; "
                          "owner: Ivan Manager.")


def test_a_review_reminder_rule_without_a_window_share_reminds_its_offset_before(
        resolved, incident_manager):
    ReviewReminder.objects.create(
        slug="last-hour", subject=ReviewReminder.Subject.POSTMORTEM,
        direction=ReviewReminder.Direction.BEFORE, offset=timedelta(hours=1), window_share=None,
        recipients=ReviewReminder.Recipients.OWNER)
    with time_machine.travel(NOON, tick=False):
        review = resolved("P1").postmortem
    sweep_at(review.due_at - timedelta(hours=1, minutes=1))
    assert not inbox(PostMortem, "postmortem.reminder").filter(reason__endswith="last-hour")
    sweep_at(review.due_at - timedelta(hours=1))
    assert [n.recipient for n in inbox(PostMortem, "postmortem.reminder")
            .filter(reason__endswith="last-hour")] == [incident_manager]


def test_a_reminder_rule_a_manager_switched_off_sends_nothing(action_item, responder):
    ReviewReminder.objects.filter(subject=ReviewReminder.Subject.ACTION_ITEM).update(
        is_active=False)
    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        services.action_item_update(action_item, by=responder, due_date=DUE + timedelta(days=1))
    sweep_at(DUE_MOMENT + timedelta(days=1) - timedelta(hours=1))
    assert not inbox(ActionItem, "action_item.reminder").exists()


def test_a_review_reminder_goes_to_the_people_its_rule_names(resolved, manager,
                                                              incident_manager):
    ReviewReminder.objects.filter(slug="review-reminder").update(
        recipients=ReviewReminder.Recipients.MANAGERS)
    with time_machine.travel(NOON, tick=False):
        review = resolved("P1").postmortem
    sweep_at(review.due_at - timedelta(hours=12))
    assert [n.recipient for n in inbox(PostMortem, "postmortem.reminder")] == [manager]


def test_a_reminder_whose_moment_has_come_is_skipped_and_the_later_ones_still_come(
        resolved, incident_manager):
    # The whole two-day window before the due time: its moment is the resolution itself.
    ReviewReminder.objects.create(
        slug="whole-window", subject=ReviewReminder.Subject.POSTMORTEM,
        direction=ReviewReminder.Direction.BEFORE, offset=timedelta(hours=1),
        window_share=1, recipients=ReviewReminder.Recipients.OWNER)
    with time_machine.travel(NOON, tick=False):
        review = resolved("P1").postmortem
    sweep_at(NOON)
    sweep_at(review.due_at - timedelta(hours=12))
    reminders = inbox(PostMortem, "postmortem.reminder")
    assert [n.reason.rsplit(".", 1)[-1] for n in reminders] == ["review-reminder"]


def test_a_review_due_again_after_a_reopen_reminds_and_escalates_again(
        p1_review, incident_manager, resolve):
    sweep_at(NOON + timedelta(hours=48))  # the reminder, then overdue
    with time_machine.travel(NOON + timedelta(hours=49), tick=False):
        incident = incident_services.incident_reopen(p1_review.incident, by=incident_manager,
                                                     reason="Errors are back")
    resolved_again = NOON + timedelta(hours=50)
    with time_machine.travel(resolved_again, tick=False):
        resolve(incident)
    sweep_at(resolved_again + timedelta(hours=36))
    assert inbox(PostMortem, "postmortem.reminder", incident_manager).count() == 2
    sweep_at(resolved_again + timedelta(hours=48))
    assert inbox(PostMortem, "postmortem.overdue", incident_manager).count() == 2


def test_the_reviews_timers_only_follow_review_rules_and_all_run_cleanly(
        p1_review, action_item):
    sweep_at(DUE_MOMENT + timedelta(days=10))
    assert not Deadline.objects.exclude(last_error="").exists()
    review_timers = Deadline.objects.filter(
        content_type=ContentType.objects.get_for_model(PostMortem), object_id=p1_review.pk)
    assert {timer.kind for timer in review_timers} == {"postmortem.reminder", "postmortem.due"}


def test_deleting_an_incident_leaves_no_timer_of_its_review_or_action_items(
        p1_review, action_item):
    assert Deadline.objects.filter(kind__startswith="postmortem.").exists()
    assert Deadline.objects.filter(kind__startswith="action_item.").exists()
    p1_review.incident.delete()
    assert not Deadline.objects.filter(kind__startswith="postmortem.").exists()
    assert not Deadline.objects.filter(kind__startswith="action_item.").exists()
