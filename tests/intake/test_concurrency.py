"""Exact dedup under concurrency, on PostgreSQL with real threads (each its own connection):
the unique constraint and the row lock decide, never a read-then-write."""

from __future__ import annotations

import json
import threading

from django.db import connections
from django.test import Client
from django.urls import reverse

from incidents.intake.models import Alert
from incidents.models import Incident, TimelineEntry

from tests.conftest import COMMITTED_DB

from . import payloads

pytestmark = COMMITTED_DB


def post_concurrently(integration, bodies_per_thread: list[list[dict]]) -> list[int]:
    """Each thread posts its bodies in turn; all threads start together."""
    url = reverse("intake:receive", kwargs={"public_id": integration.public_id})
    start = threading.Barrier(len(bodies_per_thread))
    statuses: list[int] = []
    lock = threading.Lock()

    def work(bodies):
        client = Client()
        try:
            start.wait()
            for body in bodies:
                response = client.post(url, json.dumps(body), content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Bearer {integration.secret}")
                with lock:
                    statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(bodies,)) for bodies in bodies_per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_two_threads_with_the_same_alert_open_one_incident(postgres, make_integration):
    integration = make_integration()
    body = payloads.alertmanager()
    statuses = post_concurrently(integration, [[body], [body]])
    assert statuses == [200, 200]
    alert = Alert.objects.get()
    assert alert.count == 2
    assert Incident.objects.count() == 1


def test_a_thousand_identical_alerts_at_once_are_one_incident_counted_a_thousand_times(
        postgres, make_integration):
    integration = make_integration(rate_limit_per_minute=100_000)
    body = payloads.alertmanager()
    statuses = post_concurrently(integration, [[body] * 50 for _ in range(20)])
    assert statuses == [200] * 1000
    alert = Alert.objects.get()
    assert alert.count == 1000
    assert Incident.objects.count() == 1
    assert TimelineEntry.objects.filter(kind="alert").count() == 1


def test_alerts_of_one_group_fired_at_once_join_one_incident(postgres, make_integration):
    integration = make_integration()
    bodies = [[payloads.alertmanager(payloads.am_alert(fingerprint=f"{i:016x}",
                                                        labels={"instance": f"i{i}"}))]
              for i in range(8)]
    post_concurrently(integration, bodies)
    assert Alert.objects.count() == 8
    assert Incident.objects.count() == 1
    assert set(Alert.objects.values_list("incident", flat=True)) == {Incident.objects.get().pk}


def test_a_known_alert_firing_again_from_two_senders_at_once_opens_one_incident(
        postgres, make_integration):
    """The second sender waits for the first one's row lock while the first declares: it must
    then see the incident the first declared (the lock re-reads the row, not rows joined to it)."""
    integration = make_integration()
    fingerprints = [f"{i:016x}" for i in range(5)]
    resolved = [payloads.am_alert(fingerprint=f, status="resolved", labels={"instance": f})
                for f in fingerprints]
    post_concurrently(integration, [[payloads.alertmanager(a, group_key="")] for a in resolved])
    assert Alert.objects.filter(incident__isnull=True).count() == 5
    firing = [payloads.alertmanager(dict(a, status="firing"), group_key="") for a in resolved]
    post_concurrently(integration, [firing, firing])
    assert Incident.objects.count() == 5
    for alert in Alert.objects.all():
        assert alert.count == 3
        assert TimelineEntry.objects.filter(incident=alert.incident, kind="alert").count() == 1


def test_batches_of_the_same_repeats_in_opposite_orders_never_deadlock(postgres, make_integration):
    """Alertmanager posts a group's alerts together; two senders may repeat the same alerts
    in any order at once. The repeats of a request are counted together, so their rows must
    be locked in one order, or the two requests would each hold a row the other waits for."""
    integration = make_integration(rate_limit_per_minute=100_000)
    alerts = [payloads.am_alert(fingerprint=f"{i:016x}", labels={"instance": f"i{i}"})
              for i in range(40)]
    post_concurrently(integration, [[payloads.alertmanager(*alerts, group_key="")]])
    forward = payloads.alertmanager(*alerts, group_key="")
    backward = payloads.alertmanager(*reversed(alerts), group_key="")
    statuses = post_concurrently(integration, [[forward] * 25, [backward] * 25,
                                               [forward] * 25, [backward] * 25])
    assert statuses == [200] * 100
    assert set(Alert.objects.values_list("count", flat=True)) == {101}
    assert Incident.objects.count() == 40
