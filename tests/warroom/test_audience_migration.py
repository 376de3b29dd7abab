"""Existing data migrates: the four audiences the code knew become rows (with any other value
found in use), each cadence gets a slug and its audience, and going back splits a cadence for
several audiences into one per audience."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from incidents.models import (
    Audience,
    AudienceSubscription,
    CommunicationCadence,
    Contact,
    MessageTemplate,
)
from tests.conftest import COMMITTED_DB

BEFORE = [("incidents", "0016_severity_retirement")]


@COMMITTED_DB
def test_audiences_and_cadences_migrate_forward_and_back(postgres, severities):
    cadence = CommunicationCadence.objects.create(
        slug="p1-internal", severity=severities["P1"],
        interval=timedelta(hours=3), business_hours_only=True)
    cadence.audiences.set(Audience.objects.filter(slug__in=["executives", "stakeholders"]))
    contact = Contact.objects.create(name="Client", email="client@example.org")
    AudienceSubscription.objects.create(audience_id="customer", contact=contact)

    executor = MigrationExecutor(connection)
    leaf = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        OldCadence = old.get_model("incidents", "CommunicationCadence")
        split = dict(OldCadence.objects.filter(interval=timedelta(hours=3))
                     .values_list("audience", "severity__code"))
        # P1 stakeholders hear every 2h by default: that one stays, executives get every 3h.
        assert split == {"executives": "P1"}
        assert not old.get_model("incidents", "AudienceSubscription").objects.filter(
            user__isnull=True, group__isnull=True).exists()
        severity = old.get_model("incidents", "SeverityLevel").objects.get(code="P3")
        OldCadence.objects.create(severity=severity, audience="partners",
                                  interval=timedelta(hours=8))
        user = old.get_model("auth", "User").objects.create(username="old-subscriber")
        old.get_model("incidents", "AudienceSubscription").objects.create(
            audience="partners", user=user)
        old.get_model("incidents", "MessageTemplate").objects.create(
            name="Partners: update", audience="partners", stage="update", subject="s", body="b")

        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(leaf)
    finally:
        MigrationExecutor(connection).migrate(leaf)

    partners = Audience.objects.get(slug="partners")
    assert partners.name == "Partners" and not partners.may_publish
    customers = Audience.objects.get(slug="customer")
    assert customers.may_publish and not customers.includes_incident_team
    assert Audience.objects.get(slug="team").includes_incident_team
    migrated = CommunicationCadence.objects.get(slug="p3-partners")
    assert [a.slug for a in migrated.audiences.all()] == ["partners"]
    assert migrated.interval == timedelta(hours=8)
    assert AudienceSubscription.objects.get(user__username="old-subscriber").audience == partners
    assert MessageTemplate.objects.get(name="Partners: update").audience == partners
    slugs = list(CommunicationCadence.objects.values_list("slug", flat=True))
    assert len(slugs) == len(set(slugs)) and all(slugs)
