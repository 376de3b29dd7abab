"""Message templates: every seeded template renders with the incident's data, leaves no
placeholder behind, and a manager's broken template is a clear error, never a 500."""

import re

import pytest
from django.core.exceptions import ValidationError

from incidents import services
from incidents.models import MessageTemplate
from incidents.warroom.communications import incident_message_context, message_render
from incidents.warroom.rendering import MessageRenderError, message_context, render_text

pytestmark = pytest.mark.django_db

VARIABLE = re.compile(r"{{\s*(\w+)")


@pytest.fixture
def resolved_p0(p0, incident_manager):
    incident = services.incident_update_impact(p0, by=incident_manager,
                                               workaround="Pay by bank transfer")
    incident = services.incident_triage(incident, by=incident_manager)
    for gate in incident.checklist_items.filter(blocks="resolve"):
        gate.done_at = gate.added_at
        gate.save()
    return services.incident_resolve(incident, by=incident_manager,
                                     summary="Rolled back release 42")


def seeded_template_names():
    from incidents.warroom.defaults import MESSAGE_TEMPLATES

    return [spec[0] for spec in MESSAGE_TEMPLATES]


def test_every_audience_and_stage_has_a_seeded_template(db):
    pairs = set(MessageTemplate.objects.values_list("audience", "stage"))
    assert pairs == {(a, s) for a in ("customer", "stakeholders", "executives", "team")
                     for s in ("initial", "update", "resolution")}


@pytest.mark.parametrize("name", seeded_template_names())
def test_every_seeded_template_renders_the_incidents_data(name, resolved_p0):
    template = MessageTemplate.objects.get(name=name)
    subject, body = message_render(template, resolved_p0)
    context = incident_message_context(resolved_p0, template.audience)
    for text in (subject, body):
        assert "{{" not in text and "}}" not in text and "{%" not in text
    used = set(VARIABLE.findall(template.subject + template.body))
    assert used, "a template without data is not a template"
    for variable in used:
        assert context[variable] in subject + body, variable
    assert resolved_p0.reference in subject + body or "Payments" in subject + body


def test_the_rendered_data_reads_well(resolved_p0):
    context = message_context(resolved_p0)
    assert context["severity"] == "P0 – Critical"
    assert context["services"] == "Payments"
    assert context["revenue_impact"] == "4,500.00 EUR per hour"
    assert context["workaround"] == "Pay by bank transfer"
    assert context["resolution"] == "Rolled back release 42"
    assert context["incident_manager"] == "Ivan Manager"
    assert re.match(r"\w{3} \d{1,2} \w{3} \d{4}, \d{2}:\d{2}", context["detected_at"])


def test_a_broken_template_is_refused_when_a_manager_saves_it(db):
    template = MessageTemplate(name="Broken", audience_id="team", stage="update",
                               subject="{{ reference }", body="{% if reference %}no end")
    with pytest.raises(ValidationError) as error:
        template.full_clean()
    assert set(error.value.message_dict) == {"subject", "body"}
    assert "syntax error" in error.value.message_dict["body"][0]


def test_templates_cannot_reach_outside_their_context(db):
    for source in ("{% load humanize %}", "{% debug %}", "{% include 'base.html' %}",
                   "{% url 'admin:index' %}"):
        with pytest.raises(MessageRenderError):
            render_text(source, {})
    assert render_text("{{ settings.SECRET_KEY }}{{ user.password }}", {"reference": "x"}) == ""


def test_a_template_broken_in_the_database_is_a_form_error_on_the_compose_page(
        p0, incident_manager, client_for):
    broken = MessageTemplate.objects.create(name="Broken", audience_id="team", stage="update",
                                            subject="Update", body="{% if state %}unclosed")
    response = client_for(incident_manager).get(
        f"/war-room/{p0.reference}/messages/new/?template={broken.pk}")
    assert response.status_code == 400
    assert "cannot be used" in response.content.decode()
    assert "syntax error" in response.content.decode()


def test_the_compose_panel_names_the_template_but_not_where_its_wording_came_from(
        p0, incident_manager, client_for):
    # "Seed 004 'Initial Issue Notification'" is for managers in the admin, not for responders.
    template = MessageTemplate.objects.get(name="Stakeholders: initial issue notification")
    assert template.source
    response = client_for(incident_manager).get(
        f"/war-room/{p0.reference}/messages/new/?template={template.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "From template “Stakeholders: initial issue notification”." in html
    assert "Seed 0" not in html
