"""The procedure as one YAML file: export, edit, import (or preview), and a bad file changes
nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from escalation.models import EscalationPolicy, ImpactRule
from incidents.models import SeverityLevel
from incidents.procedure import ProcedureError, procedure_export, procedure_import

pytestmark = pytest.mark.django_db


def history_rows() -> int:
    return sum(model.history.count() for model in (SeverityLevel, EscalationPolicy, ImpactRule))


def edited(change) -> str:
    document = yaml.safe_load(procedure_export())
    change(document)
    return yaml.safe_dump(document, sort_keys=False)


def severity(document, code):
    return next(s for s in document["severities"] if s["code"] == code)


def test_importing_what_export_wrote_changes_nothing():
    text = procedure_export()
    before = history_rows()

    result = procedure_import(text, reason="Round trip")

    assert result.changed == []
    assert history_rows() == before
    assert procedure_export() == text


def test_export_is_readable_durations_and_references_by_code():
    document = yaml.safe_load(procedure_export())

    p1 = severity(document, "P1")
    assert p1["response_target"] == "4h" and p1["resolution_target"] == "1d"
    policy = next(p for p in document["escalation_policies"] if p["severity"] == "P1")
    # A step names its level by ladder and number; the default anchor (start) is left out.
    assert {"order": 1, "delay": "4h", "level": ["standard", 2]} == {
        k: policy["steps"][0][k] for k in ("order", "delay", "level")}
    assert "anchor" not in policy["steps"][0]
    assert all("users" not in level for level in document["escalation_levels"])  # no people


def test_an_edited_entry_is_updated_with_the_reason_in_its_history(make_user):
    manager = make_user("Manager")
    text = edited(lambda d: severity(d, "P1").update(response_target="90m"))

    result = procedure_import(text, by=manager, reason="Tighter P1 response")

    assert [str(c) for c in result.changed] == [
        "update  severities[P1]: response_target: 4h → 90m"]
    p1 = SeverityLevel.objects.get(code="P1")
    assert p1.response_target == timedelta(minutes=90)
    last = p1.history.first()
    assert (last.history_change_reason, last.history_user) == ("Tighter P1 response", manager)


def test_dry_run_shows_the_plan_and_changes_nothing():
    text = edited(lambda d: severity(d, "P0").update(name="Production down"))

    result = procedure_import(text, reason="Preview", dry_run=True)

    assert [c.where for c in result.changed] == ["severities[P0]"]
    assert not result.applied
    assert SeverityLevel.objects.get(code="P0").name == "Critical"


def test_children_in_the_file_are_the_whole_list_for_their_parent():
    def drop_last_step(document):
        policy = next(p for p in document["escalation_policies"] if p["severity"] == "P0")
        policy["steps"].pop()

    steps_before = EscalationPolicy.objects.get(severity__code="P0").steps.count()
    procedure_import(edited(drop_last_step), reason="Fewer steps")

    assert EscalationPolicy.objects.get(severity__code="P0").steps.count() == steps_before - 1


def test_a_new_entry_is_created_and_may_refer_to_earlier_sections():
    def add_rule(document):
        document["impact_rules"].append(
            {"slug": "payments-down", "name": "Payments down", "delay": "5m",
             "level": ["standard", 4],
             "conditions": [{"attribute": "revenue_impact_per_hour", "value": ""}]})

    procedure_import(edited(add_rule), reason="New rule")

    rule = ImpactRule.objects.get(name="Payments down")
    assert (rule.delay, rule.level.number) == (timedelta(minutes=5), 4)
    assert [str(c) for c in rule.conditions.all()] == ["Revenue impact per hour > 0"]


def test_fields_left_out_take_their_default():
    def shorten(document):
        rule = next(r for r in document["impact_rules"] if r["slug"] == "data-integrity")
        del rule["delay"]

    procedure_import(edited(shorten), reason="Default delay")

    assert ImpactRule.objects.get(slug="data-integrity").delay == timedelta(0)


def test_prune_deletes_unused_entries_the_file_no_longer_lists():
    def drop_rule(document):
        document["impact_rules"] = [r for r in document["impact_rules"]
                                    if r["slug"] != "compliance"]

    kept = procedure_import(edited(drop_rule), reason="Without prune")
    assert ImpactRule.objects.filter(slug="compliance").exists()
    assert any(c.where.startswith("impact_rules[Compliance") for c in kept.changes)

    procedure_import(edited(drop_rule), reason="With prune", prune=True)
    assert not ImpactRule.objects.filter(slug="compliance").exists()


def test_prune_retires_entries_the_history_of_incidents_refers_to(declare, make_user):
    from escalation import services as escalation_services

    incident = declare(severity="P1", is_compliance=True)
    rule = ImpactRule.objects.get(slug="compliance")
    escalation_services.escalation_rule_fire(rule, incident, at=incident.declared_at)
    assert rule.events.exists()

    def drop_rule(document):
        document["impact_rules"] = [r for r in document["impact_rules"]
                                    if r["slug"] != "compliance"]

    procedure_import(edited(drop_rule), reason="With prune", prune=True)

    rule.refresh_from_db()
    assert not rule.is_active and rule.events.exists()


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: severity(d, "P1").update(response_target="-4h"),
     "severities[P1]: response_target: Response target must be from"),
    (lambda d: severity(d, "P1").update(response_target=4),
     "severities[P1]: response_target: a bare number is ambiguous"),
    (lambda d: severity(d, "P1").update(colour="red"),
     "severities[P1]: unknown field 'colour'"),
    (lambda d: severity(d, "P1").update(clock="sometimes"),
     "severities[P1]: clock: Value 'sometimes' is not a valid choice."),
    (lambda d: d["impact_rules"][0].update(level=9),
     "impact_rules[compliance]: level: a reference to escalation_levels needs 2 value(s)"),
    (lambda d: d["impact_rules"][0].update(level=["standard", 9]),
     "impact_rules[compliance]: level: no entry ['standard', 9] in escalation_levels"),
    (lambda d: d["calendars"][0].update(day_start="18:00", day_end="09:00"),
     "calendars[Office hours (Amsterdam)]: day_end: The working day must end after it starts."),
    (lambda d: d.update(runbooks=[]), "Unknown section 'runbooks'"),
])
def test_a_bad_file_names_entry_and_field_and_changes_nothing(change, message):
    def change_after_a_valid_edit(document):
        severity(document, "P0").update(name="Renamed, but must not stick")
        change(document)

    with pytest.raises(ProcedureError) as refused:
        procedure_import(edited(change_after_a_valid_edit), reason="Broken")

    assert any(message in error for error in refused.value.errors), refused.value.errors
    assert SeverityLevel.objects.get(code="P0").name == "Critical"


@pytest.mark.parametrize("text", ["severities: [", "just text", "firebreak_procedure: 2\n"])
def test_a_file_that_is_not_a_procedure_is_refused_in_words(text):
    with pytest.raises(ProcedureError) as refused:
        procedure_import(text, reason="x")
    assert refused.value.errors and "Traceback" not in refused.value.errors[0]


def test_the_command_exports_and_imports_a_file(tmp_path, capsys):
    path = tmp_path / "procedure.yaml"
    call_command("procedure", "export", str(path))
    path.write_text(path.read_text().replace("response_target: 4h", "response_target: 3h", 1))

    call_command("procedure", "import", str(path), "--dry-run")
    assert "would change" in capsys.readouterr().out
    assert SeverityLevel.objects.get(code="P1").response_target == timedelta(hours=4)

    call_command("procedure", "import", str(path))
    assert SeverityLevel.objects.get(code="P1").response_target == timedelta(hours=3)
    assert SeverityLevel.objects.get(code="P1").history.first().history_change_reason == (
        f"Imported from {path}")[:100]


def test_the_command_refuses_a_bad_file_with_its_problems(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("firebreak_procedure: 1\nseverities:\n- code: P1\n  rank: -1\n")

    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("procedure", "import", str(path))
    assert "severities[P1]: rank:" in capsys.readouterr().err


def test_prune_never_takes_data_from_incidents(declare):
    from incidents.models import Service

    checkout = Service.objects.create(name="Checkout", slug="checkout")
    incident = declare(severity="P0", services=[checkout])
    items = incident.checklist_items.count()
    assert items > 0
    text = edited(lambda d: d.update(services=[], checklist_phases=[], checklists=[]))

    result = procedure_import(text, reason="Prune", prune=True)

    assert list(incident.services.all()) == [checkout]  # services are never pruned
    assert incident.checklist_items.count() == items  # an incident keeps its own checklist
    assert any(c.action == "delete" and c.where.startswith("checklist_phases") for c in result.changes)


def test_prune_deletes_configuration_nothing_uses():
    def drop_rule(document):
        document["impact_rules"] = [r for r in document["impact_rules"]
                                    if r["slug"] != "revenue"]
    ImpactRule.objects.filter(slug="revenue").update(is_active=True)

    procedure_import(edited(drop_rule), reason="Prune", prune=True)

    assert not ImpactRule.objects.filter(slug="revenue").exists()
