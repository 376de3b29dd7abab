"""Switching procedures: presets by name, the record of the active procedure, and the admin's
preview and switch."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from escalation.models import ImpactRule
from incidents.models import IncidentType, ProcedureRevision, SeverityLevel
from incidents.procedure import presets as preset_module
from incidents.procedure import procedure_export, procedure_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def preset_dir(tmp_path, monkeypatch):
    """One preset: today's configuration, P1 renamed and without the compliance rule."""
    document = yaml.safe_load(procedure_export())
    document["name"] = "Strict response"
    document["description"] = "A test procedure."
    next(s for s in document["severities"] if s["code"] == "P1")["name"] = "Major"
    document["impact_rules"] = [r for r in document["impact_rules"]
                                if r["slug"] != "compliance"]
    (tmp_path / "strict-response.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    monkeypatch.setattr(preset_module, "PRESET_DIR", tmp_path)
    return tmp_path


def test_loading_a_preset_makes_it_the_active_procedure(preset_dir, make_user):
    manager = make_user("Manager")

    result = preset_module.preset_load("strict-response", by=manager, reason="Adopt it")

    assert SeverityLevel.objects.get(code="P1").name == "Major"
    assert not ImpactRule.objects.filter(slug="compliance").exists()  # unused: deleted
    active = ProcedureRevision.active()
    assert (active.name, active.preset, active.applied_by, active.reason) == (
        "Strict response", "strict-response", manager, "Adopt it")
    assert "severities[P1]" in active.changes
    assert len(result.changed) == 2


def test_loading_the_same_preset_twice_changes_nothing_the_second_time(preset_dir):
    preset_module.preset_load("strict-response", reason="First")
    history = SeverityLevel.history.count()

    again = preset_module.preset_load("strict-response", reason="Second")

    assert again.changed == []
    assert SeverityLevel.history.count() == history


def test_an_unknown_preset_names_the_ones_there_are(preset_dir):
    with pytest.raises(CommandError, match="The presets are: strict-response"):
        call_command("procedure", "load", "strickt")


def test_the_command_lists_presets_and_marks_the_active_one(preset_dir, capsys):
    call_command("procedure", "load", "strict-response")
    capsys.readouterr()

    call_command("procedure", "presets")

    out = capsys.readouterr().out
    assert "* strict-response" in out and "Active: Strict response" in out


def test_a_manager_previews_a_preset_in_the_admin_before_switching(preset_dir, client, make_user):
    client.force_login(make_user("Manager", is_staff=True))
    url = reverse("admin:incidents_procedure_preset", args=["strict-response"])

    preview = client.get(url)

    assert preview.status_code == 200
    assert b"severities[P1]" in preview.content and b"Switch to this procedure" in preview.content
    assert SeverityLevel.objects.get(code="P1").name == "High"  # a preview changes nothing

    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200 and SeverityLevel.objects.get(code="P1").name == "High"

    switched = client.post(url, {"reason": "Our new procedure"})
    assert switched.status_code == 302
    assert SeverityLevel.objects.get(code="P1").name == "Major"
    listing = client.get(reverse("admin:incidents_procedurerevision_changelist"))
    assert b"Strict response" in listing.content


def test_only_managers_may_switch_procedures(preset_dir, client, make_user):
    client.force_login(make_user("Incident manager", is_staff=True))
    url = reverse("admin:incidents_procedure_preset", args=["strict-response"])

    assert client.post(url, {"reason": "Mine now"}).status_code == 403
    assert SeverityLevel.objects.get(code="P1").name == "High"


@pytest.fixture
def renamed_levels_preset(tmp_path, monkeypatch):
    """A procedure with two levels of its own (seed 002 calls them Sev1, Sev2) in place of
    P0-P3; the other sections are not in the file, so they stay as they are."""
    document = {
        "firebreak_procedure": 1, "name": "Two levels",
        "severities": [
            {"code": "Sev1", "name": "Critical", "rank": 0, "response_target": "30m"},
            {"code": "Sev2", "name": "High", "rank": 1},
        ],
    }
    (tmp_path / "two-levels.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    monkeypatch.setattr(preset_module, "PRESET_DIR", tmp_path)


def test_switching_to_levels_of_other_names_retires_the_old_ones_and_keeps_open_incidents(
        renamed_levels_preset, declare, client, responder):
    incident = declare(severity="P0")
    clocks_before = list(incident.sla_clocks.values_list("kind", "due_at"))

    result = preset_module.preset_load("two-levels", reason="Adopt seed 002's levels")

    active = SeverityLevel.objects.active()
    assert [(s.code, s.rank) for s in active.order_by("rank")] == [("Sev1", 0), ("Sev2", 1)]
    assert "retire  severities[P0 – Critical]: still used, so switched off" in map(
        str, result.changes)
    incident.refresh_from_db()
    assert incident.severity.code == "P0"  # its level, now retired, and its clocks stay
    assert list(incident.sla_clocks.values_list("kind", "due_at")) == clocks_before
    client.force_login(responder)
    page = client.get(reverse("incidents:declare")).content.decode()
    assert "Sev1" in page and "P3 – Low" not in page


def test_a_type_marked_default_takes_the_default_over(manager, incident_types):
    security = incident_types["security"]
    security.is_default = True
    security.full_clean()
    security.save()

    assert list(IncidentType.objects.filter(is_default=True)) == [security]


def test_a_file_may_swap_the_ranks_of_two_levels():
    document = yaml.safe_load(procedure_export())
    levels = {s["code"]: s for s in document["severities"]}
    levels["P0"]["rank"], levels["P1"]["rank"] = 1, 0

    procedure_import(yaml.safe_dump(document, sort_keys=False), reason="P1 is our worst")

    assert [s.code for s in SeverityLevel.objects.active().order_by("rank")][:2] == ["P1", "P0"]
    again = procedure_import(yaml.safe_dump(document, sort_keys=False), reason="Again")
    assert again.changed == []
    assert SeverityLevel.objects.active().count() == 4


def test_a_restart_on_the_active_preset_keeps_the_managers_edits(preset_dir, capsys):
    """`./firebreak start` with FIREBREAK_PROCEDURE runs `procedure load NAME --unless-active` at
    every start: the first start loads the preset, a restart must not undo what a manager changed
    since."""
    call_command("procedure", "load", "strict-response", "--unless-active")
    SeverityLevel.objects.filter(code="P1").update(name="Major outage")
    revisions = ProcedureRevision.objects.count()
    capsys.readouterr()

    call_command("procedure", "load", "strict-response", "--unless-active")

    assert "already the active procedure" in capsys.readouterr().out
    assert SeverityLevel.objects.get(code="P1").name == "Major outage"
    assert ProcedureRevision.objects.count() == revisions


def test_unless_active_still_switches_from_another_procedure(preset_dir):
    call_command("procedure", "load", "strict-response")
    other = yaml.safe_load((preset_dir / "strict-response.yaml").read_text())
    other["name"] = "Relaxed response"
    next(s for s in other["severities"] if s["code"] == "P1")["name"] = "Serious"
    (preset_dir / "relaxed-response.yaml").write_text(yaml.safe_dump(other, sort_keys=False))

    call_command("procedure", "load", "relaxed-response", "--unless-active")

    assert SeverityLevel.objects.get(code="P1").name == "Serious"
    assert ProcedureRevision.active().preset == "relaxed-response"
