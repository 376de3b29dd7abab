"""Severities as the seeds write them: optional SLA targets ("no SLA"), an "immediate" response,
the at-risk share per severity, which severities mean firefighting, and how each shows on the
public status page."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from escalation import selectors
from escalation.deadlines import deadlines_sweep
from escalation.models import EscalationPolicy, Notification, SlaClock
from incidents import services
from incidents.models import SeverityLevel
from incidents.reports import metrics
from incidents.reports.periods import ReportPeriod
from incidents.selectors import firefighting_incidents
from incidents.statuspage.selectors import status_page
from incidents.warroom.communications import status_update_send

from .conftest import admin_form_data

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
JUNE = ReportPeriod(datetime(2026, 6, 1).date(), datetime(2026, 6, 30).date())


@pytest.fixture
def configure(severities):
    """configure("P3", response_target=None): change a level as a manager would, so that
    incidents declared afterwards (with the `severities` instances) see the change."""

    def change(code: str, **fields) -> SeverityLevel:
        level = severities[code]
        for name, value in fields.items():
            setattr(level, name, value)
        level.save()
        return level

    return change


def clocks(incident) -> dict[str, SlaClock]:
    return {clock.kind: clock for clock in SlaClock.objects.filter(incident=incident)}


def sla_panel(incident, user) -> str:
    request = RequestFactory().get("/")
    request.user, request.htmx = user, False
    return render_to_string("escalation/_sla_clocks.html", {"incident": incident},
                            request=request)


@pytest.fixture
def managed(declare, incident_manager):
    def _declare(**kwargs):
        incident = declare(**kwargs)
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)
    return _declare


# --- No SLA ----------------------------------------------------------------------------------


def test_seed_000s_sprint_and_backlog_levels_have_no_sla_no_clock_and_no_breach(
    declare, responder, configure):
    """Seed 000: P2 "sprint", P3 "backlog" carry no SLA numbers."""
    configure("P3", response_target=None, resolution_target=None)
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P3")
    assert clocks(incident) == {}
    with time_machine.travel(START + 400 * DAY, tick=False):
        deadlines_sweep()
    assert not Notification.objects.filter(reason__startswith="sla.").exists()
    panel = sla_panel(incident, responder)
    assert panel.count("no SLA") == 2


def test_seed_003s_response_only_targets_start_only_a_response_clock(declare, configure):
    """Seed 003 gives response times and no resolution targets."""
    configure("P1", resolution_target=None)
    incident = declare(severity="P1")
    assert set(clocks(incident)) == {"response"}


def test_no_sla_incidents_count_neither_met_nor_breached_in_compliance(
    declare, incident_manager, severities, configure):
    configure("P3", response_target=None, resolution_target=None)
    with time_machine.travel(START, tick=False):
        declare(severity="P3")  # never acknowledged: would be "breached" with any target
        met = declare(severity="P1")
        services.incident_assign_role(met, by=incident_manager, role="incident_manager",
                                      user=incident_manager)
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_triage(met, by=incident_manager)
    with time_machine.travel(START + 400 * DAY, tick=False):
        summary = metrics.report_summary(JUNE, metrics.ReportFilters())
    figures = summary.declared
    assert (figures["response_met"], figures["response_breached"],
            figures["response_no_sla"]) == (1, 0, 1)
    assert figures["response_compliance_pct"] == 100


def test_a_manager_can_leave_targets_empty_in_the_admin(manager_client, severities):
    url = reverse("admin:incidents_severitylevel_change", args=[severities["P3"].pk])
    data = admin_form_data(manager_client.get(url))
    data.update(response_target="", resolution_target="", change_reason="Backlog: no SLA")
    assert manager_client.post(url, data).status_code == 302
    level = SeverityLevel.objects.get(code="P3")
    assert (level.response_target, level.resolution_target) == (None, None)
    listing = manager_client.get(reverse("admin:incidents_severitylevel_changelist"))
    assert "no SLA" in listing.content.decode()


def test_moving_to_a_level_without_an_sla_stops_the_clock_and_back_starts_one(
    declare, incident_manager, severities, configure):
    configure("P3", response_target=None, resolution_target=None)
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    with time_machine.travel(START + HOUR, tick=False):
        incident = services.incident_change_severity(
            incident, by=incident_manager, severity=severities["P3"], reason="Cosmetic")
    assert {k: c.stopped_at for k, c in clocks(incident).items()} == {
        "response": START + HOUR, "resolution": START + HOUR}
    with time_machine.travel(START + 30 * DAY, tick=False):
        deadlines_sweep()
    assert all(c.breached_at is None for c in clocks(incident).values())


def test_raising_a_no_sla_incident_starts_its_clocks_from_the_declaration(
    declare, incident_manager, severities, configure):
    configure("P3", response_target=None, resolution_target=None)
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P3")
    with time_machine.travel(START + HOUR, tick=False):
        services.incident_change_severity(incident, by=incident_manager,
                                          severity=severities["P1"], reason="Spreading")
    running = clocks(incident)
    assert running["response"].due_at == START + 4 * HOUR
    assert running["resolution"].due_at == START + DAY


# --- Immediate response ----------------------------------------------------------------------


def test_seed_003s_immediate_response_pages_at_once_and_never_breaches(
    managed, incident_manager, staffed_levels, configure):
    """Seed 003's P0: "Response Time: Immediate". A target of 0 used to breach at the first
    sweep; now it pages the first level at declaration and records the time to acknowledge."""
    EscalationPolicy.objects.update(is_active=False)
    configure("P0", response_target=timedelta(0))
    with time_machine.travel(START, tick=False):
        incident = managed(severity="P0")
    paged = Notification.objects.filter(reason="sla.response.immediate", channel="inapp")
    assert staffed_levels[1].username in set(paged.values_list("recipient__username", flat=True))
    assert paged.get(recipient=staffed_levels[1]).created_at == START
    assert incident.timeline.filter(kind="sla", text__contains="immediate response").exists()

    with time_machine.travel(START + 5 * MINUTE, tick=False):
        deadlines_sweep()
        assert selectors.clock_status(clocks(incident)["response"]).status == "immediate"
        assert not selectors.incidents_with_breached_sla().exists()
    with time_machine.travel(START + 7 * MINUTE, tick=False):
        services.incident_triage(incident, by=incident_manager)
    response = clocks(incident)["response"]
    assert (response.met_at, response.breached_at, response.breach_by) == (
        START + 7 * MINUTE, None, None)
    assert selectors.clock_status(response).label == "Acknowledged"
    assert not Notification.objects.filter(reason="sla.response.breached").exists()
    with time_machine.travel(START + DAY, tick=False):
        row = metrics.with_figures(incident.__class__.objects.filter(pk=incident.pk)).get()
    assert (row.response_sla, row.time_to_acknowledge) == (metrics.NO_SLA, 7 * 60)


def test_immediate_is_typed_and_shown_as_immediate_in_the_admin(manager_client, severities):
    url = reverse("admin:incidents_severitylevel_change", args=[severities["P0"].pk])
    data = admin_form_data(manager_client.get(url))
    data.update(response_target="immediate", change_reason="Seed 003")
    assert manager_client.post(url, data).status_code == 302
    assert SeverityLevel.objects.get(code="P0").response_target == timedelta(0)
    form = manager_client.get(url).context["adminform"].form
    assert form["response_target"].value() == "immediate"


# --- At-risk share ---------------------------------------------------------------------------


def test_each_severity_has_its_own_at_risk_share_and_the_setting_is_the_default(
    declare, settings, configure):
    settings.FIREBREAK_SLA_AT_RISK_SHARE = 0.5
    configure("P0", at_risk_percent=25)
    with time_machine.travel(START, tick=False):
        p0 = declare(severity="P0")  # 1 h response
        p1 = declare(severity="P1")  # 4 h response, no share of its own
    assert clocks(p0)["response"].at_risk_at == START + 15 * MINUTE
    assert clocks(p1)["response"].at_risk_at == START + 2 * HOUR


# --- Firefighting ----------------------------------------------------------------------------


def test_seed_002_firefighting_starts_when_triage_confirms_the_severity(
    managed, incident_manager, severities, configure):
    """Seed 002: firefighting mode from confirmation until resolved (unconfirmed reports do
    not count); the default P0 counts from declaration, as before."""
    configure("P1", firefighting=SeverityLevel.Firefighting.FROM_CONFIRMATION)
    p0 = managed(severity="P0", title="Payments down")
    p1 = managed(severity="P1", title="Registration slow")
    managed(severity="P2", title="Typo")
    assert [i.title for i in firefighting_incidents(incident_manager)] == ["Payments down"]
    services.incident_triage(p1, by=incident_manager)
    assert [i.title for i in firefighting_incidents(incident_manager)] == ["Payments down", "Registration slow"]
    configure("P0", firefighting=SeverityLevel.Firefighting.NO)
    assert [i.title for i in firefighting_incidents(incident_manager)] == ["Registration slow"]
    assert p0.is_open


def test_the_firefighting_banner_follows_the_setting(client, responder, managed, configure):
    managed(severity="P1", title="Registration slow")
    client.force_login(responder)
    assert "firefighting-banner" not in client.get(reverse("incidents:list")).content.decode()
    configure("P1", firefighting=SeverityLevel.Firefighting.FROM_DECLARATION)
    assert "firefighting-banner" in client.get(reverse("incidents:list")).content.decode()


# --- Public status page ----------------------------------------------------------------------


def test_each_severity_says_how_it_shows_on_the_status_page(declare, payments, configure,
                                                            incident_manager):
    configure("P2", public_status=SeverityLevel.PublicStatus.OUTAGE)
    configure("P0", public_status=SeverityLevel.PublicStatus.OPERATIONAL)

    def announce(incident):  # the status page shows confirmed, announced incidents only
        services.incident_triage(incident, by=incident_manager, incident_manager=incident_manager)
        status_update_send(incident, by=incident_manager, audience="customer", stage="update",
                           subject="Investigating", body="More soon.", is_public=True)

    announce(declare(severity="P0", services=[payments]))
    assert status_page()["services"][0].status == "operational"
    announce(declare(severity="P2", services=[payments]))
    assert status_page()["services"][0].status == "outage"


def test_by_default_the_top_level_is_an_outage_and_firefighting_as_before(severities):
    top = severities["P0"]
    assert (top.public_status, top.firefighting) == ("outage", "declared")
    assert {(level.public_status, level.firefighting) for code, level in severities.items()
            if code != "P0"} == {("degraded", "no")}
