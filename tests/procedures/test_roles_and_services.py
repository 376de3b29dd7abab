"""Roles as data: managers define roles and which severity x type requires them; required roles
are paged at declaration (rota, else group) and shown unfilled in the war room; services name an
owner, a technical lead and a team, and a declaration can fill roles from them."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from escalation.models import Notification, Rota, RotaMember
from incidents import services
from incidents.errors import ActionRefused
from incidents.models import IncidentRole, IncidentRoleAssignment, RoleRequirement

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def specialists(make_user, severities):
    """Seed 003: P0 pages a security auditor (a rota) and a performance engineer (a group)."""
    auditor = make_user("Responder", username="sam", first_name="Sam", last_name="Auditor")
    engineer = make_user("Responder", username="pia", first_name="Pia", last_name="Perf")
    security = IncidentRole.objects.create(code="security-auditor", name="Security auditor")
    performance = IncidentRole.objects.create(
        code="performance-engineer", name="Performance engineer",
        group=Group.objects.create(name="Performance"))
    engineer.groups.add(performance.group)
    rota = Rota.objects.create(name="Security on call", handoff_time=time(9),
                               rotation_start=START.date())
    RotaMember.objects.create(rota=rota, user=auditor)
    rota.fills_roles.add(security)
    for role in (security, performance):
        RoleRequirement.objects.create(role=role, severity=severities["P0"])
    return {"auditor": auditor, "engineer": engineer, "security": security,
            "performance": performance}


def paged(reason: str) -> set[str]:
    return set(Notification.objects.filter(reason=reason, channel="inapp")
               .values_list("recipient__username", flat=True))


def test_seed_003s_specialists_are_paged_from_their_rota_or_group_at_declaration(
    declare, specialists
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
    assert paged("role.security-auditor.required") == {"sam"}
    assert paged("role.performance-engineer.required") == {"pia"}
    entry = incident.timeline.get(kind="role", text__startswith="Required roles")
    assert "Security auditor: paged Sam Auditor" in entry.text
    assert incident.participants.filter(user=specialists["auditor"]).exists()


def test_a_lower_severity_does_not_page_specialists(declare, specialists):
    declare(severity="P1")
    assert not Notification.objects.filter(reason__startswith="role.").exists()


def test_requirements_can_be_per_type_at_any_severity(declare, specialists, incident_types):
    RoleRequirement.objects.create(role=specialists["security"],
                                   incident_type=incident_types["security"])
    declare(severity="P2", incident_type=incident_types["security"])
    assert paged("role.security-auditor.required") == {"sam"}
    assert not Notification.objects.filter(reason="role.performance-engineer.required").exists()


def test_a_required_role_with_nobody_to_page_says_so_on_the_timeline(declare, severities):
    role = IncidentRole.objects.create(code="golang-pro", name="Golang pro")
    RoleRequirement.objects.create(role=role, severity=severities["P2"])
    incident = declare(severity="P2")
    assert "Golang pro: nobody to page" in incident.timeline.get(kind="role").text


def test_the_war_room_shows_required_roles_unfilled_until_someone_takes_them(
    client_for, declare, specialists, incident_manager
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P0")
    room = reverse("warroom:room", args=[incident.reference])
    client = client_for(incident_manager)
    page = client.get(room).content.decode()
    assert page.count(">unfilled<") == 2
    response = client.post(reverse("warroom:assign_role", args=[incident.reference]), {
        "roster-role": "security-auditor", "roster-user": specialists["auditor"].pk,
        "roster-reason": "On call"})
    assert response.status_code == 302
    page = client.get(room).content.decode()
    assert page.count(">unfilled<") == 1
    assert "Sam Auditor" in page
    assignment = IncidentRoleAssignment.objects.get(incident=incident)
    assert (assignment.role.code, assignment.user) == ("security-auditor", specialists["auditor"])
    assert incident.timeline.filter(kind="role", text__contains="security auditor").exists()


def test_assigning_an_unknown_role_is_refused(declare, incident_manager):
    incident = declare()
    with pytest.raises(ActionRefused, match="Unknown role"):
        services.incident_assign_role(incident, by=incident_manager, role="astronaut",
                                      user=incident_manager)


def test_a_manager_defines_a_role_and_what_requires_it_in_the_admin(manager_client, severities,
                                                                   incident_types):
    response = manager_client.post(reverse("admin:incidents_incidentrole_add"), {
        "name": "Performance engineer", "code": "performance-engineer", "order": 5,
        "description": "Bottlenecks and load tests.",
        "requirements-TOTAL_FORMS": 1, "requirements-INITIAL_FORMS": 0,
        "requirements-MIN_NUM_FORMS": 0, "requirements-MAX_NUM_FORMS": 1000,
        "requirements-0-severity": severities["P1"].pk,
        "requirements-0-incident_type": incident_types["technical"].pk,
        "requirements-0-fill_from_service": "",
    })
    assert response.status_code == 302
    requirement = RoleRequirement.objects.get(role__code="performance-engineer")
    assert (requirement.severity.code, requirement.incident_type.code) == ("P1", "technical")
    listing = manager_client.get(reverse("admin:incidents_incidentrole_changelist"))
    assert "P1 × Technical" in listing.content.decode()


def test_built_in_roles_cannot_be_deleted(manager_client):
    role = IncidentRole.objects.get(code="incident_manager")
    response = manager_client.get(reverse("admin:incidents_incidentrole_delete", args=[role.pk]))
    assert response.status_code == 403


# --- Services: owner, technical lead, team ----------------------------------------------------


def test_seed_000s_p0_auto_assigns_the_repository_owner_and_technical_lead(
    declare, make_user, severities, payments, specialists
):
    owner = make_user("Incident manager", username="olga", first_name="Olga")
    lead = make_user("Responder", username="tom", first_name="Tom")
    payments.owner, payments.technical_lead = owner, lead
    payments.team = Group.objects.create(name="Payments team")
    payments.save()
    technical_lead = IncidentRole.objects.create(code="technical-lead", name="Technical lead")
    RoleRequirement.objects.create(role=IncidentRole.objects.get(code="incident_manager"),
                                   severity=severities["P0"], fill_from_service="owner")
    RoleRequirement.objects.create(role=technical_lead, severity=severities["P0"],
                                   fill_from_service="technical_lead")
    incident = declare(severity="P0", services=[payments])
    assert incident.incident_manager == owner
    assert incident.history.get().incident_manager == owner  # named in the declaration itself
    assert incident.role_assignments.get(role=technical_lead).user == lead
    assert {owner, lead} <= set(incident.responders.all())
    texts = list(incident.timeline.filter(kind="role").values_list("text", flat=True))
    assert "Olga is incident manager: owner of Payments." in texts
    assert "Tom is technical lead: technical lead of Payments." in texts
    # Filled roles are not paged; the unfilled specialists still are.
    assert not Notification.objects.filter(reason="role.technical-lead.required").exists()
    assert paged("role.security-auditor.required") == {"sam"}


def test_a_service_without_an_owner_leaves_the_role_to_be_paged(
    declare, severities, payments, make_user
):
    group = Group.objects.create(name="Incident commanders")
    commander = make_user("Incident manager", username="cmd")
    commander.groups.add(group)
    IncidentRole.objects.filter(code="incident_manager").update(group=group)
    RoleRequirement.objects.create(role=IncidentRole.objects.get(code="incident_manager"),
                                   severity=severities["P0"], fill_from_service="owner")
    incident = declare(severity="P0", services=[payments])
    assert incident.incident_manager is None
    assert paged("role.incident_manager.required") == {"cmd"}


def test_the_service_admin_shows_owner_lead_and_team(manager_client, payments, make_user):
    payments.owner = make_user(username="olga", first_name="Olga", last_name="Owner")
    payments.save()
    page = manager_client.get(reverse("admin:incidents_service_changelist")).content.decode()
    assert "olga" in page


def test_raising_the_severity_pages_the_roles_the_new_level_requires_once(
    declare, specialists, severities, incident_manager
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    with time_machine.travel(START + timedelta(minutes=20), tick=False):
        incident = services.incident_change_severity(
            incident, by=incident_manager, severity=severities["P0"], reason="Data at risk")
    assert paged("role.security-auditor.required") == {"sam"}
    assert paged("role.performance-engineer.required") == {"pia"}
    assert incident.participants.filter(user=specialists["engineer"]).exists()

    # Down and up again: the specialists were called already and are not paged twice.
    incident = services.incident_change_severity(
        incident, by=incident_manager, severity=severities["P1"], reason="Contained")
    services.incident_change_severity(
        incident, by=incident_manager, severity=severities["P0"], reason="Spread again")
    assert Notification.objects.filter(reason="role.security-auditor.required",
                                       channel="inapp").count() == 1
    assert incident.timeline.filter(kind="role", text__startswith="Required roles").count() == 1


def test_changing_the_type_pages_the_roles_the_new_type_requires(
    declare, specialists, incident_types, incident_manager
):
    RoleRequirement.objects.create(role=specialists["security"],
                                   incident_type=incident_types["security"])
    incident = declare(severity="P2")
    assert not Notification.objects.filter(reason__startswith="role.").exists()

    services.incident_update_impact(incident, by=incident_manager,
                                    incident_type=incident_types["security"],
                                    reason="It is a breach")

    assert paged("role.security-auditor.required") == {"sam"}
