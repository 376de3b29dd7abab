"""Sending a status update locks the incident's row only as much as it must (issue 16), on
real PostgreSQL with a second connection: while it runs, the timer sweep can still queue news
about the incident (rows that refer to it take a key-share lock on it) and a manager can still
edit the incident's severity level. Seen to fail with `no_key=True` or `of=("self",)` dropped."""

from __future__ import annotations

import pytest
from django.db import transaction

from escalation.models import Notification
from incidents.models import StatusUpdate
from incidents.warroom.communications import status_update_send

from tests.conftest import COMMITTED_DB
from tests.second_connection import meanwhile_a_severity_edit, meanwhile_news_of


@pytest.mark.postgres
@COMMITTED_DB
def test_sending_an_update_holds_up_neither_news_of_the_incident_nor_its_severity_level(
    postgres, p0, incident_manager, responder
):
    with transaction.atomic():
        status_update_send(p0, by=incident_manager, audience="stakeholders", stage="update",
                           subject="Checkout degraded", body="We rolled back.")
        meanwhile_news_of(p0, to=responder)
        renamed = meanwhile_a_severity_edit(p0)
    assert renamed == 1
    assert Notification.objects.filter(reason="test.meanwhile", recipient=responder).exists()
    assert StatusUpdate.objects.filter(incident=p0, subject="Checkout degraded").exists()
