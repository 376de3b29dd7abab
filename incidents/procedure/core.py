"""The incident core's part of a procedure: severity levels, incident types, services and roles
with the severities x types that require them."""

from ..models import IncidentRole, IncidentType, RoleRequirement, Service, SeverityLevel
from .registry import Children, Section, register

register(Section(
    name="severities", model=SeverityLevel, key=("code",), order=20, retire_field="is_active",
    help="Severity levels with their SLA targets, clock and review rules.",
))
register(Section(
    name="incident_types", model=IncidentType, key=("code",), order=20,
    retire_field="is_active",
    help="Kinds of incident (seed 004's categories); restricted_by_default for security.",
))
register(Section(
    name="services", model=Service, key=("slug",), order=20, prunable=False,
    help="Systems incidents affect, and which are critical paths; people are set in the admin.",
))
register(Section(
    name="roles", model=IncidentRole, key=("code",), order=30,
    children=(Children(name="required_for", model=RoleRequirement,
                       key=("severity", "incident_type"), parent_field="role"),),
    help="Roles on an incident, the group paged for each, and which severity x type "
         "requires it (empty: any).",
))
