"""Sending an update: kept with its recipients, one outbox row per recipient and channel,
on the timeline; only the people responsible may send."""

import pytest
from django.contrib.auth.models import Group

from escalation.models import Notification
from incidents import services
from incidents.errors import ActionRefused
from incidents.models import Audience, MessageTemplate, StatusUpdate
from incidents.warroom.communications import audience_recipients, status_update_send

pytestmark = pytest.mark.django_db


def send(incident, by, audience="stakeholders", **extra):
    return status_update_send(incident, by=by, audience=audience, stage="update",
                              subject="Checkout degraded", body="We rolled back.", **extra)


def test_sending_queues_one_outbox_row_per_recipient_and_channel(
        p0, incident_manager, make_user, subscribe, severities, internal_service, payments):
    with_email = make_user(username="ella")
    without_email = make_user(username="noel")
    without_email.email = ""
    without_email.save()
    stakeholders = Group.objects.create(name="Cash team")
    in_group = make_user(username="gina")
    in_group.groups.add(stakeholders)
    other_service = make_user(username="otto")
    too_mild = make_user(username="mild")
    subscribe("stakeholders", user=with_email)
    subscribe("stakeholders", user=without_email, service=payments)
    subscribe("stakeholders", group=stakeholders, min_severity=severities["P1"])
    subscribe("stakeholders", user=with_email, group=stakeholders)  # overlaps: still once each
    subscribe("stakeholders", user=other_service, service=internal_service)
    subscribe("executives", user=too_mild)

    update = send(p0, incident_manager)

    assert set(update.recipients.values_list("username", flat=True)) == {"ella", "noel", "gina"}
    rows = Notification.objects.filter(object_id=update.pk, reason="comms.status_update")
    assert sorted((n.recipient.username, n.channel) for n in rows) == [
        ("ella", "email"), ("ella", "inapp"), ("gina", "email"), ("gina", "inapp"),
        ("noel", "inapp")]
    assert {n.title for n in rows} == {"Checkout degraded"}


def test_a_minimum_severity_subscription_skips_milder_incidents(
        declare, make_user, subscribe, severities):
    p2 = declare(severity="P2")
    subscribe("executives", user=make_user(username="exec"), min_severity=severities["P1"])
    assert audience_recipients(p2, "executives") == []


def test_the_team_audience_includes_the_incidents_roster(p0, incident_manager, responder):
    services.incident_set_responder(p0, by=responder, user=responder, joined=True)
    usernames = {u.username for u in audience_recipients(p0, "team")}
    assert usernames == {"ivan", "rita"}


def test_a_sent_update_is_kept_and_on_the_timeline(p0, incident_manager, subscribe, make_user):
    subscribe("stakeholders", user=make_user(username="ella"))
    update = send(p0, incident_manager)
    assert StatusUpdate.objects.get() == update
    assert update.sent_by == incident_manager
    entry = p0.timeline.filter(kind="message").get()
    assert entry.data["status_update"] == update.pk
    assert "sent the internal stakeholders update “Checkout degraded” to 1 recipient" in entry.text


def test_only_the_incident_manager_communications_lead_or_managers_may_send(
        p0, responder, incident_manager):
    with pytest.raises(ActionRefused, match="may send status updates"):
        send(p0, responder)
    services.incident_assign_role(p0, by=incident_manager, role="communications_lead",
                                  user=responder)
    assert send(p0, responder).sent_by == responder


def test_only_customer_updates_can_be_published(p0, incident_manager):
    with pytest.raises(ActionRefused, match="Updates for executives cannot be published"):
        send(p0, incident_manager, audience="executives", is_public=True)
    assert not StatusUpdate.objects.exists()
    assert send(p0, incident_manager, audience="customer", is_public=True).is_public


def test_the_timeline_says_who_sent_what_to_how_many_and_that_it_was_published(
        p0, incident_manager, subscribe, make_user):
    for username in ("ella", "gina"):
        subscribe("customer", user=make_user(username=username))
    update = send(p0, incident_manager, audience="customer", is_public=True)

    entry = p0.timeline.filter(kind="message").get()
    assert entry.text == ("Ivan Manager sent the customers update “Checkout degraded” to "
                          "2 recipients, published on the status page.")
    assert entry.author == incident_manager
    assert entry.occurred_at == update.sent_at  # not the moment the entry was written
    # What the admin's timeline entry shows about it.
    assert entry.data == {"status_update": update.pk, "audience": "customer",
                          "stage": "update", "public": True}


def test_a_routine_update_is_not_a_key_event_and_a_first_or_resolution_message_is(
        p0, incident_manager):
    for stage in ("update", "initial", "resolution"):
        status_update_send(p0, by=incident_manager, audience="stakeholders", stage=stage,
                           subject=f"The {stage}", body="News.")
    entries = p0.timeline.filter(kind="message")
    assert {e.data["stage"]: e.is_key_event for e in entries} == {
        "update": False, "initial": True, "resolution": True}
    assert all(e.text.endswith("” to 0 recipients.") for e in entries), "not published"


def test_an_update_refused_says_every_reason_in_words(p0, incident_manager, responder):
    with pytest.raises(ActionRefused) as refused:
        status_update_send(p0, by=incident_manager, audience="nobody", stage="update",
                           subject="  ", body="\n")
    assert refused.value.reasons == ["Choose an audience.", "The message needs a subject.",
                                     "The message needs a body."]
    with pytest.raises(ActionRefused) as refused:
        send(p0, incident_manager, audience="executives", is_public=True)
    assert refused.value.reasons == [
        "Updates for executives cannot be published on the status page; choose an audience "
        "that may publish (customers)."]
    with pytest.raises(ActionRefused) as refused:
        send(p0, responder)
    assert refused.value.reasons == [
        "Only the incident manager, the communications lead or a manager may send status "
        "updates."]
    assert not StatusUpdate.objects.exists()


def test_an_update_remembers_its_template_and_a_long_subject_is_cut_to_fit(
        p0, incident_manager):
    template = MessageTemplate.objects.filter(audience="stakeholders", stage="update").first()
    update = status_update_send(p0, by=incident_manager, audience="stakeholders",
                                stage="update", subject="  " + "x" * 300, body="News.",
                                template=template)
    update.refresh_from_db()
    assert update.template == template
    assert update.subject == "x" * 255


def test_a_manager_who_holds_no_role_on_the_incident_may_send(p0, manager):
    assert send(p0, manager).sent_by == manager


def test_an_audience_a_manager_retired_is_refused(p0, incident_manager):
    Audience.objects.filter(slug="stakeholders").update(is_active=False)
    with pytest.raises(ActionRefused) as refused:
        send(p0, incident_manager)
    assert refused.value.reasons == ["Choose an audience."]
    assert not StatusUpdate.objects.exists()


def test_the_team_audience_reaches_its_subscribers_and_the_roster_but_no_deactivated_person(
        p0, incident_manager, make_user, subscribe):
    subscribe("team", user=make_user(username="sam"))
    gone = make_user(username="gone")
    subscribe("team", user=gone)
    gone.is_active = False
    gone.save()
    assert [u.username for u in audience_recipients(p0, "team")] == ["ivan", "sam"]
