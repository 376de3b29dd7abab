"""Fixtures for restricted incidents: one restricted incident with its people, and an outsider
who is staff (a responder) but takes no part in it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from incidents import guards, services

SECRET_TITLE = "Exfiltration via the billing export token"


@pytest.fixture(autouse=True)
def core_guards_only():
    with guards.only_own_guards():
        yield


@pytest.fixture
def security_lead(make_user):
    """The incident manager who restricts the incident (has the visibility permission)."""
    return make_user("Incident manager", username="sam", first_name="Sam", last_name="Secure")


@pytest.fixture
def outsider(make_user):
    return make_user("Responder", username="otto", first_name="Otto", last_name="Outside")


@pytest.fixture
def restricted(declare, security_lead):
    """A restricted P1 reported by a responder, with `security_lead` as its incident manager."""
    incident = declare(title=SECRET_TITLE, severity="P1", description="Token found on a paste site.")
    incident = services.incident_assign_role(incident, by=security_lead, role="incident_manager",
                                             user=security_lead)
    return services.incident_set_visibility(incident, by=security_lead, restricted=True,
                                            reason="Security incident: need to know")


@pytest.fixture
def security_group(db):
    return Group.objects.create(name="Security team")


@pytest.fixture
def restricted_world(declare, security_lead, payments, make_user):
    """A restricted P1 declared two days ago (so its SLA is breached) with everything that hangs
    off an incident: revenue impact, clocks, an escalation, notifications, a public customer
    update, a post-mortem with an action item. Everything names SECRET_TITLE or its reference."""
    from datetime import timedelta
    from decimal import Decimal

    import time_machine
    from django.utils import timezone

    from escalation import services as escalation_services
    from escalation.models import EscalationLevel
    from incidents.warroom.communications import status_update_send
    from postmortems import services as postmortem_services

    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        incident = declare(title=SECRET_TITLE, severity="P1", services=[payments],
                           revenue_impact_per_hour=Decimal("1200.00"), customers_affected=40,
                           restricted=True)
        incident = services.incident_assign_role(incident, by=security_lead,
                                                 role="incident_manager", user=security_lead)
        level = EscalationLevel.objects.order_by("number").last()
        level.users.add(make_user("Responder"))
        escalation_services.escalation_record(incident, level=level, source="manual",
                                              reason_category="security",
                                              note=f"{SECRET_TITLE}: CISO", by=security_lead)
    status_update_send(incident, by=security_lead, audience="customer", stage="initial",
                       subject=f"{SECRET_TITLE} (customer notice)", body="We are investigating.",
                       is_public=True)
    incident = services.incident_triage(incident, by=security_lead)
    incident = services.incident_resolve(incident, by=security_lead, summary="Token revoked.")
    from postmortems.models import PostMortem

    postmortem = (PostMortem.objects.filter(incident=incident).first()  # P1: made on resolve
                  or postmortem_services.postmortem_create(incident=incident, by=security_lead))
    postmortem_services.action_item_create(
        postmortem, by=security_lead, title=f"Rotate tokens after {SECRET_TITLE}",
        owner=security_lead, due_date=timezone.localdate() + timedelta(days=7))
    services.timeline_add_note(incident, by=security_lead, text=f"Note on {SECRET_TITLE}")
    incident.refresh_from_db()
    return incident
