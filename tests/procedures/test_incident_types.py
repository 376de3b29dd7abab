"""Incident types are data: seed 004's five categories by default, managers add and retire
their own, each incident has one (declared, edited, filtered, reported and exported), and
existing incidents' categories became types by migration."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from incidents import services
from incidents.models import Incident, IncidentType
from incidents.reports import metrics
from tests.conftest import COMMITTED_DB

from .conftest import admin_form_data

pytestmark = pytest.mark.django_db


def test_seed_004s_categories_are_the_default_types_and_security_starts_restricted():
    rows = list(IncidentType.objects.values_list("code", "is_default", "restricted_by_default"))
    assert rows == [
        ("technical", True, False), ("security", False, True), ("infrastructure", False, False),
        ("process", False, False), ("business", False, False),
    ]
    assert IncidentType.objects.get_by_natural_key("security").name == "Security"


def test_an_incident_declared_without_a_type_gets_the_default_type(declare):
    assert declare().incident_type.code == "technical"


def test_the_default_follows_the_managers_choice(declare, incident_types):
    IncidentType.objects.filter(code="technical").update(is_default=False)
    IncidentType.objects.filter(code="process").update(is_default=True)
    assert declare().incident_type == incident_types["process"]


def test_a_type_a_manager_adds_in_the_admin_is_offered_when_declaring(
    manager_client, client, responder
):
    response = manager_client.post(reverse("admin:incidents_incidenttype_add"), {
        "code": "performance", "name": "Performance", "order": 5, "is_active": "on",
        "description": "Seed 004's performance and scalability issues.",
    })
    assert response.status_code == 302
    client.force_login(responder)
    page = client.get(reverse("incidents:declare")).content.decode()
    assert 'value="performance"' in page
    assert IncidentType.objects.get(code="performance").history.count() == 1


def test_a_retired_type_is_not_offered_but_incidents_keep_it(
    client, responder, declare, incident_types
):
    incident = declare(incident_type=incident_types["business"])
    IncidentType.objects.filter(code="business").update(is_active=False)
    client.force_login(responder)
    declare_page = client.get(reverse("incidents:declare")).content.decode()
    assert 'value="business"' not in declare_page
    form = client.get(incident.get_absolute_url()).context["impact_form"]
    assert [t.code for t in form.fields["incident_type"].queryset] == [
        "technical", "security", "infrastructure", "process", "business"]


def test_declaring_with_a_type_from_the_page(client, responder, severities):
    client.force_login(responder)
    response = client.post(reverse("incidents:declare"), {
        "title": "Unusual admin logins", "severity": severities["P1"].pk,
        "currency": "EUR", "incident_type": "security",
    })
    assert response.status_code == 302
    assert Incident.objects.get().incident_type.code == "security"


def test_changing_the_type_is_recorded_in_history_and_timeline(declare, responder,
                                                               incident_types):
    incident = declare()
    incident = services.incident_update_impact(
        incident, by=responder, incident_type=incident_types["security"], reason="Leaked key")
    entry = incident.timeline.get(kind="impact")
    assert entry.text.endswith("updated type. Reason: Leaked key")
    assert entry.data["incident_type"] == ["Technical", "Security"]
    assert incident.history.first().incident_type_id == incident_types["security"].pk


def test_reports_filter_by_type_in_the_query_string(client, product_manager, declare,
                                                     incident_types):
    declare(title="Breach", incident_type=incident_types["security"])
    declare(title="Outage")
    client.force_login(product_manager)
    response = client.get(reverse("reports:dashboard"), {"preset": "last_7", "type": "security"})
    assert response.status_code == 200
    assert response.context["summary"].declared["incidents"] == 1
    assert metrics.ReportFilters(incident_type=incident_types["security"]).as_query() == {
        "type": "security"}


def test_the_admin_list_filters_by_type(manager_client, declare, incident_types):
    declare(title="Breach", incident_type=incident_types["security"])
    declare(title="Outage")
    response = manager_client.get(reverse("admin:incidents_incident_changelist"),
                                  {"incident_type__id__exact": incident_types["security"].pk})
    assert [i.title for i in response.context["cl"].result_list] == ["Breach"]


def test_a_type_in_use_cannot_be_deleted(declare, incident_types):
    from django.db.models import ProtectedError

    declare(incident_type=incident_types["process"])
    with pytest.raises(ProtectedError):
        incident_types["process"].delete()


def test_marking_a_type_default_moves_the_default_to_it(manager_client, incident_types):
    url = reverse("admin:incidents_incidenttype_change", args=[incident_types["process"].pk])
    data = admin_form_data(manager_client.get(url))
    data.update(is_default="on", change_reason="Most of ours are process issues")
    response = manager_client.post(url, data)
    assert response.status_code == 302
    assert [t.code for t in IncidentType.objects.filter(is_default=True)] == ["process"]
    technical = incident_types["technical"]
    assert technical.history.first().is_default is False  # the old default's history shows it


# --- The data migration --------------------------------------------------------------------


@COMMITTED_DB
def test_existing_incidents_categories_become_their_types(postgres, django_user_model):
    """Migrate back to before the type existed, store incidents with categories the old way,
    and migrate forward: each incident (and its history) has the type of its category."""
    before = [("incidents", "0010_incident_types")]
    executor = MigrationExecutor(connection)
    leaf = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        old = MigrationExecutor(connection).loader.project_state(before).apps
        OldIncident = old.get_model("incidents", "Incident")
        OldHistory = old.get_model("incidents", "HistoricalIncident")
        severity = old.get_model("incidents", "SeverityLevel").objects.get(code="P1")
        reporter = old.get_model("auth", "User").objects.create(username="old-reporter")
        for number, category in enumerate(["security", "business", "technical"], start=1):
            incident = OldIncident.objects.create(
                reference=f"OLD-{number}", title=f"Old {category}", category=category,
                severity=severity, reporter=reporter)
            OldHistory.objects.create(
                id=incident.pk, reference=incident.reference, title=incident.title,
                category=category, severity_id=severity.pk, reporter_id=reporter.pk,
                declared_at=incident.declared_at, detected_at=incident.detected_at,
                updated_at=incident.updated_at, history_date=incident.declared_at,
                history_type="+", currency="EUR", state="reported")

        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(leaf)
    finally:
        MigrationExecutor(connection).migrate(leaf)

    migrated = dict(Incident.objects.values_list("reference", "incident_type__code"))
    assert migrated == {"OLD-1": "security", "OLD-2": "business", "OLD-3": "technical"}
    history_types = {row.reference: row.incident_type_id
                     for row in Incident.history.filter(reference__startswith="OLD-")}
    assert history_types == {
        f"OLD-{n}": IncidentType.objects.get(code=code).pk
        for n, code in enumerate(["security", "business", "technical"], start=1)}
