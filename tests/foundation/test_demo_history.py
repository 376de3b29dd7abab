"""The demo has a history (issue 15, item 3): its incidents are spread over the last 90 days,
each step stamped when it happened, so on first start the reports show weeks of trends,
non-zero MTTA and MTTR that agree with the stored times, SLA clocks met or breached as those
times say, and reviews and action items dated after resolution. Nothing lies in the future."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from escalation.models import Heartbeat, Notification, SlaClock
from incidents.models import Incident, IncidentChecklistItem, TimelineEntry
from incidents.reports.metrics import report_summary, weekly_trends
from incidents.reports.periods import preset_period
from postmortems.models import ActionItem, PostMortem

pytestmark = pytest.mark.django_db

NOT_COUNTED = ("cancelled", "duplicate")


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    started = timezone.now()
    call_command("seed_demo", stdout=io.StringIO())
    return started


def test_the_90_day_report_has_weeks_of_incidents_resolution_times_and_compliance(seeded):
    trends = weekly_trends(preset_period("last_90"))
    weeks_with_incidents = sum(1 for total in trends["totals"] if total)
    assert weeks_with_incidents >= 10, trends["totals"]
    assert sum(1 for hours in trends["mttr_hours"] if hours) >= 8
    response = [value for value in trends["response_compliance"] if value is not None]
    assert len(response) >= 10
    assert min(response) < 100, "some responses were late: the chart shows a dip"
    assert {code for code, counts in trends["by_severity"].items() if any(counts)} == {
        "P0", "P1", "P2", "P3"}


def test_mtta_and_mttr_are_non_zero_and_agree_with_the_stored_times(seeded):
    period = preset_period("last_90")
    summary = report_summary(period)
    declared = Incident.objects.filter(
        declared_at__gte=period.start_at, declared_at__lt=period.end_at,
        acknowledged_at__isnull=False).exclude(state__in=NOT_COUNTED)
    ack = [(i.acknowledged_at - i.declared_at).total_seconds() for i in declared]
    assert len(ack) >= 20
    assert summary.declared["mtta_seconds"] == pytest.approx(sum(ack) / len(ack), abs=1)
    assert summary.declared["mtta_seconds"] > 10 * 60

    resolved = Incident.objects.filter(
        resolved_at__gte=period.start_at, resolved_at__lt=period.end_at,
    ).exclude(state__in=NOT_COUNTED)
    fix = [(i.resolved_at - i.detected_at).total_seconds() for i in resolved]
    assert len(fix) >= 18
    assert summary.resolved["mttr_seconds"] == pytest.approx(sum(fix) / len(fix), abs=1)
    assert summary.resolved["mttr_seconds"] > 3600


def test_each_incidents_steps_are_in_order_and_none_lies_in_the_future(seeded):
    now = timezone.now()
    oldest = seeded - timedelta(days=90)
    for incident in Incident.objects.all():
        steps = [incident.detected_at, incident.declared_at, incident.acknowledged_at,
                 incident.mitigated_at, incident.resolved_at, incident.closed_at]
        steps = [moment for moment in steps if moment is not None]
        assert steps == sorted(steps), incident.reference
        assert oldest <= steps[0] and steps[-1] <= now, incident.reference
        declared = incident.timeline.get(kind=TimelineEntry.Kind.DECLARED)
        assert declared.occurred_at == incident.declared_at
        entries = list(incident.timeline.values_list("occurred_at", "created_at"))
        assert all(incident.detected_at <= when <= now and created <= now
                   for when, created in entries), incident.reference
        history = list(incident.history.order_by("history_id")
                       .values_list("history_date", flat=True))
        assert history == sorted(history) and history[-1] <= now
    assert not IncidentChecklistItem.objects.filter(done_at__gt=now).exists()
    ticked = IncidentChecklistItem.objects.filter(done_at__isnull=False).select_related("incident")
    assert all(item.incident.declared_at <= item.done_at for item in ticked)


def test_sla_clocks_are_met_or_breached_as_the_times_say(seeded):
    clocks = SlaClock.objects.select_related("incident").filter(kind="response")
    decided = [clock for clock in clocks if clock.incident.acknowledged_at is not None]
    assert len(decided) >= 20
    for clock in decided:
        late = clock.incident.acknowledged_at > clock.due_at
        assert (clock.breached_at is not None) == late, clock.incident.reference
        if late:
            assert clock.breached_at == clock.due_at, "recorded when it fell due"
        assert clock.met_at == clock.incident.acknowledged_at
    assert sum(1 for clock in decided if clock.breached_at) >= 2
    resolution = SlaClock.objects.select_related("incident").filter(
        kind="resolution", incident__resolved_at__isnull=False)
    for clock in resolution:
        assert (clock.breached_at is not None) == (clock.incident.resolved_at > clock.due_at)
    assert resolution.filter(breached_at__isnull=False).exists()


def test_reviews_and_action_items_come_after_resolution_and_old_notices_are_delivered(seeded):
    now = timezone.now()
    published = PostMortem.objects.filter(state=PostMortem.State.PUBLISHED).select_related(
        "incident")
    assert published.count() >= 5
    for postmortem in published:
        incident = postmortem.incident
        assert incident.resolved_at < postmortem.submitted_at < postmortem.published_at <= now
        assert incident.state == "closed" and incident.closed_at >= postmortem.published_at
        for item in postmortem.action_items.all():
            assert postmortem.published_at <= item.created_at <= now
            assert item.due_date >= timezone.localdate(item.created_at)
            if item.completed_at:
                assert item.created_at < item.completed_at <= now
    on_time = [p.published_at <= p.due_at for p in published if p.due_at]
    assert sum(on_time) >= 5 and not all(on_time), "mostly on time, one late"
    assert ActionItem.objects.overdue().count() == 1, "only the SSO review's runbook"
    # Notices of the past were delivered back then; the start mails only today's.
    old = Notification.objects.filter(created_at__lt=seeded - timedelta(days=1))
    assert old.exists() and not old.filter(status=Notification.Status.PENDING).exists()
    assert not Heartbeat.objects.filter(name="deadlines_sweep", last_run_at__lt=seeded).exists()
