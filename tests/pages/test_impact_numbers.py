"""Numbers shown to stakeholders must make sense: no negative revenue or customers, and a
currency from ISO 4217 (a typed "eu" used to be accepted and shown in reports)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from incidents import services
from incidents.errors import ActionRefused
from incidents.models import Incident

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("impact, words", [
    ({"revenue_impact_per_hour": Decimal("-100")}, "cannot be negative"),
    ({"currency": "eu"}, "not an ISO 4217 currency"),
    ({"customers_affected_pct": Decimal("140")}, "between 0 and 100"),
])
def test_declaring_with_senseless_impact_is_refused_in_words(declare, impact, words):
    with pytest.raises(ActionRefused, match=words):
        declare(**impact)
    assert not Incident.objects.exists()


def test_an_impact_update_to_a_negative_revenue_changes_nothing(declare, incident_manager):
    incident = declare(revenue_impact_per_hour=Decimal("100"), currency="EUR")
    with pytest.raises(ActionRefused, match="cannot be negative"):
        services.incident_update_impact(incident, by=incident_manager,
                                        revenue_impact_per_hour=Decimal("-1"), currency="USD")
    incident.refresh_from_db()
    assert incident.revenue_impact_per_hour == 100 and incident.currency == "EUR"


def test_the_declare_form_offers_iso_currencies_and_says_what_is_wrong(
        client_for, responder, severities):
    client = client_for(responder)
    html = client.get(reverse("incidents:declare")).content.decode()
    assert '<option value="EUR" selected>EUR · Euro</option>' in html
    response = client.post(reverse("incidents:declare"), {
        "title": "Checkout down", "severity": severities["P2"].pk, "incident_type": "technical",
        "revenue_impact_per_hour": "-100", "currency": "eu",
    })
    html = response.content.decode()
    assert response.status_code == 400 and not Incident.objects.exists()
    assert "Revenue impact cannot be negative" in html
    assert "Select a valid choice. eu is not one of the available choices." in html
