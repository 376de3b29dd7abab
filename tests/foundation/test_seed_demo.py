"""The demo data behind `./firebreak start`: complete, made through the services, and safe to
load again on every start."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from incidents.management.commands.seed_demo import DEMO_PASSWORD
from incidents.models import Incident, Service, TimelineEntry

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "services": Service.objects.count(),
        "incidents": Incident.objects.count(),
        "timeline": TimelineEntry.objects.count(),
        "history": Incident.history.count(),
    }


def test_seeding_twice_creates_nothing_the_second_time(settings):
    settings.DEBUG = True
    seed()
    first = counts()
    output = seed()
    assert counts() == first
    assert "Declared" not in output


def test_every_staff_group_has_a_demo_login_with_the_printed_password(settings, client):
    settings.DEBUG = True
    output = seed()
    assert f"password for all: {DEMO_PASSWORD}" in output
    expected = {
        "responder": "Responder",
        "incident-manager": "Incident manager",
        "manager": "Manager",
        "product-manager": "Product manager",
    }
    for username, group in expected.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert user.check_password(DEMO_PASSWORD)
        assert username in output
    assert User.objects.get(username="manager").is_staff
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    # Through the login page, as a person signs in (the lockout check needs the request).
    response = client.post(reverse("login"),
                           {"username": "product-manager", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_demo_services_mark_payments_and_registration_as_critical_paths(settings):
    settings.DEBUG = True
    seed()
    critical = set(Service.objects.filter(is_critical_path=True).values_list("name", flat=True))
    assert critical == {"Payments distribution", "Recipient registration"}
    assert Service.objects.count() == 5


def test_demo_incidents_cover_the_lifecycle_with_real_history_and_timeline(settings):
    settings.DEBUG = True
    seed()
    states = set(Incident.objects.values_list("state", flat=True))
    assert states == {"reported", "triaged", "investigating", "mitigated", "resolved", "closed",
                      "cancelled", "duplicate"}
    assert Incident.objects.open().filter(severity__rank=0).exists()  # firefighting mode
    for incident in Incident.objects.all():
        assert incident.timeline.filter(kind=TimelineEntry.Kind.DECLARED).exists()
        assert all(row.history_user_id for row in incident.history.all())
    duplicate = Incident.objects.get(state="duplicate")
    assert duplicate.duplicate_of.severity.code == "P0"


def test_seeding_is_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="looks like a real deployment"):
        seed()
    assert not User.objects.filter(username="admin").exists()
