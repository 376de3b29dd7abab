"""Which message templates the war room offers for an incident, in which order, which one the
resolution prompt suggests, and what a template knows of the audience's cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents import services
from incidents.models import Audience, CommunicationCadence, MessageTemplate, StatusUpdate
from incidents.warroom.communications import (
    message_render,
    next_update_due,
    public_resolution_prompt,
    status_update_send,
    templates_for,
)
from incidents.warroom.rendering import format_datetime
from tests.postmortems.conftest import tick_required_checklists

pytestmark = pytest.mark.django_db


def template(name, audience="customer", stage="initial", **fields):
    return MessageTemplate.objects.create(name=name, audience_id=audience, stage=stage,
                                          subject=name, body="News.", **fields)


def test_the_war_room_offers_the_active_templates_of_the_incidents_severity_and_type(
        p0, severities, incident_types):
    MessageTemplate.objects.update(is_active=False)
    p0 = services.incident_update_impact(p0, by=p0.incident_manager,
                                         incident_type=incident_types["security"])
    offered = {template("any"), template("for P0", severity=severities["P0"]),
               template("for security", incident_type=incident_types["security"])}
    template("for P1", severity=severities["P1"])
    template("for technical", incident_type=incident_types["technical"])
    template("retired", is_active=False)

    assert set(templates_for(p0)) == offered


def test_the_offered_templates_go_by_audience_then_stage_then_severity_then_name(p0, severities):
    MessageTemplate.objects.update(is_active=False)
    first, second = (Audience.objects.filter(slug__in=["customer", "stakeholders"])
                     .order_by("order", "name").values_list("slug", flat=True))
    written_first = template("b", audience=first, stage="initial")
    expected = [
        template("z for P0", audience=first, stage="initial", severity=severities["P0"]),
        template("a", audience=first, stage="initial"),
        written_first,
        template("0 resolution", audience=first, stage="resolution"),
        template("0 update", audience=first, stage="update"),
        template("0 for the second audience", audience=second, stage="initial"),
    ]
    assert list(templates_for(p0)) == expected


@pytest.fixture
def resolved_after_two_public_updates(p0, incident_manager):
    """Two public updates sent in the same second, then the incident resolved."""
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False):
        for subject in ("Investigating", "Fix rolling out"):
            status_update_send(p0, by=incident_manager, audience="customer", stage="update",
                               subject=subject, body="Next update soon.", is_public=True)
    p0 = services.incident_triage(p0, by=incident_manager)
    tick_required_checklists(p0)
    return services.incident_resolve(p0, by=incident_manager, summary="Rolled back.")


def test_the_resolution_prompt_quotes_the_latest_public_update(resolved_after_two_public_updates):
    incident = resolved_after_two_public_updates
    assert public_resolution_prompt(incident).last_public.subject == "Fix rolling out"

    # The latest by when it was sent, not by when it was written down.
    StatusUpdate.objects.filter(subject="Investigating").update(
        sent_at=datetime(2026, 3, 2, 10, 5, tzinfo=UTC))
    assert public_resolution_prompt(incident).last_public.subject == "Investigating"


def test_the_resolution_prompt_suggests_the_resolution_template_of_an_audience_that_publishes(
        resolved_after_two_public_updates):
    board = Audience.objects.create(slug="board", name="Board", order=0, may_publish=False)
    assert board.order <= Audience.objects.get(slug="customer").order
    template("Board resolution", audience="board", stage="resolution")
    public = MessageTemplate.objects.get(audience="customer", stage="resolution",
                                         severity=None, incident_type=None)

    assert public_resolution_prompt(resolved_after_two_public_updates).template == public


def test_a_template_tells_when_the_audience_hears_next_and_how_often(p0, severities):
    CommunicationCadence.objects.create(
        slug="p0-stakeholders-fast", severity=severities["P0"],
        interval=timedelta(minutes=10)).audiences.add(Audience.objects.get(slug="stakeholders"))
    used = template("Cadence", audience="stakeholders", stage="update")
    used.body = "Next update {{ next_update }}, {{ update_cadence }}."
    used.save()

    _, body = message_render(used, p0)

    due = next_update_due(p0, "stakeholders")
    assert due is not None
    assert body == f"Next update {format_datetime(due)}, every 10 min."
