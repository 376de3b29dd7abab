"""Managers configure ladders, policies, impact rules and duty rotas in the admin: change pages
open, a step pointing at another ladder's level is refused on the page with nothing saved, and
saving records history with the manager."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from escalation.models import EscalationLadder, EscalationPolicy, ImpactRule, Rota

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    return client


def change_url(obj) -> str:
    return reverse(f"admin:escalation_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.mark.parametrize("model", [EscalationLadder, EscalationPolicy, ImpactRule, Rota])
def test_change_pages_open_with_their_inlines(admin_client, model):
    page = admin_client.get(change_url(model.objects.first()))
    assert page.status_code == 200


def test_the_duty_settings_offer_incident_permissions_only(admin_client):
    page = admin_client.get(change_url(Rota.objects.get(slug="daily-log-checker")))
    choices = page.context["adminform"].form.fields["duty_permissions"].queryset
    assert {p.content_type.model for p in choices} == {"incident"}
    assert "Can triage an incident" in page.content.decode()


def step_form(policy, level, **extra) -> dict:
    data = {"name": policy.name, "slug": policy.slug, "severity": policy.severity_id,
            "ladder": policy.ladder_id, "is_active": "on", "_change_reason": "Tuning",
            "steps-TOTAL_FORMS": "1", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000", "steps-0-order": "50", "steps-0-anchor": "start",
            "steps-0-delay": "00:30:00", "steps-0-clock": "severity",
            "steps-0-level": level.pk, "steps-0-action": "Call the lead"}
    data.update(extra)
    return data


def test_a_step_on_another_ladders_level_is_refused_on_the_page(admin_client, make_user):
    other = EscalationLadder.objects.create(name="Security")
    level = other.levels.create(number=1, name="Security team")
    policy = EscalationPolicy.objects.get(severity__code="P0")
    steps_before = policy.steps.count()
    page = admin_client.post(change_url(policy), step_form(policy, level))
    assert page.status_code == 200
    assert "Choose a level of the policy" in page.content.decode()
    assert policy.steps.count() == steps_before


def test_a_valid_step_is_saved_with_history(admin_client):
    policy = EscalationPolicy.objects.get(severity__code="P0")
    level = policy.ladder.levels.get(number=2)
    response = admin_client.post(change_url(policy), step_form(policy, level))
    assert response.status_code == 302, response.content.decode()[:2000]
    step = policy.steps.get(order=50)
    assert step.history.first().history_user.username == "root"
