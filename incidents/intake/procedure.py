"""Alert intake's part of a procedure: integrations (without secrets) and the ordered
auto-triage rules with their conditions, each named by its natural key.

Integrations are listed so that a rule scoped to one can name it, and so their defaults
(severity, type, services, grouping) move with the procedure. Their secrets, accounts and
on/off switch never go into a file: importing an integration the database lacks creates it
switched off with a fresh secret; an existing one keeps its secret and switch. Like services,
integrations are never pruned: a procedure names the sources it needs, never removes a
team's own (their alerts would go with them)."""

from incidents.procedure import Children, Section, register

from .models import Integration, RuleCondition, TriageRule
from .services import integration_prepare_from_file

register(Section(
    name="integrations", model=Integration, key=("name",), order=50, prunable=False,
    exclude=("is_enabled",), prepare=integration_prepare_from_file,
    help="Sources of alerts and their defaults; never their secrets (a new one starts "
         "switched off with a fresh secret).",
))
register(Section(
    name="triage_rules", model=TriageRule, key=("slug",), order=51, retire_field="is_active",
    children=(Children(name="conditions", model=RuleCondition,
                       key=("field", "operator", "value"), parent_field="rule"),),
    help="Auto-triage rules in order: conditions on an alert, and the severity, type, "
         "services, title, visibility and paging of the incident it opens.",
))
