"""A person acting on an incident locks its row only as much as two people acting on it need
to take turns (issue 16), on real PostgreSQL with a second connection: while a triage is under
way, the timer sweep can still queue news about the incident (rows that refer to it take a
key-share lock on it), which with the stronger FOR UPDATE deadlocked the sweep. Seen to fail
with `no_key=True` dropped from `incidents.services._lock`."""

from __future__ import annotations

import pytest
from django.db import transaction

from escalation.models import Notification
from incidents import services
from incidents.models import Incident

from tests.conftest import COMMITTED_DB
from tests.second_connection import meanwhile, meanwhile_news_of


@pytest.mark.postgres
@COMMITTED_DB
def test_a_triage_under_way_holds_up_no_news_of_the_incident_but_a_second_action_waits(
    postgres, declare, incident_manager, responder
):
    incident = declare(severity="P2")
    with transaction.atomic():
        services.incident_triage(incident, by=incident_manager, incident_manager=incident_manager)
        meanwhile_news_of(incident, to=responder)
        # Two people acting on one incident still take turns: a second triage waits.
        with pytest.raises(Exception, match="lock timeout"):
            meanwhile(lambda: services.incident_triage(
                Incident.objects.get(pk=incident.pk), by=responder))
    assert Notification.objects.filter(reason="test.meanwhile", recipient=responder).exists()
    assert Incident.objects.get(pk=incident.pk).state == Incident.State.TRIAGED
