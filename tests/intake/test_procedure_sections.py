"""Auto-triage rules and integrations are procedure-file sections: rules by slug with their
conditions, integrations by name without their secrets. Export then import changes nothing; a
database without them gets them back from the file (an integration switched off, with a fresh
secret); a bad rule names its entry and field and nothing is applied; prune retires rules that
alerts refer to; the issue-response preset's rules are seed 001's."""

from __future__ import annotations

import pytest
import yaml
from django.contrib.auth.models import Group

from escalation.models import Rota
from incidents.intake.models import Alert, Integration, RuleCondition, TriageRule
from incidents.models import Incident, IncidentRole
from incidents.procedure import ProcedureError, procedure_export, procedure_import
from incidents.procedure.presets import preset_load

from . import payloads

pytestmark = pytest.mark.django_db


@pytest.fixture
def configured(make_integration, severities, incident_types, payments):
    """An integration with a default type and service, and two rules: one scoped to it that
    sets severity, type and services, restricts and pages a rota, a group and a role; one for
    every integration that suppresses (instead of the default rules the database starts with)."""
    TriageRule.objects.all().delete()
    integration = make_integration("alertmanager", name="Prometheus prod",
                                   default_type=incident_types["technical"],
                                   group_by="alertname, cluster")
    integration.default_services.set([payments])
    security = Group.objects.create(name="Security team")
    auditor = IncidentRole.objects.create(code="security-auditor", name="Security auditor",
                                          group=security)
    rota = Rota.objects.create(name="Security on call")
    rule = TriageRule.objects.create(
        order=10, name="Security alerts", slug="security-alerts", integration=integration,
        set_severity=severities["P0"], set_type=incident_types["security"],
        title_template="{labels.alertname} on {labels.service}", page_rota=rota,
        page_group=security, restrict=True)
    rule.set_services.set([payments])
    rule.page_roles.set([auditor])
    rule.restrict_to_groups.set([security])
    rule.conditions.create(field="labels.alertname", operator="regex", value="^Security")
    rule.conditions.create(field="labels.team", operator="present", value="")
    noise = TriageRule.objects.create(order=20, name="Watchdog", slug="watchdog", suppress=True)
    noise.conditions.create(field="labels.alertname", operator="eq", value="Watchdog")
    return integration


def test_rules_and_integrations_round_trip_without_changes(configured):
    text = procedure_export(name="Intake")
    document = yaml.safe_load(text)
    rule = next(r for r in document["triage_rules"] if r["slug"] == "security-alerts")
    assert rule["integration"] == "Prometheus prod" and rule["set_type"] == "security"
    assert rule["page_roles"] == ["security-auditor"] and rule["page_rota"] == "security-on-call"
    assert rule["conditions"] == [
        {"field": "labels.alertname", "operator": "regex", "value": "^Security"},
        {"field": "labels.team", "operator": "present", "value": ""}]
    (integration,) = document["integrations"]
    assert integration["default_type"] == "technical"
    # A file carries no secret, no account and no on/off switch.
    assert not {"secret_hash", "secret_hint", "account", "public_id", "is_enabled"} & set(
        integration)
    assert configured.secret_hash not in text and configured.secret not in text

    plan = procedure_import(text, reason="Round trip", dry_run=True)
    assert {change.action for change in plan.changes} == {"keep"}
    assert "triage_rules[security-alerts].conditions[labels.team, present, ]" in {
        change.where for change in plan.changes}
    applied = procedure_import(text, reason="Round trip")
    assert applied.changed == []


def test_a_database_without_them_gets_them_back_and_a_new_integration_starts_off(configured):
    text = procedure_export(name="Intake")
    old_hash = configured.secret_hash
    TriageRule.objects.all().delete()
    Integration.objects.all().delete()

    result = procedure_import(text, reason="New installation")
    created = {change.where: change for change in result.changes if change.action == "create"}
    assert "rotate it in the admin" in " ".join(
        created["integrations[Prometheus prod]"].details)
    integration = Integration.objects.get(name="Prometheus prod")
    assert not integration.is_enabled
    assert integration.secret_hash and integration.secret_hash != old_hash
    assert integration.account.username.startswith("integration-")
    assert integration.default_type.code == "technical"
    rule = TriageRule.objects.get(slug="security-alerts")
    assert rule.integration == integration and rule.set_type.code == "security"
    assert [r.code for r in rule.page_roles.all()] == ["security-auditor"]
    assert sorted(str(c) for c in rule.conditions.all()) == [
        "labels.alertname matches regex ^Security", "labels.team is present"]
    assert rule.history.first().history_change_reason == "New installation"
    assert procedure_import(procedure_export(), reason="Again").changed == []


def test_an_existing_integration_keeps_its_secret_and_switch(configured):
    text = procedure_export().replace("group_by: alertname, cluster", "group_by: alertname")
    Integration.objects.filter(pk=configured.pk).update(is_enabled=False)
    result = procedure_import(text, reason="Group by alert name only")
    assert [str(c) for c in result.changed] == [
        "update  integrations[Prometheus prod]: group_by: 'alertname, cluster' → 'alertname'"]
    configured.refresh_from_db()
    assert configured.group_by == "alertname" and not configured.is_enabled
    assert configured.secret_hash == Integration.objects.get(pk=configured.pk).secret_hash


@pytest.mark.parametrize("old, new, message", [
    ("value: ^Security", "value: (unclosed",
     "triage_rules[security-alerts].conditions[labels.alertname, regex, (unclosed]: value: "
     "Not a valid regular expression"),
    ("set_severity: P0", "set_severity: P9",
     "triage_rules[security-alerts]: set_severity: no entry 'P9' in severities."),
    ("operator: present", "operator: near",
     "triage_rules[security-alerts].conditions[labels.team, near, ]: operator: Value 'near' "
     "is not a valid choice."),
    ("order: 10", "order: -3",
     "triage_rules[security-alerts]: order: Ensure this value is greater than or equal to 0."),
])
def test_a_bad_rule_names_entry_and_field_and_nothing_is_applied(configured, old, new,
                                                                  message):
    text = procedure_export()
    assert old in text
    document = yaml.safe_load(text.replace(old, new, 1))
    document["triage_rules"][1]["name"] = "Watchdog alerts"
    document["triage_rules"].append({"slug": "brand-new", "name": "Brand new rule"})
    with pytest.raises(ProcedureError) as refused:
        procedure_import(yaml.safe_dump(document), reason="Typo")
    assert any(error.startswith(message) for error in refused.value.errors), \
        refused.value.errors
    assert TriageRule.objects.get(slug="watchdog").name == "Watchdog"
    assert not TriageRule.objects.filter(slug="brand-new").exists()
    assert RuleCondition.objects.filter(value="^Security").exists()


def test_prune_retires_a_rule_alerts_refer_to_and_deletes_an_unused_one(configured, post):
    post(configured, payloads.alertmanager(payloads.am_alert("Watchdog", fingerprint="w1"),
                                           group_key="watchdog"))
    assert Alert.objects.get().rule.slug == "watchdog"
    document = yaml.safe_load(procedure_export())
    document["triage_rules"] = []

    plan = procedure_import(yaml.safe_dump(document), reason="No rules", prune=True,
                            dry_run=True)
    assert {str(c) for c in plan.changed} == {
        "retire  triage_rules[Watchdog]: still used, so switched off",
        "delete  triage_rules[Security alerts]"}
    assert TriageRule.objects.count() == 2
    procedure_import(yaml.safe_dump(document), reason="No rules", prune=True)
    watchdog = TriageRule.objects.get()
    assert not watchdog.is_active and Alert.objects.get().rule == watchdog
    assert watchdog.history.first().history_change_reason == "No rules"
    assert Integration.objects.filter(pk=configured.pk).exists()  # never pruned


@pytest.mark.parametrize("annotations, severity", [
    ({"error_rate": "7.3"}, "P0"),
    ({"critical_errors": "2"}, "P0"),
    ({"users_affected_pct": "30"}, "P1"),
    ({"error_rate": "4.9", "users_affected_pct": "25"}, "P3"),  # the integration's default
])
def test_the_issue_response_presets_rules_triage_as_seed_001_says(make_integration, post,
                                                                   annotations, severity):
    preset_load("issue-response", reason="Seed 001")
    integration = make_integration("alertmanager", name="Deploy monitor",
                                   default_severity=None)
    post(integration, payloads.alertmanager(payloads.am_alert(
        "FeatureErrors", annotations=annotations)))
    incident = Incident.objects.get()
    assert incident.severity.code == severity
    items = {item.text for item in incident.checklist_items.all()}
    # A P0 comes with seed 001's rollback steps.
    assert ("Automatic rollback triggered" in items) is (severity == "P0")
