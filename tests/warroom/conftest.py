"""War-room fixtures: a P0 incident with its roster, and subscribers."""

from __future__ import annotations

import pytest

from incidents import services
from incidents.models import AudienceSubscription, Service


@pytest.fixture
def p0(declare, incident_manager, payments):
    """A P0 incident on Payments with an incident manager; the manager leads communications."""
    incident = declare(title="Checkout down for everyone", severity="P0", services=[payments],
                       customers_affected=1200, revenue_impact_per_hour=4500,
                       is_customer_facing=True)
    incident = services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)
    return incident


@pytest.fixture
def internal_service(db):
    return Service.objects.create(name="Ledger batch jobs", slug="ledger", is_public=False)


@pytest.fixture
def subscribe():
    def make(audience: str, *, user=None, group=None, contact=None, service=None,
             min_severity=None):
        return AudienceSubscription.objects.create(
            audience_id=audience, contact=contact, user=user, group=group, service=service,
            min_severity=min_severity)

    return make
