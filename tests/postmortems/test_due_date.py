"""An action item's due date is a calendar date: the assignment, the lists and the item's page
all name the same day, even when it is given late in the evening (a date once read as a UTC
midnight showed a day early on the list)."""

from datetime import date

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from escalation.models import Notification
from postmortems.models import ActionItem

pytestmark = pytest.mark.django_db


def test_the_due_date_is_the_same_day_in_the_assignment_and_on_every_list(
        resolved, client, incident_manager, responder):
    review = resolved("P1").postmortem
    reference = review.incident.reference
    client.force_login(incident_manager)
    # Sunday 29 November 2026, 23:30 in Amsterdam: already Sunday 22:30 UTC, Monday is tomorrow.
    with time_machine.travel("2026-11-29 22:30:00+00:00", tick=False):
        response = client.post(reverse("postmortems:action_item_create", args=[reference]), {
            "title": "Check configuration keys in CI", "owner": responder.pk,
            "due_date": "2026-11-30", "priority": "medium", "kind": "prevention",
        })
        assert response.status_code == 302, response.content.decode()[:2000]
        item = ActionItem.objects.get()
        assert item.due_date == date(2026, 11, 30)
        assignment = Notification.objects.get(
            content_type=ContentType.objects.get_for_model(ActionItem), reason="action_item.assigned",
            recipient=responder, channel=Notification.Channel.INAPP)
        assert "Mon 30 Nov 2026" in assignment.title
        for page in (reverse("postmortems:action_items"), reverse("postmortems:detail", args=[reference])):
            html = client.get(page).content.decode()
            assert "Mon 30 Nov 2026" in html, page
            assert "Sun 29 Nov 2026" not in html, page
