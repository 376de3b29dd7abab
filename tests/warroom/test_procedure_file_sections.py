"""The war room's and the reviews' configuration travels in the procedure file: audiences,
contacts (people without a login) with the audiences they hear from, cadences with their
business-hours flag and several audiences, message templates, the review agenda, the
follow-up tasks and the reminder offsets; user accounts never do."""

from __future__ import annotations

import pytest
import yaml

from escalation.models import Notification
from incidents.models import Audience, CommunicationCadence, Contact
from incidents.procedure import ProcedureError, procedure_export, procedure_import
from incidents.warroom.communications import status_update_send
from postmortems.models import ReviewAgendaItem, ReviewReminder

pytestmark = pytest.mark.django_db


def test_the_file_carries_audiences_contacts_cadences_and_the_review_procedure_but_no_accounts(
        subscribe, make_user, payments, severities):
    contact = Contact.objects.create(name="Client", email="client@example.org",
                                     organisation="Example Aid")
    subscribe("customer", contact=contact)
    subscribe("stakeholders", contact=contact, service=payments, min_severity=severities["P1"])
    subscribe("executives", user=make_user(username="exec-one"))
    document = yaml.safe_load(procedure_export())
    assert {a["slug"] for a in document["audiences"]} >= {"customer", "stakeholders",
                                                         "executives", "team"}
    assert document["contacts"] == [{
        "email": "client@example.org", "name": "Client", "organisation": "Example Aid",
        "subscriptions": [{"audience": "customer", "service": None},
                          {"audience": "stakeholders", "service": "payments",
                           "min_severity": "P1"}],
    }]
    p0 = next(c for c in document["cadences"] if c["slug"] == "p0-stakeholders")
    assert p0["audiences"] == ["stakeholders"] and not p0.get("business_hours_only")
    assert [a.get("minutes", 0) for a in document["review_agenda"]] == [20, 30, 20, 20, 0]
    assert {r["slug"] for r in document["review_reminders"]} == {
        "review-reminder", "action-item-reminder", "action-item-escalation"}
    text = yaml.safe_dump(document)
    assert "exec-one" not in text
    assert procedure_import(procedure_export(), reason="Round trip").changed == []


def test_seed_002s_clients_come_with_the_file_and_get_updates_by_e_mail(
        p0, incident_manager):
    """Seed 002: the PM updates clients directly. A preset names the audience, the contacts
    and the template; sending from the war room reaches them by e-mail."""
    document = yaml.safe_load(procedure_export())
    document["audiences"].append({"slug": "clients", "name": "Clients", "order": 9})
    document["contacts"] = [{"email": "Ops@Client.example", "name": "Client ops",
                             "subscriptions": [{"audience": "clients"}]}]
    document["message_templates"].append({
        "name": "Clients: update", "audience": "clients", "stage": "update",
        "subject": "{{ reference }}: {{ title }}", "body": "Next update {{ next_update }}."})
    procedure_import(yaml.safe_dump(document, sort_keys=False), reason="Seed 002 clients")

    contact = Contact.objects.get()
    assert contact.email == "ops@client.example"
    status_update_send(p0, by=incident_manager, audience="clients", stage="update",
                       subject="Payouts delayed", body="We are on it.")
    assert Notification.objects.filter(to_address="ops@client.example",
                                       reason="comms.status_update").exists()
    assert procedure_import(procedure_export(), reason="Round trip").changed == []


def test_a_contact_naming_an_unknown_audience_is_refused_naming_the_entry():
    document = yaml.safe_load(procedure_export())
    document["contacts"] = [{"email": "x@client.example", "name": "X",
                             "subscriptions": [{"audience": "nobody"}]}]
    with pytest.raises(ProcedureError) as error:
        procedure_import(yaml.safe_dump(document), reason="Typo")
    assert any("contacts[x@client.example].subscriptions[nobody]" in e and "audience" in e
               for e in error.value.errors), error.value.errors
    assert not Contact.objects.exists()


def test_a_file_without_contacts_leaves_a_teams_contacts_alone_even_when_pruning():
    Contact.objects.create(name="Client", email="client@example.org")
    document = yaml.safe_load(procedure_export())
    document["contacts"] = []
    procedure_import(yaml.safe_dump(document), reason="Preset", prune=True)
    assert Contact.objects.get().is_active


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
