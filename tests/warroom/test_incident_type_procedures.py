"""Checklists, cadences and message templates can be for one incident type (seed 004's security
incident steps, seed 003's root-cause steps by category): incidents of that type get them,
others do not, and an incident whose type changes follows."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
import yaml

from incidents import services
from incidents.models import (
    Audience,
    ChecklistPhase,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ChecklistTemplatePhase,
    CommunicationCadence,
    MessageTemplate,
)
from incidents.procedure import ProcedureError, procedure_export, procedure_import
from incidents.warroom.communications import next_update_due, templates_for

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CLASSIFY = "Determine if personal or sensitive data is involved"
PROFILE = "System performance profiling and bottleneck identification"


def checklist(slug, *, incident_type, text, severity=None):
    phase = ChecklistPhase.objects.create(slug=f"{slug}-phase", name=slug.title(),
                                          ends_after=timedelta(minutes=15))
    ChecklistTemplateItem.objects.create(phase=phase, code="first", text=text)
    template = ChecklistTemplate.objects.create(slug=slug, name=slug.title(), severity=severity,
                                                incident_type=incident_type)
    ChecklistTemplatePhase.objects.create(template=template, phase=phase)
    return template


@pytest.fixture
def seed_004_checklists(incident_types):
    """Seed 004: "Security Incident Escalation, Immediate Response (0-15 minutes)" and the
    performance issue assessment, each for its own kind of issue only."""
    checklist("security-immediate", incident_type=incident_types["security"], text=CLASSIFY)
    checklist("performance-assessment", incident_type=incident_types["technical"], text=PROFILE)


def texts(incident):
    return set(incident.checklist_items.values_list("text", flat=True))


def test_an_incident_gets_the_checklists_of_its_type_only(declare, incident_types,
                                                         seed_004_checklists):
    security = declare(title="Token leaked", incident_type=incident_types["security"])
    technical = declare(title="Slow exports", incident_type=incident_types["technical"])
    assert CLASSIFY in texts(security) and PROFILE not in texts(security)
    assert PROFILE in texts(technical) and CLASSIFY not in texts(technical)
    # Checklists for every type still apply to both.
    assert texts(security) & texts(technical)


def test_changing_the_type_adds_the_new_types_steps_and_no_longer_requires_the_old_ones(
        declare, incident_manager, incident_types, seed_004_checklists):
    with time_machine.travel(START, tick=False):
        incident = declare(title="Slow exports", incident_type=incident_types["technical"])
    later = START + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        incident = services.incident_update_impact(
            incident, by=incident_manager, incident_type=incident_types["security"],
            reason="It is an attack")
    assert CLASSIFY in texts(incident)
    assert not incident.checklist_items.get(text=PROFILE).applies
    item = incident.checklist_items.get(text=CLASSIFY)
    assert item.due_at == later + timedelta(minutes=15), "its window starts with the change"
    entry = incident.timeline.get(text__contains="after the type changed from Technical to Security")
    assert entry.author == incident_manager


def test_ticked_steps_of_the_old_type_stay_as_a_record(
        declare, incident_manager, incident_types, seed_004_checklists):
    from incidents.warroom.services import checklist_item_set_done

    incident = declare(title="Slow exports", incident_type=incident_types["technical"])
    checklist_item_set_done(incident.checklist_items.get(text=PROFILE), by=incident_manager,
                            done=True)
    incident = services.incident_update_impact(
        incident, by=incident_manager, incident_type=incident_types["security"])
    assert {PROFILE, CLASSIFY} <= texts(incident)


def test_a_cadence_for_one_type_times_only_incidents_of_that_type(
        declare, incident_manager, incident_types, severities):
    """Seed 004's security matrix: executives within the hour for a security P1."""
    cadence = CommunicationCadence.objects.create(
        slug="p1-security-executives", severity=severities["P1"],
        incident_type=incident_types["security"], interval=timedelta(minutes=30))
    cadence.audiences.set([Audience.objects.get(slug="executives")])
    with time_machine.travel(START, tick=False):
        security = declare(title="Token leaked", incident_type=incident_types["security"],
                           by=incident_manager)
        technical = declare(title="Slow exports", incident_type=incident_types["technical"])
    assert next_update_due(security, "executives") == START + timedelta(minutes=30)
    default_executives = next_update_due(technical, "executives")
    assert default_executives is None or default_executives > START + timedelta(minutes=30)

    later = START + timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        technical = services.incident_update_impact(
            technical, by=incident_manager, incident_type=incident_types["security"])
    assert next_update_due(technical, "executives") == later + timedelta(minutes=30)


def test_a_message_template_for_one_type_is_offered_for_that_type_only(
        declare, incident_types):
    template = MessageTemplate.objects.create(
        name="Security: breach notice", audience_id="customer", stage="initial",
        incident_type=incident_types["security"], subject="{{ reference }}",
        body="We are investigating a security issue.")
    security = declare(title="Token leaked", incident_type=incident_types["security"])
    technical = declare(title="Slow exports", incident_type=incident_types["technical"])
    assert template in templates_for(security)
    assert template not in templates_for(technical)
    assert templates_for(technical).exists(), "templates for every type are still offered"


def test_the_type_travels_in_the_procedure_file(incident_types, severities,
                                                seed_004_checklists):
    CommunicationCadence.objects.create(
        slug="p1-security", severity=severities["P1"], incident_type=incident_types["security"],
        interval=timedelta(hours=1)).audiences.set([Audience.objects.get(slug="executives")])
    document = yaml.safe_load(procedure_export())
    entry = next(c for c in document["checklists"] if c["slug"] == "security-immediate")
    assert entry["incident_type"] == "security"
    assert next(c for c in document["cadences"]
                if c["slug"] == "p1-security")["incident_type"] == "security"
    assert "incident_type" not in next(c for c in document["cadences"]
                                       if c["slug"] == "p0-stakeholders")
    assert procedure_import(procedure_export(), reason="Round trip").changed == []

    document["message_templates"].append({
        "name": "Security: breach notice", "audience": "customer", "stage": "initial",
        "incident_type": "securty", "subject": "s", "body": "b"})
    with pytest.raises(ProcedureError) as error:
        procedure_import(yaml.safe_dump(document), reason="Typo")
    assert any("message_templates[Security: breach notice]: incident_type" in e
               for e in error.value.errors), error.value.errors


def test_managers_set_the_type_in_the_admin(manager, client_for, incident_types):
    client = client_for(manager)
    for url in ("/admin/incidents/checklisttemplate/add/",
                "/admin/incidents/communicationcadence/add/",
                "/admin/incidents/messagetemplate/add/",
                "/admin/incidents/communicationcadence/?incident_type__id__exact="
                f"{incident_types['security'].pk}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "type" in response.content.decode().lower()
