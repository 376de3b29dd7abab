"""Messages and figures read like a person wrote them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents.templatetags.firebreak import duration


@pytest.mark.parametrize("value, shown", [
    (timedelta(seconds=0), "less than a minute"),
    (timedelta(seconds=59), "less than a minute"),
    (timedelta(minutes=30), "30m"),
    (timedelta(hours=1, minutes=30), "1h 30m"),
    (timedelta(days=2, hours=3), "2d 3h"),
])
def test_durations_never_say_zero_minutes(value, shown):
    """"0m left" and "Overdue by 0m" read as nonsense."""
    assert duration(value) == shown


@pytest.mark.django_db
def test_a_description_has_a_stated_limit(client_for, responder, severities):
    client = client_for(responder)
    html = client.get("/incidents/declare/").content.decode()
    assert 'maxlength="5000"' in html and "up to 5,000 characters" in html
    response = client.post("/incidents/declare/", {
        "title": "Long", "description": "x" * 5001, "severity": severities["P3"].pk,
        "incident_type": "technical", "currency": "EUR"})
    assert response.status_code == 400
    assert "Ensure this value has at most 5000 characters (it has 5001)." in response.content.decode()


@pytest.mark.django_db
def test_the_incident_page_formats_numbers_one_way(client_for, responder, declare):
    from decimal import Decimal

    incident = declare(by=responder, customers_affected=5200,
                       revenue_impact_per_hour=Decimal("12500"), currency="EUR")
    html = client_for(responder).get(incident.get_absolute_url()).content.decode()
    assert "5,200" in html and "12,500.00 EUR per hour" in html
