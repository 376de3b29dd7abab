"""Types, roles with their requirements, rotas that fill roles, and optional SLA targets go
through the procedure file: export then import changes nothing."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group

from escalation.models import Rota
from incidents.models import IncidentRole, RoleRequirement, SeverityLevel
from incidents.procedure.files import procedure_export, procedure_import

pytestmark = pytest.mark.django_db


def test_roles_types_and_no_sla_levels_round_trip_without_changes(severities, incident_types):
    role = IncidentRole.objects.create(code="security-auditor", name="Security auditor",
                                       group=Group.objects.create(name="Security team"))
    RoleRequirement.objects.create(role=role, severity=severities["P0"])
    RoleRequirement.objects.create(role=role, incident_type=incident_types["security"])
    Rota.objects.create(name="Security on call").fills_roles.add(role)
    SeverityLevel.objects.filter(code="P3").update(response_target=None, resolution_target=None)
    SeverityLevel.objects.filter(code="P0").update(response_target=timedelta(0))

    text = procedure_export(name="Seed 003")
    assert "security-auditor" in text and "required_for" in text and "restricted_by_default" in text
    plan = procedure_import(text, reason="Round trip", dry_run=True)
    assert {change.action for change in plan.changes} == {"keep"}
    assert "roles[security-auditor].required_for[None, security]" in {
        change.where for change in plan.changes}


def test_a_file_with_an_absurd_target_names_the_field_and_range(severities):
    text = procedure_export(name="x").replace("resolution_target: 4h",
                                              "resolution_target: 999999999d", 1)
    with pytest.raises(Exception) as refused:
        procedure_import(text, reason="Typo")
    assert "Resolution target must be from 1m to 1 year." in str(refused.value.errors)
    assert SeverityLevel.objects.get(code="P0").resolution_target == timedelta(hours=4)
