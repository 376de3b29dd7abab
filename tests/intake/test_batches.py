"""Repeats of a request are counted together in one statement; whatever else the request
carries for the same alert (a first fire, a resolve, new content) is still applied in the
order it was sent, and an alert whose incident has ended is never taken for a repeat."""

from __future__ import annotations

import pytest

from incidents.intake.models import Alert
from incidents.models import Incident

from . import payloads

pytestmark = pytest.mark.django_db


def known_alerts(integration, post, count: int) -> list[dict]:
    alerts = [payloads.am_alert(fingerprint=f"{i:016x}", labels={"instance": f"i{i}"})
              for i in range(count)]
    assert post(integration, payloads.alertmanager(*alerts, group_key="")).status_code == 200
    return alerts


def test_a_new_alert_and_its_repeat_in_one_request_open_one_incident_counted_twice(
        alertmanager_integration, post):
    alert = payloads.am_alert()
    response = post(alertmanager_integration, payloads.alertmanager(alert, alert))
    assert [a["action"] for a in response.json()["alerts"]] == ["declared", "repeat"]
    assert Alert.objects.get().count == 2
    assert Incident.objects.count() == 1


def test_a_resolve_then_a_fire_in_one_request_leave_the_alert_firing(
        alertmanager_integration, post):
    alert = known_alerts(alertmanager_integration, post, 1)[0]
    resolved = dict(alert, status="resolved", endsAt=alert["startsAt"])
    response = post(alertmanager_integration, payloads.alertmanager(resolved, alert, alert))
    assert [a["action"] for a in response.json()["alerts"]] == ["resolved", "joined", "repeat"]
    stored = Alert.objects.get()
    assert stored.state == Alert.State.FIRING
    assert stored.count == 4


def test_a_repeat_with_new_content_stores_it(alertmanager_integration, post):
    alert = known_alerts(alertmanager_integration, post, 1)[0]
    changed = payloads.am_alert(fingerprint=alert["fingerprint"], labels={"instance": "i0"},
                                annotations={"description": "Error rate now 40%."})
    response = post(alertmanager_integration, payloads.alertmanager(changed))
    assert response.json()["alerts"][0]["action"] == "repeat"
    stored = Alert.objects.get()
    assert stored.annotations["description"] == "Error rate now 40%."
    assert stored.count == 2
    # The same content again after a change in one request: both counted, the change kept.
    post(alertmanager_integration, payloads.alertmanager(alert, changed))
    stored = Alert.objects.get()
    assert (stored.count, stored.annotations["description"]) == (4, "Error rate now 40%.")


def test_a_repeat_after_its_incident_was_closed_opens_a_new_one(alertmanager_integration, post):
    alert = known_alerts(alertmanager_integration, post, 1)[0]
    # As if people had resolved and closed it while the alert kept firing.
    Incident.objects.update(state=Incident.State.CLOSED)
    response = post(alertmanager_integration, payloads.alertmanager(alert, group_key=""))
    assert response.json()["alerts"][0]["action"] == "declared"
    assert Incident.objects.count() == 2
    assert Alert.objects.get().incident.is_open


def test_repeats_of_a_suppressed_alert_stay_suppressed_and_counted(
        alertmanager_integration, post):
    alert = known_alerts(alertmanager_integration, post, 1)[0]
    Alert.objects.update(is_suppressed=True, incident=None)
    response = post(alertmanager_integration, payloads.alertmanager(alert, alert))
    assert [a["action"] for a in response.json()["alerts"]] == ["repeat", "repeat"]
    assert Alert.objects.get().count == 3
    assert Incident.objects.count() == 1


def test_twenty_repeats_in_one_request_cost_a_fixed_number_of_queries(
        alertmanager_integration, post, django_assert_max_num_queries):
    alerts = known_alerts(alertmanager_integration, post, 20)
    # Integration, rate window (two statements when a new minute starts), the repeats.
    with django_assert_max_num_queries(4):
        response = post(alertmanager_integration, payloads.alertmanager(*alerts, group_key=""))
    assert {a["action"] for a in response.json()["alerts"]} == {"repeat"}
    assert set(Alert.objects.values_list("count", flat=True)) == {2}
    assert all(a["incident"] for a in response.json()["alerts"])
