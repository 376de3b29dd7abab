"""Who may open which page, and the firefighting banner on every staff page."""

import pytest
from django.urls import reverse

from incidents.models import Incident

pytestmark = pytest.mark.django_db


def staff_urls(reference: str) -> list[str]:
    return [
        reverse("incidents:dashboard"),
        reverse("incidents:list"),
        reverse("incidents:declare"),
        reverse("incidents:detail", kwargs={"reference": reference}),
    ]


def post_urls(reference: str) -> list[str]:
    return [
        reverse("incidents:transition", kwargs={"reference": reference, "name": "triage"}),
        reverse("incidents:add_note", kwargs={"reference": reference}),
        reverse("incidents:change_severity", kwargs={"reference": reference}),
        reverse("incidents:assign_role", kwargs={"reference": reference}),
        reverse("incidents:responder", kwargs={"reference": reference}),
        reverse("incidents:update_impact", kwargs={"reference": reference}),
    ]


def test_every_staff_page_redirects_an_anonymous_visitor_to_the_login_page(client, declare):
    incident = declare()
    for url in staff_urls(incident.reference):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_every_action_redirects_an_anonymous_visitor_to_login_and_changes_nothing(
    client, declare
):
    incident = declare()
    for url in post_urls(incident.reference):
        response = client.post(url, {"note-text": "sneaky", "action": "join"})
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url
    incident.refresh_from_db()
    assert incident.version == 1
    assert not incident.timeline.filter(text="sneaky").exists()


def test_login_page_renders_with_bootstrap_from_local_static_files(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html
    assert "/static/vendor/htmx/htmx.min.js" in html
    assert "cdn" not in html.lower()


def test_logging_in_leads_to_the_dashboard(client, responder):
    response = client.post(reverse("login"), {"username": "rita",
                                              "password": "correct-horse-battery"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("incidents:dashboard")
    assert "Rita Responder" in response.content.decode()


def test_product_manager_can_view_incidents_but_not_declare_one(
    client_for, product_manager, declare
):
    incident = declare()
    client = client_for(product_manager)
    assert client.get(reverse("incidents:list")).status_code == 200
    assert client.get(incident.get_absolute_url()).status_code == 200
    dashboard = client.get(reverse("incidents:dashboard")).content.decode()
    assert reverse("incidents:declare") not in dashboard
    assert client.get(reverse("incidents:declare")).status_code == 403
    response = client.post(reverse("incidents:declare"), {"title": "Nope"})
    assert response.status_code == 403
    assert Incident.objects.count() == 1


def test_product_manager_sees_no_action_forms_and_cannot_post_a_note(
    client_for, product_manager, declare
):
    incident = declare()
    client = client_for(product_manager)
    html = client.get(incident.get_absolute_url()).content.decode()
    assert 'id="note-form"' not in html
    assert "/transition/" not in html
    response = client.post(reverse("incidents:add_note", args=[incident.reference]),
                           {"note-text": "Looks bad"})
    assert response.status_code == 403
    assert not incident.timeline.filter(text="Looks bad").exists()


def test_logout_is_a_post_form_in_the_user_menu(client_for, responder):
    html = client_for(responder).get(reverse("incidents:dashboard")).content.decode()
    assert f'method="post" action="{reverse("logout")}"' in html


def test_firefighting_banner_shows_on_every_staff_page_while_a_top_severity_incident_is_open(
    client_for, responder, declare
):
    fire = declare(title="Payments down everywhere", severity="P0")
    other = declare(title="Slow search", severity="P2")
    client = client_for(responder)
    for url in staff_urls(other.reference):
        html = client.get(url).content.decode()
        assert 'id="firefighting-banner"' in html, url
        assert fire.reference in html, url


def test_firefighting_banner_is_absent_while_no_top_severity_incident_is_open(
    client_for, incident_manager, declare
):
    declare(title="Slow search", severity="P1")
    fire = declare(title="Payments down everywhere", severity="P0", by=incident_manager)
    client = client_for(incident_manager)
    client.post(reverse("incidents:transition", args=[fire.reference, "cancel"]),
                {"cancel-reason": "False alarm: the monitoring probe was broken."})
    assert Incident.objects.get(pk=fire.pk).state == Incident.State.CANCELLED
    for url in staff_urls(fire.reference):
        html = client.get(url).content.decode()
        assert 'id="firefighting-banner"' not in html, url


def test_firefighting_banner_links_to_the_incident(client_for, responder, declare):
    fire = declare(title="Payments down everywhere", severity="P0")
    html = client_for(responder).get(reverse("incidents:list")).content.decode()
    banner = html.split('id="firefighting-banner"', 1)[1].split("</div>", 1)[0]
    assert f'/{fire.reference}/' in banner


def test_on_a_bad_day_the_banner_names_the_most_severe_and_oldest_three_and_counts_the_rest(
    client_for, responder, declare, severities
):
    """Dozens of firefighting incidents must not make every page list them all: the banner
    names three, the most severe first and then the oldest, and links to the rest."""
    p1 = severities["P1"]
    p1.firefighting = p1.Firefighting.FROM_DECLARATION
    p1.save()
    oldest_p1 = declare(title="Search slow", severity="P1")
    p0s = [declare(title=f"Outage {n}", severity="P0") for n in range(4)]
    html = client_for(responder).get(reverse("incidents:list")).content.decode()
    banner = html.split('id="firefighting-banner"', 1)[1].split("</div>", 1)[0]
    named = [incident for incident in [*p0s, oldest_p1] if incident.reference in banner]
    assert named == p0s[:3]
    assert "and 2 more open" in banner
    assert f'href="{reverse("incidents:list")}?state=open"' in banner
