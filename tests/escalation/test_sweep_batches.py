"""The set-based sweep: the timers of a batch are handled kind by kind with bulk writes, which
must leave exactly the rows that handling each timer alone leaves (history, timeline, outbox,
follow-up timers, participants); a timer whose handler fails is retried alone, later, without
undoing or holding up the rest of its batch."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from escalation import deadlines
from escalation.deadlines import deadlines_sweep
from escalation.models import (
    Deadline,
    EscalationEvent,
    Notification,
    SlaClock,
    WebhookEndpoint,
)
from incidents import services
from incidents.models import IncidentParticipant, TimelineEntry

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam
HOUR = timedelta(hours=1)


@pytest.fixture
def busy_morning(declare, incident_manager, staffed_levels, make_user):
    """Incidents of several severities declared a few minutes apart, one managed, one with a
    responder, and a webhook: breaches, steps and reminders all fall due over the day."""
    WebhookEndpoint.objects.create(name="Ops channel", url="https://hooks.example.org/ops",
                                   format="json", secret="s", min_severity_rank=1)
    made = []
    for minutes, severity in enumerate(["P0", "P1", "P0", "P2", "P1"]):
        with time_machine.travel(START + timedelta(minutes=minutes), tick=False):
            incident = declare(severity=severity, title=f"Outage {minutes}")
            if minutes % 2 == 0:
                incident = services.incident_assign_role(
                    incident, by=incident_manager, role="incident_manager", user=incident_manager)
            if minutes == 1:
                services.incident_set_responder(incident, by=incident_manager,
                                                user=make_user("Responder"), joined=True)
        made.append(incident)
    return made


def rows(incidents) -> dict[str, list]:
    """What the sweep left, without ids (which differ between two runs)."""
    ref = {incident.pk: incident.reference for incident in incidents}
    events = {e.pk: (ref[e.incident_id], e.level.number, e.at)
              for e in EscalationEvent.objects.select_related("level")}

    def data(entry):
        values = dict(entry.data)
        if "event" in values:
            values["event"] = events[values["event"]]
        return sorted(values.items(), key=str)

    return {
        "clocks": sorted((ref[c.incident_id], c.kind, c.breached_at, c.breach_by, c.met_at)
                         for c in SlaClock.objects.all()),
        "clock history": sorted((ref[h.incident_id], h.kind, h.history_change_reason or "",
                                 h.breached_at is not None)
                                for h in SlaClock.history.all()),
        "events": sorted((*events[e.pk], e.source, e.reason_category, e.note, e.reminded_at)
                         for e in EscalationEvent.objects.all()),
        "event history": sorted((*events[h.id], h.history_change_reason or "", h.reminded_at)
                                for h in EscalationEvent.history.all()),
        "timeline": sorted((ref[t.incident_id], t.kind, t.text, t.occurred_at, t.is_key_event,
                            str(data(t)))
                           for t in TimelineEntry.objects.exclude(kind__in=["declared", "role"])),
        "timeline history": TimelineEntry.history.count(),
        "outbox": sorted((ref.get(n.incident_id), n.reason, n.channel,
                          n.recipient.username if n.recipient else n.webhook.name, n.title,
                          n.body, n.status)
                         for n in Notification.objects.select_related("recipient", "webhook")),
        "timers": sorted((ref.get(d.incident_id), d.kind, d.key.split(".")[0], d.due_at,
                          d.fired_at is not None, d.cancelled_at is not None)
                         for d in Deadline.objects.all()),
        "participants": sorted((ref[p.incident_id], p.user_id, p.reason)
                               for p in IncidentParticipant.objects.all()),
    }


def sweep_day(batch_size: int) -> None:
    """Sweep every 20 minutes of the day, each time until nothing more fires."""
    for step in range(1, 3 * 24):
        with time_machine.travel(START + step * timedelta(minutes=20), tick=False):
            while deadlines_sweep(batch_size=batch_size):
                pass


def rows_after(incidents, batch_size: int) -> dict:
    with transaction.atomic():
        sweep_day(batch_size)
        result = rows(incidents)
        transaction.set_rollback(True)
    return result


def test_set_based_handlers_leave_the_same_rows_as_one_by_one(postgres, busy_morning):
    one_by_one = rows_after(busy_morning, batch_size=1)
    set_based = rows_after(busy_morning, batch_size=500)
    assert one_by_one["events"], "the day should escalate something"
    assert any(clock[2] for clock in one_by_one["clocks"]), "and breach something"
    assert any(row[1] == "escalation.reminder" for row in one_by_one["outbox"])
    for name in one_by_one:
        assert set_based[name] == one_by_one[name], name


def test_a_failing_timer_is_retried_alone_and_the_rest_of_its_batch_fires(
    postgres, busy_morning, monkeypatch
):
    breach = deadlines._handlers["sla.response"]
    broken = busy_morning[0]
    broken_clock = SlaClock.objects.get(incident=broken, kind="response")

    def breach_unless_broken(batch):
        if any(d.payload["clock"] == broken_clock.pk for d in batch):
            raise RuntimeError("this clock's notification template is broken")
        breach(batch)

    monkeypatch.setitem(deadlines._handlers, "sla.response", breach_unless_broken)
    moment = START + 5 * HOUR
    with time_machine.travel(moment, tick=False):
        deadlines_sweep()
    breached = set(SlaClock.objects.filter(kind="response", breached_at__isnull=False)
                   .values_list("incident_id", flat=True))
    due = set(SlaClock.objects.filter(kind="response", due_at__lte=moment)
              .values_list("incident_id", flat=True))
    assert broken.pk in due and len(due) > 1
    assert breached == due - {broken.pk}
    timer = Deadline.objects.get(incident=broken, kind="sla.response")
    assert (timer.fired_at, timer.attempts) == (None, 1)
    assert "notification template is broken" in timer.last_error
    assert timer.due_at > moment  # retried later, with backoff
    assert not TimelineEntry.objects.filter(incident=broken, kind="sla",
                                            text__startswith="Response SLA breached").exists()
    monkeypatch.setitem(deadlines._handlers, "sla.response", breach)
    with time_machine.travel(timer.due_at, tick=False):
        deadlines_sweep()
    assert SlaClock.objects.get(pk=broken_clock.pk).breached_at == broken_clock.due_at
