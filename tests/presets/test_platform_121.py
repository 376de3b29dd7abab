"""Seed 002, the 121 Platform's critical production issues, run end to end as its document
says."""

from __future__ import annotations

import pytest

from escalation.models import SlaClock
from incidents import services
from incidents.errors import ActionRefused
from incidents.models import SeverityLevel, Service
from incidents.selectors import firefighting_incidents
from incidents.warroom.services import checklist_item_set_done

from .conftest import HOUR, MONDAY_MORNING, checklist, recipients

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(load_preset):
    return load_preset("platform-121-critical-issues")


def test_severity_1_to_4_without_sla_numbers_and_the_critical_paths(platform):
    levels = SeverityLevel.objects.active().order_by("rank")
    assert [(s.code, s.name) for s in levels] == [
        ("Sev1", "Critical"), ("Sev2", "High"), ("Sev3", "Medium"), ("Sev4", "Low")]
    assert {s.response_target for s in levels} == {None}
    assert {s.resolution_target for s in levels} == {None}
    assert set(Service.objects.filter(is_critical_path=True).values_list("slug", flat=True)) >= {
        "payments-distribution", "recipient-registration", "data-integrity"}


def test_firefighting_starts_at_confirmation_and_ends_at_resolution(
        platform, level, declare_at, make_user):
    checker = make_user("Incident manager", username="log-checker")
    incident, walk = declare_at(MONDAY_MORNING, level("Sev1"))

    assert not SlaClock.objects.filter(incident=incident).exists()
    assert firefighting_incidents(checker) == []  # reported, not yet confirmed as severe
    with walk.at(HOUR):
        services.incident_triage(incident, by=checker, incident_manager=checker)
    assert firefighting_incidents(checker) == [incident]
    with walk.at(2 * HOUR):
        services.incident_resolve(incident, by=checker, summary="Hotfix released")
    assert firefighting_incidents(checker) == []


def test_the_product_manager_is_paged_to_inform_stakeholders(platform, level, declare_at,
                                                             make_user):
    make_user("Product manager", username="pm")
    incident, walk = declare_at(MONDAY_MORNING, level("Sev1"))

    assert "pm" in recipients(walk.fired, "role.communications_lead.required")


def test_a_severe_issue_closes_only_with_fix_hotfix_and_post_mortem_tasks_done(
        platform, level, declare_at, make_user):
    checker = make_user("Incident manager", username="log-checker")
    incident, walk = declare_at(MONDAY_MORNING, level("Sev2"))
    with walk.at(HOUR):
        services.incident_triage(incident, by=checker, incident_manager=checker)
        services.incident_resolve(incident, by=checker, summary="Hotfix released")
        with pytest.raises(ActionRefused, match="Fix production issue"):
            services.incident_close(incident, by=checker)
        items = checklist(incident)
        for text in ("Fix production issue", "Release hotfix", "Schedule post-mortem",
                     "Issue confirmed resolved in production"):
            checklist_item_set_done(items[text], by=checker, done=True)
        with pytest.raises(ActionRefused) as refused:  # now only the meeting itself is missing
            services.incident_close(incident, by=checker)
    assert "checklist" not in str(refused.value) and "post-mortem" in str(refused.value)


def test_the_daily_log_checker_is_asked_to_triage_and_may_while_on_duty(platform, level,
                                                                      declare_at, make_user):
    from escalation.models import Rota, RotaMember

    checker = make_user("Responder", username="checker")
    rota = Rota.objects.get(slug="daily-log-checker")
    RotaMember.objects.create(rota=rota, user=checker)
    incident, walk = declare_at(MONDAY_MORNING, level("Sev1"))

    assert "checker" in recipients(walk.fired, "triage")
    checker = type(checker).objects.get(pk=checker.pk)  # fresh permission cache
    with walk.at(HOUR):
        assert checker.has_perm("incidents.triage_incident")
        services.incident_triage(incident, by=checker, incident_manager=checker)
    incident.refresh_from_db()
    assert incident.state == "triaged"
