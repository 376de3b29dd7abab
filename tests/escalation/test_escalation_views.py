"""The manual escalation and acknowledgement pages: permission-checked, errors shown on the
page, nothing written on bad input."""

import pytest
from django.urls import reverse

from escalation.models import EscalationEvent

pytestmark = pytest.mark.django_db


def escalate_url(incident) -> str:
    return reverse("escalation:escalate", kwargs={"reference": incident.reference})


def test_a_responder_escalates_an_incident_from_its_page(client, declare, responder, levels):
    incident = declare(severity="P2")
    client.force_login(responder)
    response = client.post(escalate_url(incident), {
        "level": levels[3].pk, "reason_category": "resources", "note": "Need a DBA"})
    assert response.status_code == 302
    event = EscalationEvent.objects.get(incident=incident)
    assert (event.level, event.reason_category, event.by) == (levels[3], "resources", responder)


def test_form_errors_are_shown_and_nothing_is_escalated(client, declare, responder, levels):
    incident = declare(severity="P2")
    client.force_login(responder)
    response = client.post(escalate_url(incident), {"level": levels[2].pk, "note": "  "})
    assert response.status_code == 200
    form = response.context["escalate_form"]
    assert "reason_category" in form.errors and "note" in form.errors
    assert "This field is required" in response.content.decode()
    assert not EscalationEvent.objects.exists()


def test_escalating_a_closed_out_incident_is_refused_on_the_form(
    client, declare, incident_manager, levels
):
    from incidents import services

    incident = declare(severity="P2")
    services.incident_cancel(incident, by=incident_manager, reason="False alarm")
    client.force_login(incident_manager)
    response = client.post(escalate_url(incident), {
        "level": levels[2].pk, "reason_category": "complexity", "note": "Help"})
    assert response.status_code == 200
    assert "can no longer be escalated" in response.content.decode()
    assert not EscalationEvent.objects.exists()


def test_people_without_the_permission_cannot_escalate(client, declare, product_manager, levels):
    incident = declare(severity="P2")
    client.force_login(product_manager)
    response = client.post(escalate_url(incident), {
        "level": levels[2].pk, "reason_category": "complexity", "note": "Help"})
    assert response.status_code == 403
    assert not EscalationEvent.objects.exists()


def test_an_unknown_incident_is_a_404(client, responder):
    client.force_login(responder)
    response = client.get(reverse("escalation:escalate", kwargs={"reference": "INC-1999-0001"}))
    assert response.status_code == 404


def test_the_htmx_form_returns_only_the_form_part(client, declare, responder, levels):
    incident = declare(severity="P2")
    client.force_login(responder)
    response = client.post(escalate_url(incident), {"level": levels[2].pk},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert f'id="escalate-{incident.reference}"' in response.content.decode()


def test_acknowledge_button_acknowledges_and_a_refusal_becomes_a_message(
    client, declare, responder, staffed_levels, levels
):
    incident = declare(severity="P2")
    client.force_login(responder)
    client.post(escalate_url(incident), {"level": levels[2].pk, "reason_category": "security",
                                         "note": "Possible breach"})
    event = EscalationEvent.objects.get()
    url = reverse("escalation:acknowledge",
                  kwargs={"reference": incident.reference, "pk": event.pk})
    refused = client.post(url, follow=True)
    assert "Only people at L2" in refused.content.decode()
    client.force_login(staffed_levels[2])
    page = client.get(escalate_url(incident))
    assert url in page.content.decode()  # the button is offered to the level
    client.post(url)
    event.refresh_from_db()
    assert event.acknowledged_by == staffed_levels[2]


def test_the_form_offers_the_level_above_the_one_engaged(client, declare, responder, levels):
    """It used to offer L1 even while L2 was already on the incident (looked like a step down)."""
    from escalation import services
    from escalation.forms import EscalateForm

    incident = declare(severity="P2")
    assert EscalateForm(incident=incident)["level"].value() is None  # nothing engaged: first
    services.incident_escalate(incident, by=responder, level=levels[2],
                               reason_category="complexity", note="Need the team lead")
    assert EscalateForm(incident=incident)["level"].value() == levels[3].pk
    client.force_login(responder)
    html = client.get(escalate_url(incident)).content.decode()
    assert f'<option value="{levels[3].pk}" selected>' in html
    services.incident_escalate(incident, by=responder, level=levels[4],
                               reason_category="resources", note="Budget")
    assert EscalateForm(incident=incident)["level"].value() == levels[4].pk  # top: stays
