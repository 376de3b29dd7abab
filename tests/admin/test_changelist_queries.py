import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Incident, Service

from .conftest import admin_url

pytestmark = pytest.mark.django_db

# Session, user, two permission reads, three filter choice lists, two counts, the page, its
# services, two for the date hierarchy, and the site-wide context processors (firefighting
# banner, notification inbox): 15 today, with one to spare for another context processor.
CHANGELIST_QUERY_LIMIT = 16


@pytest.fixture
def many_incidents(severities, manager, payments):
    """n incidents with services and managers, inserted in bulk (the service is per-row)."""

    def make(n: int):
        checkout, _ = Service.objects.get_or_create(name="Checkout", slug="checkout")
        now = timezone.now()
        start = Incident.objects.count() + 1
        incidents = Incident.objects.bulk_create(
            Incident(reference=f"INC-2026-{i:04d}", title=f"Incident {i}",
                     severity=severities[f"P{i % 4}"], reporter=manager,
                     incident_manager=manager if i % 2 else None, declared_at=now,
                     detected_at=now)
            for i in range(start, start + n)
        )
        through = Incident.services.through
        through.objects.bulk_create(
            through(incident_id=incident.pk, service_id=service.pk)
            for incident in incidents for service in (payments, checkout)
        )

    return make


@pytest.mark.parametrize("count", [5, 500])
def test_the_changelist_uses_a_fixed_number_of_queries(
    count, manager_client, many_incidents, django_assert_max_num_queries
):
    many_incidents(count)
    with django_assert_max_num_queries(CHANGELIST_QUERY_LIMIT):
        response = manager_client.get(admin_url("changelist"))
    assert response.status_code == 200
    assert b"Payments, Checkout" in response.content or b"Checkout, Payments" in response.content


@pytest.mark.parametrize("count", [5, 500])
def test_the_filtered_and_searched_changelist_stays_bounded_too(
    count, manager_client, many_incidents, django_assert_max_num_queries
):
    many_incidents(count)
    with django_assert_max_num_queries(CHANGELIST_QUERY_LIMIT):
        response = manager_client.get(admin_url("changelist"), {
            "state": "reported", "severity__id__exact": "1", "q": "Incident",
        })
    assert response.status_code == 200


def test_the_changelist_makes_the_same_queries_for_5_and_for_500_incidents(
    manager_client, many_incidents
):
    def queries_for_changelist() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get(admin_url("changelist")).status_code == 200
        return len(captured)

    many_incidents(5)
    with_five = queries_for_changelist()
    many_incidents(495)
    assert queries_for_changelist() == with_five
