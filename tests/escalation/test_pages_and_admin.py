"""The includes other pages use (SLA clocks, escalation status, escalate form, on-call panel),
and the admin pages where managers configure escalation."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from escalation.deadlines import deadlines_sweep

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)


def render_for(template: str, user, **context) -> str:
    request = RequestFactory().get("/")
    request.user = user
    request.htmx = False
    return render_to_string(template, {"request": request, "user": user, **context},
                            request=request)


def test_the_sla_include_shows_each_clock_with_due_time_and_status(declare, responder):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    with time_machine.travel(START + timedelta(hours=3, minutes=30), tick=False):
        html = render_for("escalation/_sla_clocks.html", responder, incident=incident)
    assert "Response" in html and "Resolution" in html
    assert "At risk" in html and "30m left" in html
    assert "Mon 15 Jun 2026" in html or "15 Jun 2026" in html


def test_the_escalation_include_shows_the_current_level_and_offers_the_form(
    declare, responder, staffed_levels
):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1", is_security=True)
    html = render_for("escalation/_escalation_status.html", responder, incident=incident)
    assert "L3 Engineering manager / technical director" in html
    assert "Waiting for acknowledgement" in html
    form_html = render_for("escalation/_escalate_form.html", responder, incident=incident)
    assert reverse("escalation:escalate", kwargs={"reference": incident.reference}) in form_html
    assert "Complexity" in form_html


def test_people_who_may_not_escalate_get_no_form(declare, product_manager):
    incident = declare(severity="P2")
    html = render_for("escalation/_escalate_form.html", product_manager, incident=incident)
    assert "<form" not in html


def test_the_dashboard_panels_show_on_call_and_slas_at_risk(declare, responder):
    with time_machine.travel(START, tick=False):
        incident = declare(severity="P1")
    with time_machine.travel(START + timedelta(hours=5), tick=False):
        deadlines_sweep()
        oncall = render_for("escalation/panels/oncall_now.html", responder)
        attention = render_for("escalation/panels/sla_at_risk.html", responder)
    assert "Daily log checker" in oncall
    assert incident.reference in attention and "Breached" in attention


@pytest.mark.parametrize("model", [
    "slaclock", "escalationevent", "rota", "rotaoverride", "escalationlevel", "escalationpolicy",
    "impactrule", "businesscalendar", "escalationladder",
])
def test_admin_lists_and_add_forms_open_for_managers(client, declare, model):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    with time_machine.travel(START, tick=False):
        declare(severity="P0", is_customer_facing=True)
    client.force_login(admin)
    assert client.get(reverse(f"admin:escalation_{model}_changelist")).status_code == 200
    add = client.get(reverse(f"admin:escalation_{model}_add"))
    assert add.status_code == (403 if model in {"slaclock", "escalationevent"} else 200)


def test_the_incident_page_shows_sla_clocks_escalation_and_the_escalate_form(
    client, declare, responder
):
    incident = declare(severity="P1")
    client.force_login(responder)
    page = client.get(reverse("incidents:detail", kwargs={"reference": incident.reference}))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="sla-clocks-{incident.reference}"' in html
    assert f'id="escalation-status-{incident.reference}"' in html
    assert f'id="escalate-{incident.reference}"' in html


def test_default_escalation_texts_read_as_plain_language(db):
    from escalation.models import EscalationStep, Rota

    texts = [*EscalationStep.objects.values_list("action", flat=True),
             *Rota.objects.values_list("description", flat=True)]
    assert texts, "the default steps and rotas are seeded"
    assert not [text for text in texts if "(seed " in text]
