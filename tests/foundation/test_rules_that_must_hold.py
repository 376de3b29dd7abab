"""Rules of the incident services that a one-line slip used to break without any test noticing
(issue 16): each test below was seen to fail with its rule broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.errors import ActionRefused
from incidents.models import Incident

from .conftest import walk

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_resolution_summary_of_only_spaces_does_not_resolve_an_incident(
    incident_in, incident_manager
):
    incident = incident_in(Incident.State.MITIGATED)
    # A summary that arrived without the form's trimming (an import, an older release).
    Incident.objects.filter(pk=incident.pk).update(resolution_summary="   \n\t ")
    with pytest.raises(ActionRefused) as refused:
        services.incident_resolve(Incident.objects.get(pk=incident.pk), by=incident_manager,
                                  summary="   ")
    assert refused.value.reasons == ["A resolution summary is required to resolve the incident."]
    assert Incident.objects.get(pk=incident.pk).state == Incident.State.MITIGATED


def test_a_plain_note_stays_off_the_war_rooms_key_events(declare, incident_manager):
    incident = walk(declare(severity="P3"), ["triage"], by=incident_manager)
    client = Client()
    client.force_login(incident_manager)
    posted = client.post(reverse("incidents:add_note", args=[incident.reference]),
                         {"note-text": "Looking at the load balancer logs"})
    assert posted.status_code == 302
    services.timeline_add_note(incident, by=incident_manager, text="Paged the database team")
    services.timeline_add_note(incident, by=incident_manager, text="Failover started",
                               is_key_event=True)
    room = client.get(f"/war-room/{incident.reference}/").content.decode()
    key_events = room.split('id="key-events"')[1].split("</ul>")[0]
    assert "Failover started" in key_events
    assert "Looking at the load balancer logs" not in key_events
    assert "Paged the database team" not in key_events


def test_a_detection_time_of_this_very_moment_is_accepted_and_one_second_later_refused(declare):
    with time_machine.travel(NOW, tick=False):
        incident = declare(detected_at=NOW)
        assert incident.detected_at == NOW
        with pytest.raises(ActionRefused, match="detection time cannot be in the future"):
            declare(detected_at=NOW + timedelta(seconds=1))
    assert Incident.objects.count() == 1
