"""Message template variables: escalation level and reason, team members with roles,
duration, next update time; and the template editor lists every variable (including those
the post-mortems add) with what it means."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation.models import EscalationLevel
from escalation.services import incident_escalate
from incidents import services
from incidents.models import MessageTemplate
from incidents.warroom.communications import message_render
from incidents.warroom.rendering import VARIABLES, message_context

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def render(incident, body, audience="stakeholders"):
    template = MessageTemplate.objects.create(name=f"T{MessageTemplate.objects.count()}",
                                              audience_id=audience, stage="update",
                                              subject="s", body=body)
    return message_render(template, incident)[1]


def test_every_variable_is_in_the_context_and_every_context_value_is_listed(p0):
    context = message_context(p0)
    assert set(context) == set(VARIABLES)
    for name in ("escalation_level", "escalation_reason", "team_members", "duration",
                 "next_update", "revenue_restored", "roi", "postmortem_url"):
        assert name in VARIABLES and VARIABLES[name]


def test_the_template_editor_lists_every_variable_with_its_description(manager, client_for):
    html = client_for(manager).get("/admin/incidents/messagetemplate/add/").content.decode()
    for name, description in VARIABLES.items():
        assert f"{{{{ {name} }}}}" in html, name
        assert description.split(",")[0].replace("'", "&#x27;") in html, name


def test_seed_004_templates_carry_escalation_level_reason_and_team_members(
        declare, incident_manager, responder):
    """Seed 004 "Initial Issue Notification": Escalation Reason; "Status Update Template":
    Team Members Involved: [List with roles], Escalation Status: [Current escalation level]."""
    body = ("Escalation reason: {{ escalation_reason }}\n"
            "Escalation status: {{ escalation_level }}\n"
            "Team members involved: {{ team_members }}")
    incident = declare(severity="P2")  # no impact rule escalates it at once
    before = render(incident, body)
    assert "Escalation reason: not escalated" in before
    assert "Escalation status: not escalated" in before
    for role, person in (("incident_manager", incident_manager),
                         ("communications_lead", responder)):
        incident = services.incident_assign_role(incident, by=incident_manager, role=role,
                                                 user=person)
    level = EscalationLevel.objects.order_by("number")[1]
    incident_escalate(incident, by=incident_manager, level=level, reason_category="complexity",
                      note="Needs the database team")
    after = render(incident, body)
    assert f"Escalation status: {level}" in after
    assert "Escalation reason: Complexity: Needs the database team" in after
    assert "Ivan Manager (incident manager" in after
    assert "Rita Responder (communications lead" in after


def test_duration_and_next_update_time(declare, incident_manager):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0", detected_at=START - timedelta(minutes=30))
    with time_machine.travel(START + timedelta(minutes=45), tick=False):
        body = render(incident, "{{ duration }} | {{ next_update }}")
    assert body.startswith("1 h 15 min | ")
    assert "2026" in body.split(" | ")[1]
