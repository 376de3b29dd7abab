"""Declaring an incident is the costly part of alert intake (issue 11): its query count is
pinned, and the cheaper path must leave exactly what the general one did."""

from __future__ import annotations

import pytest

from escalation.models import Deadline
from incidents.models import IncidentChecklistItem

pytestmark = pytest.mark.django_db

# 156 before the new-incident path; a P1 with the seeded procedure now takes 47: 44, plus
# the stored SLA outcome of each of its two clocks and the reports' version moved on.
P1_DECLARATION_QUERIES = 47


def test_declaring_a_p1_takes_a_bounded_number_of_queries(
    declare, django_assert_max_num_queries, postgres
):
    declare(title="Warm-up: content types and permissions are cached after the first")
    with django_assert_max_num_queries(P1_DECLARATION_QUERIES):
        declare(severity="P1")


def test_a_new_incident_gets_its_timers_and_checklist_history_without_cancelling_any(declare):
    incident = declare(severity="P1")
    timers = Deadline.objects.filter(incident=incident)
    assert timers.exists()
    assert not timers.filter(cancelled_at__isnull=False).exists()
    keys = list(timers.values_list("key", flat=True))
    assert len(keys) == len(set(keys))  # each timer scheduled once
    items = IncidentChecklistItem.objects.filter(incident=incident).order_by("position")
    assert list(items.values_list("position", flat=True)) == list(range(1, items.count() + 1))
    for item in items:
        assert item.history.count() == 1
        assert item.history.get().history_type == "+"
