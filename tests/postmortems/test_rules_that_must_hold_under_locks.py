"""Scheduling a review locks the incident's row only as much as it must (issue 16), on real
PostgreSQL with a second connection: while it runs, the timer sweep can still queue news about
the incident (rows that refer to it take a key-share lock on it) and a manager can still edit
the incident's severity level. Seen to fail with `no_key=True` or `of=("self",)` dropped."""

from __future__ import annotations

import pytest
from django.db import transaction

from escalation.models import Notification
from postmortems import services

from tests.conftest import COMMITTED_DB
from tests.second_connection import meanwhile_a_severity_edit, meanwhile_news_of


@pytest.mark.postgres
@COMMITTED_DB
def test_scheduling_a_review_holds_up_neither_news_of_the_incident_nor_its_severity_level(
    postgres, resolved, incident_manager, responder
):
    incident = resolved("P2")  # a P2 needs no review: it is scheduled by hand
    with transaction.atomic():
        services.postmortem_create(incident=incident, by=incident_manager)
        meanwhile_news_of(incident, to=responder)
        renamed = meanwhile_a_severity_edit(incident)
    assert renamed == 1
    assert Notification.objects.filter(reason="test.meanwhile", recipient=responder).exists()
    assert incident.postmortem.owner == incident_manager
