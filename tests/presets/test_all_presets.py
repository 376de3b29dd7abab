"""What holds for every shipped preset: it loads on a fresh install, a second load changes
nothing, the demo data fits it, its roles reach people who may act, and switching presets
keeps open incidents with their history and clocks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command

from escalation.deadlines import deadlines_sweep
from escalation.models import SlaClock
from incidents import services
from incidents.models import Incident, IncidentRole, ProcedureRevision, SeverityLevel
from incidents.procedure.presets import presets
from incidents.warroom.communications import can_send_updates
from postmortems.exports import postmortem_markdown
from postmortems.models import PostMortem

from .conftest import MONDAY_MORNING

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
SHIPPED = ["carbot-resolution", "escalation-procedures", "incident-response", "issue-response",
           "platform-121-critical-issues"]


def test_the_five_seed_procedures_ship_as_presets():
    assert sorted(p.slug for p in presets()) == SHIPPED
    assert all(p.description for p in presets())


@pytest.mark.parametrize("slug", SHIPPED)
def test_a_preset_loads_once_and_the_demo_fits_it(slug, load_preset, settings, capsys):
    load_preset(slug)
    assert load_preset(slug).changed == []
    assert ProcedureRevision.active().preset == slug

    settings.DEBUG = True
    call_command("seed_demo")
    capsys.readouterr()
    demo = Incident.objects.all()
    assert demo.exists()
    assert not demo.filter(severity__is_active=False).exists()


@pytest.mark.parametrize("slug", SHIPPED)
def test_whoever_a_preset_pages_for_a_role_may_do_that_roles_work(slug, load_preset, make_user,
                                                                   incident_manager):
    """No person is asked to do what they may not do: someone of each paged role's group is
    assigned the role and can then do its work (the communications lead sends updates)."""
    load_preset(slug)
    incident = services.incident_declare(by=incident_manager, title="Checkout fails",
                                         severity=SeverityLevel.top())
    for role in IncidentRole.objects.filter(requirements__isnull=False).distinct():
        assert role.group_id, f"{role} is required but pages no group"
        person = make_user(Group.objects.get(pk=role.group_id).name, username=f"r-{role.code}")
        services.incident_assign_role(incident, by=incident_manager, role=role.code, user=person)
        incident.refresh_from_db()
        if role.code == "communications_lead":
            assert can_send_updates(person, incident), f"{role}: may not send updates"
        else:
            assert person.has_perm("incidents.work_incident"), f"{role}: may not work on it"


def test_switching_through_every_preset_keeps_an_open_incident_and_its_clocks(
        load_preset, declare):
    load_preset(SHIPPED[0])
    with time_machine.travel(MONDAY_MORNING, tick=False):
        incident = declare(severity="P0")
    clocks = list(SlaClock.objects.filter(incident=incident).values_list("kind", "due_at"))
    timeline = incident.timeline.count()

    for slug in SHIPPED[1:] + SHIPPED[:1]:
        load_preset(slug)

    incident.refresh_from_db()
    assert incident.state == "reported"
    assert list(SlaClock.objects.filter(incident=incident).values_list("kind", "due_at")) == clocks
    assert incident.timeline.count() == timeline
    assert SeverityLevel.objects.filter(pk=incident.severity_id).exists()


# How each preset's top severity reaches its first responders: a response SLA that can breach,
# or seed 003's and 004's "immediate" response, which pages the first level at declaration.
# Seed 002 sets no SLA numbers; its daily log checker is asked to triage (test_platform_121).
TOP_RESPONSE = {"carbot-resolution": "breach", "issue-response": "breach",
                "incident-response": "immediate", "escalation-procedures": "immediate"}


@pytest.mark.parametrize("slug", sorted(TOP_RESPONSE))
def test_an_untriaged_top_severity_incident_reaches_someone_who_may_triage(
        slug, load_preset, make_user, declare_at):
    """On a fresh install of each preset, with one person in each group: a responder reports
    at the top severity and nobody triages. Whoever is paged at once (immediate response) or
    told of the breached response SLA includes someone who may triage it."""
    load_preset(slug)
    for group in Group.objects.exclude(name="Responder"):
        make_user(group.name, username=f"in-{group.name.lower().replace(' ', '-')}")
    top = SeverityLevel.top()
    incident, walk = declare_at(MONDAY_MORNING, top)

    if TOP_RESPONSE[slug] == "immediate":
        assert top.response_target == timedelta(0)
        reason = "sla.response.immediate"
    else:
        with time_machine.travel(MONDAY_MORNING + top.response_target + 7 * DAY, tick=False):
            deadlines_sweep()  # a week on: past a response SLA counted in business hours too
        walk.since_last()
        reason = "sla.response.breached"
    told = [n for n in walk.fired if n.reason.startswith(reason) and n.channel == "inapp"
            and n.incident_id == incident.pk]

    assert told, f"{slug}: nobody was told ({reason})"
    assert any(n.recipient.has_perm("incidents.triage_incident") for n in told), (
        f"{slug}: only {sorted(n.recipient.username for n in told)} were told, none may triage")


# Each document's report: its title and headings in its order (seed 001's review template and
# seed 003's incident report word for word; 000, 002 and 004 as their review steps describe).
REPORT_LAYOUTS = {
    "issue-response": ("Post-Incident Review: Checkout fails", [
        "Incident Summary", "Impact", "Timeline", "Root Cause", "Resolution",
        "Prevention Measures", "Lessons Learned", "Action Items for the Team",
        "Follow-up Tasks"]),
    "incident-response": ("Incident Report - 2026-06-15", [
        "Summary", "Timeline", "Impact", "Root Cause", "Resolution", "Prevention",
        "Action Items"]),
    "carbot-resolution": ("Incident Report - 2026-06-15: {reference} Checkout fails", [
        "Summary", "Timeline", "Impact", "Root Cause", "Resolution",
        "Business Impact Validation", "Process Improvements", "Action Items"]),
    "platform-121-critical-issues": ("Post-Mortem: {reference} Checkout fails", [
        "Summary", "Timeline", "Impact", "Findings", "Resolution", "Lessons Learned",
        "Action Items", "Follow-up Tasks"]),
    "escalation-procedures": ("Incident Report - 2026-06-15: {reference} Checkout fails", [
        "Summary", "Impact", "Timeline of Events and Decisions",
        "What Went Well and What Could Be Improved", "Root Cause Analysis", "Resolution",
        "Improvement Actions", "Process Improvements", "Follow-up Actions"]),
}


@pytest.mark.parametrize("slug", SHIPPED)
def test_a_presets_review_report_comes_out_in_its_documents_layout(slug, load_preset,
                                                                    declare_at):
    load_preset(slug)
    incident, _ = declare_at(MONDAY_MORNING, SeverityLevel.top())
    postmortem = PostMortem.objects.create(incident=incident, title="Checkout fails")

    lines = postmortem_markdown(postmortem).splitlines()

    title, headings = REPORT_LAYOUTS[slug]
    assert lines[0] == "# " + title.format(reference=incident.reference)
    assert [line[3:] for line in lines if line.startswith("## ")] == headings
