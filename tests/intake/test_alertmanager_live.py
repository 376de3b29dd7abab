"""A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) sends its webhook to a
live Firebreak test server: alerts fired through Alertmanager's API open an incident, a second
alert of the same group joins it, and resolving both marks the incident mitigated.

Both listen on free ports the operating system picks, so parallel runs don't collide (the
clustering port is switched off).
Alertmanager's group_wait and group_interval are 1 s so the test waits seconds, not minutes."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.test.testcases import LiveServerThread, _StaticFilesHandler

from incidents import services as incident_services
from incidents.intake.models import Alert
from incidents.models import Incident
from tests.conftest import COMMITTED_DB, IN_CI
from tests.integration.conftest import wait_until

pytestmark = [COMMITTED_DB, pytest.mark.integration]

BINARY = "prometheus-alertmanager"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def firebreak_server(postgres):
    thread = LiveServerThread("127.0.0.1", _StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.fixture
def alertmanager(tmp_path, firebreak_server, make_integration):
    binary = shutil.which(BINARY)
    if binary is None:
        message = f"{BINARY} is not installed (apt-get install prometheus-alertmanager)"
        pytest.fail(message + "; CI=true requires it.") if IN_CI else pytest.skip(message)
    integration = make_integration(name="Alertmanager (live)")
    config = tmp_path / "alertmanager.yml"
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "route": {"receiver": "firebreak", "group_by": ["alertname"], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "firebreak", "webhook_configs": [{
            "url": f"{firebreak_server}/intake/{integration.public_id}/",
            "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer",
                                              "credentials": integration.secret}},
        }]}],
    }))
    log = open(tmp_path / "alertmanager.log", "w")
    alertmanager_port = _free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{alertmanager_port}", "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{alertmanager_port}/api/v2"
    try:
        wait_until(lambda: _ready(api), timeout=30, what="Alertmanager to answer",
                   explain=lambda: (tmp_path / "alertmanager.log").read_text()[-2000:])
        yield api, integration, tmp_path / "alertmanager.log"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _ready(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/status", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def fire(api: str, *alerts: dict) -> None:
    request = urllib.request.Request(f"{api}/alerts", data=json.dumps(list(alerts)).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def alert(instance: str, *, resolved: bool = False) -> dict:
    now = datetime.now(UTC)
    body = {
        "labels": {"alertname": "CheckoutErrorRate", "service": "checkout",
                   "severity": "critical", "instance": instance},
        "annotations": {"summary": "Checkout 5xx above 5%"},
        "generatorURL": "http://prometheus.internal:9090/graph?g0.expr=checkout_5xx",
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
    }
    if resolved:
        body["endsAt"] = now.isoformat()
    return body


def test_alertmanager_opens_groups_and_resolves_an_incident(alertmanager, incident_manager):
    api, integration, log = alertmanager
    explain = lambda: log.read_text()[-2000:]  # noqa: E731

    fire(api, alert("checkout-1"))
    incident = wait_until(lambda: Incident.objects.first(), timeout=30,
                          what="Alertmanager's webhook to open an incident", explain=explain)
    assert incident.reporter == integration.account
    assert incident.title == "Checkout 5xx above 5%"

    fire(api, alert("checkout-1"), alert("checkout-2"))
    wait_until(lambda: Alert.objects.filter(incident=incident).count() == 2, timeout=30,
               what="the second alert of the group to join the incident", explain=explain)
    assert Incident.objects.count() == 1

    incident = incident_services.incident_triage(incident, by=incident_manager,
                                                 incident_manager=incident_manager)
    fire(api, alert("checkout-1", resolved=True), alert("checkout-2", resolved=True))
    wait_until(lambda: Incident.objects.get(pk=incident.pk).state == Incident.State.MITIGATED,
               timeout=30, what="both alerts resolving to mark the incident mitigated",
               explain=explain)
    assert set(Alert.objects.values_list("state", flat=True)) == {Alert.State.RESOLVED}
