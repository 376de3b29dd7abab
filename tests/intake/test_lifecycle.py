"""Dedup, grouping, flapping and the incident lifecycle driven by alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from incidents import services as incident_services
from incidents.intake.models import Alert, Integration
from incidents.models import Incident, TimelineEntry

from . import payloads

pytestmark = pytest.mark.django_db
State = Incident.State


def alert_entries(incident):
    return list(TimelineEntry.objects.filter(incident=incident, kind="alert")
                .values_list("text", flat=True))


def test_a_repeat_updates_the_alert_and_opens_no_second_incident(alertmanager_integration, post):
    for _ in range(3):
        post(alertmanager_integration, payloads.alertmanager())
    alert = Alert.objects.get()
    assert alert.count == 3
    assert alert.last_seen_at > alert.first_seen_at
    assert Incident.objects.count() == 1
    # First fire is one entry; repeats are counted on the alert, not written each time.
    assert len(alert_entries(alert.incident)) == 1


def test_alerts_of_one_alertmanager_group_join_one_incident(alertmanager_integration, post):
    post(alertmanager_integration, payloads.alertmanager(payloads.am_alert("HighErrorRate")))
    response = post(alertmanager_integration, payloads.alertmanager(
        payloads.am_alert("HighErrorRate", labels={"instance": "checkout-2"},
                          fingerprint="bbbb000000000002")))
    assert response.json()["alerts"][0]["action"] == "joined"
    assert Alert.objects.count() == 2
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert any("same alert group" in text for text in alert_entries(incident))
    # A different group opens its own incident.
    post(alertmanager_integration, payloads.alertmanager(
        payloads.am_alert("DiskFull", fingerprint="cccc000000000003"),
        group_key='{}:{alertname="DiskFull"}'))
    assert Incident.objects.count() == 2


def test_grouping_labels_join_within_the_window_only(make_integration, post):
    integration = make_integration(group_by="service", group_window=timedelta(minutes=10))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post(integration, payloads.alertmanager(payloads.am_alert("A", fingerprint="a1"),
                                                group_key=""))
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        post(integration, payloads.alertmanager(payloads.am_alert("B", fingerprint="b1"),
                                                group_key=""))
    assert Incident.objects.count() == 1
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        post(integration, payloads.alertmanager(payloads.am_alert("C", fingerprint="c1"),
                                                group_key=""))
    assert Incident.objects.count() == 2
    # Another service is another group.
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        post(integration, payloads.alertmanager(
            payloads.am_alert("D", fingerprint="d1", labels={"service": "search"}), group_key=""))
    assert Incident.objects.count() == 3


@pytest.fixture
def worked_incident(incident_manager):
    """Moves an alert's incident to investigating, as people do."""

    def work(incident):
        incident = incident_services.incident_triage(incident, by=incident_manager,
                                                     incident_manager=incident_manager)
        return incident_services.incident_investigate(incident, by=incident_manager)

    return work


def test_when_every_alert_resolves_the_incident_is_mitigated(alertmanager_integration, post,
                                                            worked_incident):
    first = payloads.am_alert("HighErrorRate", fingerprint="f1")
    second = payloads.am_alert("HighErrorRate", fingerprint="f2", labels={"instance": "i2"})
    post(alertmanager_integration, payloads.alertmanager(first, second))
    incident = worked_incident(Incident.objects.get())
    first["status"] = "resolved"
    first["endsAt"] = payloads.rfc3339(payloads.now())
    post(alertmanager_integration, payloads.alertmanager(first, second))
    incident.refresh_from_db()
    assert incident.state == State.INVESTIGATING  # one alert still fires
    second["status"] = "resolved"
    second["endsAt"] = payloads.rfc3339(payloads.now())
    post(alertmanager_integration, payloads.alertmanager(first, second))
    incident.refresh_from_db()
    assert incident.state == State.MITIGATED
    texts = alert_entries(incident)
    assert sum("resolved" in t for t in texts) == 2
    assert any("received 2 times" in t for t in texts)
    # A person resolves: alerts never do.
    assert Alert.objects.filter(incident=incident, state="resolved").count() == 2


def test_an_integration_may_ask_for_a_note_instead(make_integration, post, worked_incident):
    integration = make_integration(when_all_resolved=Integration.WhenAllResolved.NOTE)
    alert = payloads.am_alert()
    post(integration, payloads.alertmanager(alert))
    incident = worked_incident(Incident.objects.get())
    alert["status"] = "resolved"
    post(integration, payloads.alertmanager(alert))
    incident.refresh_from_db()
    assert incident.state == State.INVESTIGATING
    assert TimelineEntry.objects.filter(incident=incident, data__all_alerts_resolved=True).exists()


def test_an_untriaged_incident_gets_a_note_not_a_transition(alertmanager_integration, post):
    alert = payloads.am_alert()
    post(alertmanager_integration, payloads.alertmanager(alert))
    alert["status"] = "resolved"
    post(alertmanager_integration, payloads.alertmanager(alert))
    incident = Incident.objects.get()
    assert incident.state == State.REPORTED
    note = TimelineEntry.objects.get(incident=incident, data__all_alerts_resolved=True)
    assert "triages it first" in note.text


def test_a_refire_while_the_incident_is_open_joins_it(alertmanager_integration, post,
                                                      worked_incident):
    alert = payloads.am_alert()
    post(alertmanager_integration, payloads.alertmanager(alert))
    worked_incident(Incident.objects.get())
    alert["status"] = "resolved"
    post(alertmanager_integration, payloads.alertmanager(alert))
    alert["status"] = "firing"
    response = post(alertmanager_integration, payloads.alertmanager(alert))
    assert response.json()["alerts"][0]["action"] == "joined"
    assert Incident.objects.count() == 1
    assert Alert.objects.get().state == Alert.State.FIRING


def test_flapping_reopens_the_recent_incident_instead_of_opening_another(
        make_integration, post, worked_incident, incident_manager):
    integration = make_integration(flap_window=timedelta(minutes=15))
    alert = payloads.am_alert()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post(integration, payloads.alertmanager(alert))
        incident = worked_incident(Incident.objects.get())
        alert["status"] = "resolved"
        post(integration, payloads.alertmanager(alert))
        incident_services.incident_resolve(incident, by=incident_manager, summary="Rolled back")
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        alert["status"] = "firing"
        post(integration, payloads.alertmanager(alert))
    incident.refresh_from_db()
    assert Incident.objects.count() == 1
    assert incident.state == State.INVESTIGATING
    assert any("flapping" in t for t in alert_entries(incident))
    # Long after resolving, a new fire is a new incident.
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        alert["status"] = "resolved"
        post(integration, payloads.alertmanager(alert))
        incident_services.incident_resolve(incident, by=incident_manager, summary="Fixed")
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        alert["status"] = "firing"
        post(integration, payloads.alertmanager(alert))
    assert Incident.objects.count() == 2


def test_a_resolve_for_an_unknown_alert_is_recorded_without_an_incident(
        alertmanager_integration, post):
    response = post(alertmanager_integration,
                    payloads.alertmanager(payloads.am_alert(status="resolved")))
    assert response.status_code == 200
    alert = Alert.objects.get()
    assert alert.state == Alert.State.RESOLVED and alert.incident is None
    assert not Incident.objects.exists()
