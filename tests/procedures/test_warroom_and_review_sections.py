"""The war room's and the reviews' configuration travels in the procedure file: audiences,
cadences with their business-hours flag and several audiences, the review agenda, the
follow-up tasks and the reminder offsets; contacts (people) never do."""

from __future__ import annotations

import pytest
import yaml

from incidents.models import Audience, CommunicationCadence, Contact
from incidents.procedure import procedure_export, procedure_import
from postmortems.models import ReviewAgendaItem, ReviewReminder

pytestmark = pytest.mark.django_db


def test_the_file_carries_audiences_cadences_and_the_review_procedure_but_no_contacts():
    Contact.objects.create(name="Client", email="client@example.org")
    document = yaml.safe_load(procedure_export())
    assert {a["slug"] for a in document["audiences"]} >= {"customer", "stakeholders",
                                                         "executives", "team"}
    p0 = next(c for c in document["cadences"] if c["slug"] == "p0-stakeholders")
    assert p0["audiences"] == ["stakeholders"] and not p0.get("business_hours_only")
    assert [a.get("minutes", 0) for a in document["review_agenda"]] == [20, 30, 20, 20, 0]
    assert {r["slug"] for r in document["review_reminders"]} == {
        "review-reminder", "action-item-reminder", "action-item-escalation"}
    assert "client@example.org" not in yaml.safe_dump(document)


def test_edited_cadence_agenda_and_offset_import_and_round_trip():
    document = yaml.safe_load(procedure_export())
    document["audiences"].append({"slug": "clients", "name": "Clients", "description": "",
                                  "includes_incident_team": False, "may_publish": False,
                                  "order": 9, "is_active": True})
    p2 = next(c for c in document["cadences"] if c["slug"] == "p2-stakeholders")
    p2.update(interval="2h", business_hours_only=True, audiences=["stakeholders", "clients"])
    next(a for a in document["review_agenda"] if a["slug"] == "went_well")["minutes"] = 25
    next(r for r in document["review_reminders"]
         if r["slug"] == "action-item-reminder")["offset"] = "3d"
    text = yaml.safe_dump(document, sort_keys=False)

    procedure_import(text, reason="Seed 004 P2 cadence")

    cadence = CommunicationCadence.objects.get(slug="p2-stakeholders")
    assert cadence.business_hours_only and cadence.interval.total_seconds() == 7200
    assert sorted(a.slug for a in cadence.audiences.all()) == ["clients", "stakeholders"]
    assert Audience.objects.filter(slug="clients").exists()
    assert ReviewAgendaItem.objects.get(slug="went_well").minutes == 25
    assert ReviewReminder.objects.get(slug="action-item-reminder").offset.days == 3
    exported = procedure_export()
    assert procedure_import(exported, reason="Round trip").changed == []
