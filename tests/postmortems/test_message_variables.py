"""Message template variables the reviews add: revenue restored and ROI as `roi` defines
them, and the post-mortem's link, which never reaches a contact."""

from decimal import Decimal

import pytest
from django.test import override_settings

from escalation.models import Notification
from incidents.models import Audience, AudienceSubscription, Contact, MessageTemplate
from incidents.warroom.communications import message_render, status_update_send
from postmortems import services as postmortem_services

pytestmark = pytest.mark.django_db

SITE = "https://firebreak.example.org"


def render(incident, body, audience="stakeholders"):
    template = MessageTemplate.objects.create(name=f"T{MessageTemplate.objects.count()}",
                                              audience_id=audience, stage="update",
                                              subject="s", body=body)
    return message_render(template, incident)[1]


@override_settings(SITE_URL=SITE)
def test_seed_000_stakeholder_update_carries_revenue_restored_and_roi(
        resolved, incident_manager, responder):
    """Seed 000 "Stakeholder Update Template": "Business Impact: €[amount] potential revenue
    restored ... ROI: Resolution cost €[amount], revenue restored €[amount]/month"."""
    incident = resolved("P1", revenue_impact_per_hour=Decimal("4500"))
    body = ("Business impact: {{ revenue_restored }} potential revenue restored\n"
            "ROI: resolution cost {{ resolution_cost }}, {{ roi }}\n"
            "Post-mortem: {{ postmortem_url }}")
    postmortem = incident.postmortem
    postmortem_services.postmortem_update(
        postmortem, by=responder, section="business_impact",
        resolution_hours=Decimal("10"), hourly_rate=Decimal("100"),
        after_revenue_impact=Decimal("0"), revenue_restored_period="month")
    text = render(incident, body)
    # roi.py: restored per month = (4500 - 0) x 720 h; cost = 10 h x 100;
    # ROI = (3,240,000 - 1,000) / 1,000 x 100.
    assert "Business impact: EUR 3,240,000.00 per month potential revenue restored" in text
    assert "ROI: resolution cost EUR 1,000.00, 323,900.00%" in text
    assert f"Post-mortem: {SITE}{incident.postmortem.get_absolute_url()}" in text


def test_before_a_review_the_figures_come_from_the_incident_alone(declare):
    incident = declare(severity="P2", revenue_impact_per_hour=Decimal("100"))
    text = render(incident, "{{ revenue_restored }} | {{ roi }} | {{ postmortem_url }}")
    assert text == ("EUR 72,000.00 per month | not calculated yet | "
                    "to follow when the review is scheduled")


@override_settings(SITE_URL=SITE)
def test_the_post_mortem_link_never_reaches_a_contact(resolved, incident_manager):
    Audience.objects.create(slug="clients", name="Clients")
    AudienceSubscription.objects.create(
        audience_id="clients", contact=Contact.objects.create(name="Client", email="c@example.org"))
    incident = resolved("P1")
    body = render(incident, "Review: {{ postmortem_url }}", audience="clients")
    assert incident.postmortem.get_absolute_url() in body
    status_update_send(incident, by=incident_manager, audience="clients", stage="resolution",
                       subject="Resolved", body=body)
    mail = Notification.objects.get(to_address="c@example.org")
    assert incident.postmortem.get_absolute_url() not in mail.body
