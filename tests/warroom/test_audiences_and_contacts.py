"""Audiences are data, cadences can count business hours and cover several audiences, and
contacts (people without a login) hear by e-mail only, with no link into the staff pages."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import override_settings

from escalation import delivery
from escalation.deadlines import deadlines_sweep
from escalation.models import Notification
from incidents import services
from incidents.people import display_name
from incidents.models import (
    Audience,
    CommunicationCadence,
    Contact,
    MessageTemplate,
    StatusUpdate,
)
from incidents.warroom.communications import (
    STAFF_LINK_REPLACEMENT,
    audience_contacts,
    cadence_status,
    message_render,
    next_update_due,
    status_update_send,
    strip_staff_links,
)

pytestmark = pytest.mark.django_db

SITE = "https://firebreak.example.org"
# Friday 6 March 2026, 16:00 in Amsterdam (CET): one working hour left in the week.
FRIDAY_4PM = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
MONDAY_10AM = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


@pytest.fixture
def clients_audience(db):
    return Audience.objects.create(slug="clients", name="Clients")


@pytest.fixture
def client_contact(subscribe, clients_audience):
    contact = Contact.objects.create(name="Amira Haddad", email="Amira@Example.org",
                                     organisation="Example Aid")
    subscribe("clients", contact=contact)
    return contact


@pytest.fixture
def p2_business_hours_cadence(severities):
    """Seed 004, P2: "Status updates every 2 hours during business hours", to several
    internal audiences at once."""
    CommunicationCadence.objects.filter(severity=severities["P2"]).update(is_active=False)
    cadence = CommunicationCadence.objects.create(
        slug="p2-status-business-hours", severity=severities["P2"], interval=timedelta(hours=2),
        business_hours_only=True, note="Seed 004 High: every 2 hours during business hours")
    cadence.audiences.set(Audience.objects.filter(slug__in=["stakeholders", "executives"]))
    return cadence


@pytest.fixture
def p2_on_friday(declare, incident_manager, responder, p2_business_hours_cadence):
    with time_machine.travel(FRIDAY_4PM, tick=False):
        incident = declare(title="Exports are slow", severity="P2")
        services.incident_assign_role(incident, by=incident_manager, role="incident_manager",
                                      user=incident_manager)
        return services.incident_assign_role(incident, by=incident_manager,
                                             role="communications_lead", user=responder)


def overdue_reminders(audience):
    return Notification.objects.filter(reason__startswith=f"comms.update_overdue.{audience}.",
                                       channel="inapp")


def test_seed_004_p2_cadence_counts_business_hours_for_several_audiences(p2_on_friday):
    incident = p2_on_friday
    # One working hour on Friday, one on Monday morning: due Monday 10:00 local.
    assert next_update_due(incident, "stakeholders") == MONDAY_10AM
    assert next_update_due(incident, "executives") == MONDAY_10AM
    assert next_update_due(incident, "customer") is None

    with time_machine.travel(MONDAY_10AM - timedelta(minutes=1), tick=False):
        deadlines_sweep()  # the whole weekend passed: 48 real hours, 59 working minutes
    assert not overdue_reminders("stakeholders").exists()
    with time_machine.travel(MONDAY_10AM, tick=False):
        deadlines_sweep()
    assert overdue_reminders("stakeholders").count() == 2  # lead and manager
    assert overdue_reminders("executives").count() == 2


def test_an_update_to_one_audience_restarts_only_its_business_hours_timer(
        p2_on_friday, incident_manager):
    incident = p2_on_friday
    monday_9_30 = MONDAY_10AM - timedelta(minutes=30)
    with time_machine.travel(monday_9_30, tick=False):
        status_update_send(incident, by=incident_manager, audience="stakeholders",
                           stage="update", subject="Still slow", body="Looking at the index.")
    assert next_update_due(incident, "stakeholders") == monday_9_30 + timedelta(hours=2)
    assert next_update_due(incident, "executives") == MONDAY_10AM
    with time_machine.travel(MONDAY_10AM, tick=False):
        states = {s.audience: s for s in cadence_status(incident)}
    assert states["executives"].is_overdue and not states["stakeholders"].is_overdue
    assert states["executives"].label == "Executives"


def test_the_update_cadence_variable_says_business_hours(p2_on_friday):
    template = MessageTemplate.objects.create(
        name="Cadence", audience_id="stakeholders", stage="update", subject="x",
        body="Updates {{ update_cadence }}.")
    _, body = message_render(template, p2_on_friday)
    assert body == "Updates every 2 h during business hours."


@override_settings(SITE_URL=SITE)
def test_seed_002_clients_are_contacts_who_get_e_mail_without_staff_links(
        p0, incident_manager, client_contact, clients_audience):
    """Seed 002: "Since we have direct contact with clients, the PM ... communicates updates
    directly": clients have no login, so they get the update by e-mail only."""
    body = (f"Payouts are delayed. Status: {SITE}/status/ . "
            f"Team notes: {SITE}/war-room/{p0.reference}/ and {SITE}/admin/incidents/")
    update = status_update_send(p0, by=incident_manager, audience="clients", stage="initial",
                                subject="Payouts delayed", body=body)

    assert list(update.contacts.all()) == [client_contact]
    assert update.recipients.count() == 0
    [row] = Notification.objects.filter(to_address="amira@example.org")
    assert (row.channel, row.recipient, row.url) == ("email", None, "")
    assert not Notification.objects.filter(to_address="amira@example.org", channel="inapp")

    mail.outbox.clear()
    delivery.deliver_due()
    [message] = [m for m in mail.outbox if "amira@example.org" in m.to[0]]
    assert message.to == ["Amira Haddad <amira@example.org>"]
    assert message.subject == "Payouts delayed"
    assert f"{SITE}/status/" in message.body
    assert "/war-room/" not in message.body and "/admin/" not in message.body
    assert "Open in Firebreak" not in message.body
    assert message.body.count(STAFF_LINK_REPLACEMENT) == 2
    entry = p0.timeline.get(kind="message")
    assert entry.text == (f"{display_name(incident_manager)} sent the clients initial notification "
                          "“Payouts delayed” to 1 recipient (1 by e-mail to contacts).")
    assert row.reason == "comms.status_update"


@override_settings(SITE_URL=SITE)
def test_a_rendered_template_keeps_its_war_room_link_for_staff_only(
        p0, incident_manager, responder, subscribe, client_contact):
    subscribe("clients", user=responder)
    template = MessageTemplate.objects.get(name="Team: incident detected")
    subject, body = message_render(template, p0)
    assert f"{SITE}/war-room/{p0.reference}/" in body
    status_update_send(p0, by=incident_manager, audience="clients", stage="initial",
                       subject=subject, body=body)
    staff = Notification.objects.get(recipient=responder, channel="email",
                                     reason="comms.status_update")
    contact = Notification.objects.get(to_address="amira@example.org")
    assert "/war-room/" in staff.body and staff.url
    assert "/war-room/" not in contact.body and STAFF_LINK_REPLACEMENT in contact.body


def test_inactive_contacts_and_other_audiences_contacts_hear_nothing(
        p0, incident_manager, subscribe, client_contact):
    Contact.objects.filter(pk=client_contact.pk).update(is_active=False)
    status_update_send(p0, by=incident_manager, audience="clients", stage="initial",
                       subject="Delayed", body="Details")
    status_update_send(p0, by=incident_manager, audience="stakeholders", stage="initial",
                       subject="Delayed", body="Details")
    assert not Notification.objects.filter(to_address="amira@example.org").exists()


def test_strip_staff_links_keeps_other_sites_and_the_status_page():
    with override_settings(SITE_URL=SITE):
        text = (f"See {SITE}/status/, {SITE}/status, https://vendor.example/x and "
                f"({SITE}/incidents/INC-1/).")
        assert strip_staff_links(text) == (
            f"See {SITE}/status/, {SITE}/status, https://vendor.example/x and "
            f"({STAFF_LINK_REPLACEMENT}).")


def test_only_audiences_that_may_publish_reach_the_status_page(
        p0, incident_manager, clients_audience):
    with pytest.raises(Exception, match="Updates for clients cannot be published"):
        status_update_send(p0, by=incident_manager, audience="clients", stage="initial",
                           subject="x", body="y", is_public=True)
    Audience.objects.filter(slug="clients").update(may_publish=True)
    update = status_update_send(p0, by=incident_manager, audience="clients", stage="initial",
                                subject="x", body="y", is_public=True)
    assert StatusUpdate.objects.get(pk=update.pk).is_public


def test_managers_configure_audiences_contacts_and_cadences_in_the_admin(
        manager, client_for, client_contact, p2_business_hours_cadence):
    client = client_for(manager)
    audience = Audience.objects.get(slug="clients")
    for url in ("/admin/incidents/audience/", f"/admin/incidents/audience/{audience.pk}/change/",
                "/admin/incidents/contact/", f"/admin/incidents/contact/{client_contact.pk}/change/",
                "/admin/incidents/communicationcadence/",
                f"/admin/incidents/communicationcadence/{p2_business_hours_cadence.pk}/change/"):
        assert client.get(url).status_code == 200, url
    page = client.get(f"/admin/incidents/audience/{audience.pk}/change/").content.decode()
    assert "Amira Haddad" in page  # the subscriptions inline
    response = client.post("/admin/incidents/contact/add/", {
        "name": "Cash IM team", "email": "cash-im@example.org", "organisation": "Example Aid",
        "is_active": "on",
        "subscriptions-TOTAL_FORMS": "1", "subscriptions-INITIAL_FORMS": "0",
        "subscriptions-0-audience": "stakeholders",
    })
    assert response.status_code == 302
    contact = Contact.objects.get(email="cash-im@example.org")
    assert contact.subscriptions.get().audience_id == "stakeholders"
    assert contact.history.first().history_user == manager


def test_the_admin_refuses_an_absurd_cadence_naming_the_field(manager, client_for, severities):
    response = client_for(manager).post("/admin/incidents/communicationcadence/add/", {
        "slug": "silly", "severity": severities["P1"].pk,
        "audiences": [Audience.objects.get(slug="stakeholders").pk],
        "interval": "999999 00:00:00", "is_active": "on",
    })
    assert response.status_code == 200
    assert "Interval must be from 1m to 1 year." in response.content.decode()
    assert not CommunicationCadence.objects.filter(slug="silly").exists()


def test_a_cadence_in_business_hours_is_typed_in_business_days_and_a_24x7_one_refuses_them(
        manager, client_for, severities):
    client = client_for(manager)
    form = {"slug": "p2-internal", "severity": severities["P2"].pk,
            "audiences": [Audience.objects.get(slug="stakeholders").pk],
            "interval": "1 business day", "is_active": "on"}
    response = client.post("/admin/incidents/communicationcadence/add/", form)
    assert response.status_code == 200
    assert "business days need the business-hours clock" in response.content.decode()
    assert not CommunicationCadence.objects.filter(slug="p2-internal").exists()

    response = client.post("/admin/incidents/communicationcadence/add/",
                           {**form, "business_hours_only": "on"})
    assert response.status_code == 302
    cadence = CommunicationCadence.objects.get(slug="p2-internal")
    assert cadence.interval == timedelta(days=1) and cadence.business_hours_only
    page = client.get(f"/admin/incidents/communicationcadence/{cadence.pk}/change/")
    assert 'value="1 business day"' in page.content.decode()


def test_contacts_hear_of_a_restricted_incident_only_that_there_is_news(
        declare, incident_manager, responder, subscribe, client_contact, client_for):
    """Nobody without a login may see a restricted incident: contacts get what a non-participant
    gets (its severity and that there is news), never its title, reference or the update."""
    subscribe("clients", user=responder)  # staff, but no participant
    incident = declare(title="Token leaked on a paste site", severity="P1", restricted=True,
                       by=incident_manager)
    incident = services.incident_assign_role(incident, by=incident_manager,
                                             role="incident_manager", user=incident_manager)
    template = MessageTemplate.objects.create(
        name="Clients", audience_id="clients", stage="initial", subject="News", body="News")
    page = client_for(incident_manager).get(
        f"/war-room/{incident.reference}/messages/new/?template={template.pk}").content.decode()
    assert "Amira Haddad" in page and "they are told only that there is news" in page
    status_update_send(incident, by=incident_manager, audience="clients", stage="initial",
                       subject="Token leaked on a paste site", body="Rotate your keys.")

    rows = Notification.objects.filter(reason="comms.status_update")
    for row in rows.filter(to_address="amira@example.org") | rows.filter(recipient=responder):
        assert "Token" not in row.title and incident.reference not in row.title
        assert (row.body, row.url) == ("", "")
    mail.outbox.clear()
    delivery.deliver_due()
    [message] = [m for m in mail.outbox if "amira@example.org" in m.to[0]]
    assert "restricted incident" in message.subject and "Token" not in message.subject
    assert "Rotate" not in message.body


def test_an_update_queued_before_the_incident_was_restricted_reaches_contacts_redacted(
        p0, incident_manager, client_contact):
    status_update_send(p0, by=incident_manager, audience="clients", stage="initial",
                       subject=f"{p0.title}: delayed", body="Rotate your keys.")
    services.incident_set_visibility(p0, by=incident_manager, restricted=True,
                                     reason="Turned out to be a security incident")
    mail.outbox.clear()
    delivery.deliver_due()
    [message] = [m for m in mail.outbox if "amira@example.org" in m.to[0]]
    assert p0.title not in message.subject and "Rotate" not in message.body


def test_an_audiences_contacts_are_its_own_active_ones_by_organisation_then_name(
        p0, subscribe, clients_audience):
    # Six names in one organisation: rows in any other order would rarely happen to be sorted.
    for name, organisation in [("Zoe Quist", "Acme"), ("Bert Alma", "Zenith"),
                               ("Mia Lund", "Acme"), ("Anna Berg", "Acme"), ("Lars Holm", "Acme"),
                               ("Eva Dahl", "Acme"), ("Carl Ek", "Acme")]:
        subscribe("clients", contact=Contact.objects.create(
            name=name, email=f"{name.split()[0].lower()}@example.org", organisation=organisation))
    subscribe("stakeholders", contact=Contact.objects.create(
        name="Other Audience", email="other@example.org", organisation="Acme"))
    assert [c.name for c in audience_contacts(p0, "clients")] == [
        "Anna Berg", "Carl Ek", "Eva Dahl", "Lars Holm", "Mia Lund", "Zoe Quist", "Bert Alma"]


@pytest.mark.parametrize("site_url", [SITE, f"{SITE}/", "https://intra.example.org/OPSBOX/"])
def test_strip_staff_links_for_a_site_address_with_a_slash_or_a_path(site_url):
    site = site_url.rstrip("/")
    with override_settings(SITE_URL=site_url):
        assert strip_staff_links(f"See {site}/status/ and {site}/incidents/INC-1/") == (
            f"See {site}/status/ and {STAFF_LINK_REPLACEMENT}")
