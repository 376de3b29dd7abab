"""The rules of procedure import and export, each pinned with a file of one small section (so
these run in well under a second each and mutation testing can afford them): what a manager
reads in the plan and in the errors, what is written, kept, retired or deleted."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
import yaml

from escalation.models import (
    BusinessCalendar,
    EscalationEvent,
    EscalationLevel,
    Holiday,
    ImpactCondition,
    ImpactRule,
)
from incidents.models import (
    Audience,
    AudienceSubscription,
    CommunicationCadence,
    IncidentChecklistItem,
    IncidentRole,
    IncidentRoleAssignment,
    IncidentType,
    ProcedureRevision,
    Service,
    SeverityLevel,
)
from incidents.procedure import ProcedureError, procedure_export, procedure_import
from incidents.procedure.files import MAX_FILE_BYTES

pytestmark = pytest.mark.django_db


def doc(**sections) -> str:
    return yaml.safe_dump({"firebreak_procedure": 1, **sections}, sort_keys=False)


def errors_of(text, **options) -> list[str]:
    with pytest.raises(ProcedureError) as refused:
        procedure_import(text, reason="test", **options)
    assert str(refused.value) == "\n".join(refused.value.errors)
    return refused.value.errors


def plan(result, about: str = "") -> list[str]:
    """The plan's lines, or those about one entry (the seeded procedure has others)."""
    return [str(change) for change in result.changes if about in change.where]


@pytest.fixture
def calendar(db):
    calendar = BusinessCalendar.objects.create(name="Office", time_zone="Europe/Amsterdam")
    Holiday.objects.create(calendar=calendar, date=date(2026, 12, 25), name="Christmas")
    return calendar


# --- Reading the file ----------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ("firebreak_procedure: [", "Not valid YAML: "),
    ("- a list", "Not a Firebreak procedure file: the first line must be "
                 "'firebreak_procedure: 1'."),
    ("name: no marker", "Not a Firebreak procedure file: the first line must be "
                        "'firebreak_procedure: 1'."),
    ("firebreak_procedure: 2", "Unsupported format 2; this version reads format 1."),
])
def test_a_file_that_is_no_procedure_is_refused_in_words(text, message):
    assert [e[: len(message)] for e in errors_of(text)] == [message]


def test_unknown_sections_are_each_named_with_the_known_ones():
    problems = errors_of(doc(zebras=[], apples=[]))
    assert len(problems) == 2
    assert problems[0].startswith("Unknown section 'apples'; the sections are: calendars, ")
    assert problems[1].startswith("Unknown section 'zebras'; the sections are: ")
    assert "severities" in problems[0] and problems[0].endswith(".")


def test_a_file_too_big_or_not_utf8_is_refused_before_it_is_read():
    assert errors_of(b"#" * (MAX_FILE_BYTES + 1)) == [
        f"The file is larger than {MAX_FILE_BYTES // 1024} KiB."]
    assert errors_of(b"firebreak_procedure: 1\nname: \xff\n") == ["The file is not UTF-8 text."]
    # Exactly at the limit is read (and refused only for what it says).
    at_limit = b"firebreak_procedure: 1\n" + b"#" * (MAX_FILE_BYTES - 23)
    assert len(at_limit) == MAX_FILE_BYTES
    assert procedure_import(at_limit, reason="limit").applied


def test_a_reason_of_only_spaces_is_refused_and_changes_nothing():
    text = doc(services=[{"slug": "ledger", "name": "Ledger"}])
    with pytest.raises(ProcedureError) as refused:
        procedure_import(text, reason="   ")
    assert refused.value.errors == [
        "A reason is required: it is recorded in the history of every entry the import "
        "changes."]
    assert not Service.objects.filter(slug="ledger").exists()


@pytest.mark.parametrize("entries, message", [
    ({"slug": "x"}, "services: expected a list of entries."),
    (["ledger"], "services[0]: expected a mapping of fields, got 'ledger'."),
    ([{"name": "Ledger"}], "services[0]: the key field 'slug' is missing."),
])
def test_a_malformed_section_or_entry_is_named(entries, message):
    assert errors_of(doc(services=entries)) == [message]


def test_an_unknown_field_is_named_with_the_fields_the_entry_has():
    (problem,) = errors_of(doc(services=[{"slug": "ledger", "name": "Ledger", "colour": "red"}]))
    assert problem.startswith("services[ledger]: unknown field 'colour' (fields: name, slug, ")
    assert not Service.objects.filter(slug="ledger").exists()


def test_an_unreadable_value_is_named_and_every_other_problem_is_listed_too():
    problems = errors_of(doc(incident_types=[
        {"code": "outage", "name": "Outage", "order": "first", "restricted_by_default": "no"},
        {"code": "outage", "name": "Outage again"},
    ]))
    assert problems[0].startswith("incident_types[outage]: order: ")
    assert any(p.startswith("incident_types[outage]: restricted_by_default: ") for p in problems)
    assert not IncidentType.objects.filter(code="outage").exists()


def test_an_entry_listed_twice_is_refused():
    problems = errors_of(doc(services=[{"slug": "ledger", "name": "Ledger"},
                                       {"slug": "ledger", "name": "Ledger"}]))
    assert problems == ["services[ledger]: listed twice."]


def test_a_value_the_model_refuses_is_named_with_its_field():
    (problem,) = errors_of(doc(services=[{"slug": "not a slug!", "name": "Ledger"}]))
    assert problem.startswith("services[not a slug!]: slug: ")


# --- Applying it ---------------------------------------------------------------------------


def test_a_new_entry_is_created_and_the_import_recorded_as_a_revision(make_user):
    manager = make_user("Manager")
    text = doc(name="Payments procedure",
               services=[{"slug": "ledger", "name": "Ledger", "is_critical_path": True}])

    result = procedure_import(text, by=manager, reason="  New ledger  ", preset="p")

    assert plan(result) == ["create  services[ledger]"]
    assert result.applied and [str(c) for c in result.changed] == ["create  services[ledger]"]
    ledger = Service.objects.get(slug="ledger")
    assert ledger.is_critical_path and ledger.is_public  # left out: the default
    revision = ProcedureRevision.objects.get()
    assert (revision.name, revision.preset, revision.applied_by, revision.reason) == (
        "Payments procedure", "p", manager, "New ledger")
    assert revision.digest == hashlib.sha256(text.encode()).hexdigest()
    assert revision.changes == "create  services[ledger]"
    last = ledger.history.first()
    assert (last.history_change_reason, last.history_user) == ("New ledger", manager)


def test_a_file_without_a_name_is_recorded_as_unnamed():
    procedure_import(doc(services=[]), reason="Nothing")
    assert ProcedureRevision.objects.get().name == "Unnamed procedure"


def test_a_dry_run_plans_and_writes_nothing():
    result = procedure_import(doc(services=[{"slug": "ledger", "name": "Ledger"}]),
                              reason="Look", dry_run=True)
    assert plan(result) == ["create  services[ledger]"] and not result.applied
    assert not Service.objects.filter(slug="ledger").exists()
    assert not ProcedureRevision.objects.exists()


def test_an_update_shows_each_changed_field_old_and_new_and_an_unchanged_entry_is_kept():
    Service.objects.create(slug="ledger", name="Ledger", description="Old words")
    Service.objects.create(slug="wallet", name="Wallet")
    long_text = "A" * 70

    result = procedure_import(doc(services=[
        {"slug": "ledger", "name": "General ledger", "description": long_text},
        {"slug": "wallet", "name": "Wallet"},
    ]), reason="Rename")

    assert plan(result) == [
        "update  services[ledger]: name: 'Ledger' → 'General ledger'; "
        f"description: 'Old words' → '{'A' * 57}...'",
        "keep    services[wallet]",
    ]
    assert [c.where for c in result.changed] == ["services[ledger]"]
    assert Service.objects.get(slug="ledger").description == long_text


def test_a_changed_duration_reads_as_a_manager_writes_it(severities):
    result = procedure_import(doc(severities=[
        {**yaml.safe_load(procedure_export())["severities"][1], "response_target": "90m"}]),
        reason="Tighter")
    assert plan(result)[0] == "update  severities[P1]: response_target: 4h → 90m"


def test_entries_the_file_leaves_out_are_kept_and_said_so_without_prune():
    Service.objects.create(slug="ledger", name="Ledger")
    IncidentType.objects.create(code="outage", name="Outage")

    result = procedure_import(doc(services=[], incident_types=[]), reason="Nothing listed")

    assert "keep    services[Ledger]: not in the file; kept" in plan(result)
    assert "keep    incident_types[Outage]: not in the file; kept" in plan(result)
    assert IncidentType.objects.get(code="outage").is_active


def test_a_section_the_file_does_not_have_is_left_alone_even_with_prune():
    Service.objects.create(slug="ledger", name="Ledger")
    IncidentType.objects.create(code="outage", name="Outage")
    result = procedure_import(doc(services=[]), reason="Only services", prune=True)
    assert IncidentType.objects.get(code="outage").is_active
    assert not any("incident_types" in line for line in plan(result))


def test_prune_deletes_an_unused_entry_and_keeps_a_section_that_is_not_prunable():
    IncidentType.objects.create(code="outage", name="Outage")
    Service.objects.create(slug="ledger", name="Ledger")

    result = procedure_import(doc(services=[], incident_types=[]), reason="Tidy", prune=True)

    assert "delete  incident_types[Outage]" in plan(result)
    assert "keep    services[Ledger]: not in the file; kept" in plan(result)
    assert not IncidentType.objects.filter(code="outage").exists()
    assert Service.objects.filter(slug="ledger").exists()


def test_prune_switches_off_an_entry_an_incident_still_uses(declare):
    outage = IncidentType.objects.create(code="outage", name="Outage")
    declare(incident_type=outage)

    result = procedure_import(doc(incident_types=[]), reason="Tidy", prune=True)

    assert "retire  incident_types[Outage]: still used, so switched off" in plan(result)
    outage.refresh_from_db()
    assert not outage.is_active
    assert outage.history.first().history_change_reason == "Tidy"


def test_an_entry_switched_off_stays_off_when_listed_off_and_comes_back_when_listed_on():
    IncidentType.objects.create(code="outage", name="Outage", is_active=False)
    result = procedure_import(doc(incident_types=[
        {"code": "outage", "name": "Outage", "is_active": False}]), reason="Same")
    assert plan(result, "[outage]") == ["keep    incident_types[outage]"]
    assert not IncidentType.objects.get(code="outage").is_active

    result = procedure_import(doc(incident_types=[{"code": "outage", "name": "Outage"}]),
                              reason="Back")
    assert plan(result, "[outage]") == [
        "update  incident_types[outage]: is_active: False → True"]
    assert IncidentType.objects.get(code="outage").is_active


def test_an_active_entry_listed_unchanged_stays_active_and_unchanged():
    outage = IncidentType.objects.create(code="outage", name="Outage")
    versions = outage.history.count()
    result = procedure_import(doc(incident_types=[{"code": "outage", "name": "Outage"}]),
                              reason="Same")
    assert plan(result, "[outage]") == ["keep    incident_types[outage]"]
    outage.refresh_from_db()
    assert outage.is_active and outage.history.count() == versions


def test_children_listed_are_the_whole_list_for_their_parent(calendar):
    entry = {"name": "Office", "holidays": [{"date": "2026-12-26", "name": "Boxing Day"}]}
    result = procedure_import(doc(calendars=[entry]), reason="Holidays")

    assert plan(result, "calendars[Office]") == [
        "keep    calendars[Office]",
        "create  calendars[Office].holidays[2026-12-26]",
        "delete  calendars[Office].holidays[2026-12-25 Christmas]",
    ]
    assert list(calendar.holidays.values_list("date", flat=True)) == [date(2026, 12, 26)]


@pytest.mark.parametrize("holidays, message", [
    ("none", "calendars[Office].holidays: expected a list."),
    ([{"name": "No date"}], "calendars[Office].holidays[0]: the key field 'date' is missing."),
    ([7], "calendars[Office].holidays[0]: expected a mapping of fields, got 7."),
])
def test_bad_children_are_named_under_their_parent(calendar, holidays, message):
    assert errors_of(doc(calendars=[{"name": "Office", "holidays": holidays}])) == [message]
    assert calendar.holidays.count() == 1


def test_an_error_anywhere_rolls_back_every_entry_before_it():
    problems = errors_of(doc(services=[{"slug": "ledger", "name": "Ledger"}],
                             incident_types=[{"code": "outage"}]))
    assert problems and problems[0].startswith("incident_types[outage]: name: ")
    assert not Service.objects.filter(slug="ledger").exists()
    assert not ProcedureRevision.objects.exists()


# --- Writing the file ----------------------------------------------------------------------


def test_export_names_the_procedure_and_leaves_defaults_out(calendar):
    Service.objects.create(slug="ledger", name="Ledger",
                           description="Books every payment.\nOwned by finance.")
    text = procedure_export(name="Payments", description="Our way")
    document = yaml.safe_load(text)

    assert list(document)[:3] == ["firebreak_procedure", "name", "description"]
    assert (document["name"], document["description"]) == ("Payments", "Our way")
    (ledger,) = [s for s in document["services"] if s["slug"] == "ledger"]
    assert list(ledger) == ["slug", "name", "description"]  # key first; defaults left out
    assert "description: |-\n    Books every payment.\n    Owned by finance.\n" in text
    (office,) = [c for c in document["calendars"] if c["name"] == "Office"]
    assert office["holidays"] == [{"date": "2026-12-25", "name": "Christmas"}]
    assert "calendar" not in office["holidays"][0]  # a child leaves out its parent
    assert office.get("time_zone") is None  # the default zone is left out


def test_an_export_without_a_name_says_only_the_format():
    document = yaml.safe_load(procedure_export())
    assert list(document)[0] == "firebreak_procedure" and document["firebreak_procedure"] == 1
    assert "name" not in document and "description" not in document


def test_what_export_writes_imports_without_a_change(calendar):
    Service.objects.create(slug="ledger", name="Ledger", is_public=False)
    IncidentType.objects.create(code="outage", name="Outage", order=3)
    document = yaml.safe_load(procedure_export())
    small = {name: document[name] for name in ("calendars", "services", "incident_types")}

    result = procedure_import(doc(**small), reason="Round trip")

    assert result.changed == []
    assert timedelta(0) == timedelta(0)


# --- More of what a manager reads in the plan ------------------------------------------------


def _cadence(slug: str) -> dict:
    document = yaml.safe_load(procedure_export())
    return next(c for c in document["cadences"] if c["slug"] == slug)


def test_a_changed_list_of_references_shows_before_and_after():
    entry = {**_cadence("p0-customer"), "audiences": ["customer", "executives"]}

    result = procedure_import(doc(cadences=[entry]), reason="Tell executives too")

    assert plan(result, "[p0-customer]") == [
        "update  cadences[p0-customer]: audiences: ['Customers'] → "
        "['Customers', 'Executives']"]
    cadence = CommunicationCadence.objects.get(slug="p0-customer")
    assert sorted(cadence.audiences.values_list("slug", flat=True)) == ["customer", "executives"]


def test_an_unchanged_list_of_references_is_kept_and_a_reference_shows_by_its_name():
    entry = _cadence("p0-customer")
    assert plan(procedure_import(doc(cadences=[entry]), reason="Same"), "[p0-customer]") == [
        "keep    cadences[p0-customer]"]

    result = procedure_import(doc(cadences=[{**entry, "severity": "P1"}]), reason="Move")
    (line,) = plan(result, "[p0-customer]")
    p0, p1 = (SeverityLevel.objects.get(code=code) for code in ("P0", "P1"))
    assert line == f"update  cadences[p0-customer]: severity: {p0} → {p1}"


def test_a_new_entry_gets_its_references_and_an_empty_list_is_left_out_on_export():
    entry = {**_cadence("p0-customer"), "slug": "p0-partners", "audiences": []}
    procedure_import(doc(cadences=[entry]), reason="Partners")
    assert not CommunicationCadence.objects.get(slug="p0-partners").audiences.exists()
    assert "audiences" not in _cadence("p0-partners")
    assert _cadence("p0-customer")["audiences"] == ["customer"]


@pytest.mark.parametrize("length, shown", [
    (60, "'" + "A" * 60 + "'"),
    (61, "'" + "A" * 57 + "...'"),
])
def test_long_text_in_the_plan_is_cut_after_sixty_characters(length, shown):
    Service.objects.create(slug="ledger", name="Ledger")
    result = procedure_import(doc(services=[
        {"slug": "ledger", "name": "Ledger", "description": "A" * length}]), reason="Words")
    assert plan(result, "[ledger]") == [f"update  services[ledger]: description: '' → {shown}"]


def test_a_number_with_decimals_shows_as_written():
    rule = ImpactRule.objects.create(slug="big-loss", name="Big loss",
                                     level=EscalationLevel.objects.first())
    ImpactCondition.objects.create(rule=rule, attribute="revenue_impact_per_hour",
                                   at_least=Decimal("1000.00"))
    entry = next(r for r in yaml.safe_load(procedure_export())["impact_rules"]
                 if r["slug"] == "big-loss")
    entry["conditions"][0]["at_least"] = "1250.50"

    result = procedure_import(doc(impact_rules=[entry]), reason="Threshold")

    assert plan(result, "[big-loss].conditions") == [
        "update  impact_rules[big-loss].conditions[revenue_impact_per_hour, ]: "
        "at_least: 1000.00 → 1250.50"]


def test_entries_with_two_key_fields_are_named_by_both(severities):
    role = {"code": "scribe-2", "name": "Second scribe",
            "required_for": [{"severity": "P0", "incident_type": "nope"}]}
    (problem,) = errors_of(doc(roles=[role]))
    assert problem.startswith("roles[scribe-2].required_for[P0, nope]: incident_type: ")


def test_a_reason_and_a_name_are_cut_to_what_history_and_revisions_keep(make_user):
    manager = make_user("Manager")
    reason = "R" * 250
    procedure_import(doc(name="N" * 250, services=[{"slug": "ledger", "name": "Ledger"}]),
                     by=manager, reason=reason)
    revision = ProcedureRevision.objects.get()
    assert (revision.name, revision.reason, revision.preset) == ("N" * 200, "R" * 200, "")
    history = Service.objects.get(slug="ledger").history.first()
    assert history.history_change_reason == "R" * 100


def test_the_revision_lists_each_change_on_its_own_line_and_no_kept_entries():
    Service.objects.create(slug="wallet", name="Wallet")
    procedure_import(doc(services=[{"slug": "wallet", "name": "Wallet"},
                                   {"slug": "ledger", "name": "Ledger"},
                                   {"slug": "vault", "name": "Vault"}]), reason="Two new")
    assert ProcedureRevision.objects.get().changes == (
        "create  services[ledger]\ncreate  services[vault]")


def test_a_top_level_description_is_allowed_and_export_keeps_non_ascii_letters():
    procedure_import(doc(description="Our way", services=[
        {"slug": "ledger", "name": "Grootboek é"}]), reason="Words")
    assert "name: Grootboek é" in procedure_export()


def test_two_levels_may_swap_ranks_in_one_file(severities):
    document = yaml.safe_load(procedure_export())
    p0, p1 = (next(s for s in document["severities"] if s["code"] == code)
              for code in ("P0", "P1"))
    p0["rank"], p1["rank"] = p1["rank"], p0["rank"]

    result = procedure_import(doc(severities=[p0, p1]), reason="Seed 004 order")

    assert result.applied
    assert SeverityLevel.objects.get(code="P1").rank == severities["P0"].rank
    assert SeverityLevel.objects.get(code="P0").is_active


def test_prune_keeps_an_entry_without_an_on_off_switch_that_incidents_use(declare, make_user):
    role = IncidentRole.objects.create(code="scribe-2", name="Second scribe")
    IncidentRoleAssignment.objects.create(incident=declare(), role=role, user=make_user())

    result = procedure_import(doc(roles=[]), reason="Tidy", prune=True)

    assert plan(result, "[Second scribe]") == ["keep    roles[Second scribe]: still used, so kept"]
    assert IncidentRole.objects.filter(pk=role.pk).exists()


def test_prune_switches_off_a_rule_past_escalations_name_and_records_who(declare, make_user):
    manager = make_user("Manager")
    rule = ImpactRule.objects.filter(is_active=True).first()
    EscalationEvent.objects.create(incident=declare(), level=rule.level, rule=rule,
                                   source="rule", reason_category="business_impact")

    result = procedure_import(doc(impact_rules=[]), by=manager, reason="Tidy", prune=True)

    assert plan(result, f"[{rule}]") == [
        f"retire  impact_rules[{rule}]: still used, so switched off"]
    rule.refresh_from_db()
    assert not rule.is_active
    assert rule.history.first().history_user == manager


def test_prune_switches_off_an_audience_a_person_subscribes_to(make_user):
    audience = Audience.objects.create(slug="board", name="Board")
    AudienceSubscription.objects.create(audience=audience, user=make_user())
    result = procedure_import(doc(audiences=[]), reason="Tidy", prune=True)
    assert plan(result, "[Board]") == ["retire  audiences[Board]: still used, so switched off"]
    assert AudienceSubscription.objects.filter(audience=audience).exists()


def test_an_entry_already_switched_off_is_not_said_to_be_switched_off_again(declare):
    outage = IncidentType.objects.create(code="outage", name="Outage", is_active=False)
    declare(incident_type=outage)
    result = procedure_import(doc(incident_types=[]), reason="Tidy", prune=True)
    assert plan(result, "[Outage]") == []


def test_children_incidents_use_cannot_be_left_out_and_each_is_named(declare):
    declare(severity="P1")
    used = IncidentChecklistItem.objects.filter(template_item__isnull=False).select_related(
        "template_item__phase").first().template_item.phase
    phase = next(p for p in yaml.safe_load(procedure_export())["checklist_phases"]
                 if p["slug"] == used.slug)
    items_used = set(IncidentChecklistItem.objects.filter(
        template_item__phase=used).values_list("template_item__code", flat=True))
    assert len(items_used) >= 2, "the seeded P1 checklist uses two items of a phase"
    phase["items"] = [item for item in phase["items"] if item["code"] not in items_used]

    problems = errors_of(doc(checklist_phases=[phase]))

    assert len(problems) == len(items_used)
    assert all(p.startswith(f"checklist_phases[{used.slug}].items: ") and
               p.endswith(" is still used by incidents, so it cannot be left out.")
               for p in problems)


def test_an_entry_without_its_children_has_none_left(calendar):
    procedure_import(doc(calendars=[{"name": "Office"}]), reason="No holidays")
    assert not calendar.holidays.exists()


def test_a_new_integration_from_a_file_starts_switched_off_with_a_secret_the_plan_mentions(
        severities):
    from incidents.intake.models import Integration

    entry = {"name": "Grafana", "kind": "alertmanager"}
    result = procedure_import(doc(integrations=[entry]), reason="New source")
    assert plan(result, "[Grafana]") == [
        "create  integrations[Grafana]: created switched off with a new secret: rotate it in "
        "the admin, then switch it on"]
    integration = Integration.objects.get(name="Grafana")
    assert not integration.is_enabled and integration.secret_hash


def test_a_time_changed_by_a_file_reads_as_a_time_in_the_plan(calendar):
    entry = {"name": "Office", "day_start": "08:30:00",
             "holidays": [{"date": "2026-12-25", "name": "Christmas"}]}
    result = procedure_import(doc(calendars=[entry]), reason="Earlier start")
    assert plan(result, "calendars[Office]")[0] == (
        "update  calendars[Office]: day_start: 09:00:00 → 08:30:00")


def test_an_entry_breaking_a_rule_of_the_whole_entry_is_named_without_a_field(db):
    policies = yaml.safe_load(procedure_export())["escalation_policies"]
    twin = {**policies[0], "slug": "twin"}
    # A second active policy for the same severity, any type: a rule of the whole entry.
    assert errors_of(doc(escalation_policies=[twin])) == [
        "escalation_policies[twin]: Constraint “one_escalation_policy_per_severity_for_any_type” "
        "is violated."]


def test_prune_keeps_a_level_a_pending_escalation_timer_still_awaits(make_user):
    from escalation.models import Deadline, EscalationLadder

    text = procedure_export()
    ladder = EscalationLadder.objects.get(is_default=True)
    awaited = EscalationLevel.objects.create(ladder=ladder, number=9, name="Board")
    Deadline.objects.create(kind="escalation.step", key="escalation.step.test",
                            subject=awaited, due_at="2026-12-31T00:00:00Z",
                            payload={"level": awaited.pk})
    idle = EscalationLevel.objects.create(ladder=ladder, number=8, name="Nobody waits")
    idle.users.add(make_user())  # its own links go with it
    result = procedure_import(text, reason="Prune", prune=True)
    assert EscalationLevel.objects.filter(pk=awaited.pk).exists()
    assert not EscalationLevel.objects.filter(pk=idle.pk).exists()
    assert plan(result, "Board") == [f"keep    escalation_levels[{awaited}]: still used, so kept"]


def test_an_export_leaves_out_text_fields_left_empty(db):
    Service.objects.create(slug="ledger", name="Ledger", description="")
    (entry,) = [s for s in yaml.safe_load(procedure_export())["services"]
                if s["slug"] == "ledger"]
    assert "description" not in entry


def test_a_field_that_cannot_be_read_is_reported_once(db):
    policies = yaml.safe_load(procedure_export())["escalation_policies"]
    entry = {**policies[0], "slug": "other", "severity": "P9"}
    (problem,) = errors_of(doc(escalation_policies=[entry]))
    assert problem.startswith("escalation_policies[other]: severity: ")


def test_an_export_folds_long_text_near_a_hundred_characters_and_reads_back_the_same(db):
    text = "a" * 74 + " " + "b" * 11 + " " + "c" * 5
    Service.objects.create(slug="ledger", name="Ledger", description=text)
    exported = procedure_export()
    # Folded at the first space past the 100th column, not at 80 nor later.
    assert f"  description: {'a' * 74} {'b' * 11}\n    {'c' * 5}\n" in exported
    (entry,) = [s for s in yaml.safe_load(exported)["services"] if s["slug"] == "ledger"]
    assert entry["description"] == text


def test_prune_keeps_a_role_a_triage_rule_pages_and_deletes_one_nothing_names(db):
    from incidents.intake.models import TriageRule

    roles = [r for r in yaml.safe_load(procedure_export())["roles"]]
    paged = IncidentRole.objects.create(code="sre-2", name="Second SRE")
    unused = IncidentRole.objects.create(code="sre-3", name="Third SRE")
    TriageRule.objects.create(slug="db", name="Database alerts").page_roles.add(paged)

    result = procedure_import(doc(roles=roles), reason="Tidy", prune=True)

    assert plan(result, "SRE]") == ["keep    roles[Second SRE]: still used, so kept",
                                    "delete  roles[Third SRE]"]
    assert list(TriageRule.objects.get(slug="db").page_roles.all()) == [paged]
    assert not IncidentRole.objects.filter(pk=unused.pk).exists()


def test_prune_keeps_a_ladder_whose_levels_stay(db):
    from escalation.models import EscalationLadder

    ladders = yaml.safe_load(procedure_export())["escalation_ladders"]
    security = EscalationLadder.objects.create(slug="security", name="Security")
    level = EscalationLevel.objects.create(ladder=security, number=1, name="Security on call")

    result = procedure_import(doc(escalation_ladders=ladders), reason="Tidy", prune=True)

    assert plan(result, "[Security]") == [
        "keep    escalation_ladders[Security]: still used, so kept"]
    assert EscalationLevel.objects.filter(pk=level.pk).exists()


def test_an_entry_with_an_unknown_field_still_has_its_children_checked(calendar):
    entry = {"name": "Office", "colour": "blue",
             "holidays": [{"date": "2026-12-25", "name": "Christmas", "colour": "red"}]}
    problems = errors_of(doc(calendars=[entry]))
    assert [problem.split(": unknown field")[0] for problem in problems] == [
        "calendars[Office]", "calendars[Office].holidays[2026-12-25]"]
    assert BusinessCalendar.objects.get(name="Office").holidays.count() == 1
