"""The one rule: who may see a restricted incident, and what it costs at list scale."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from escalation import services as escalation_services
from escalation.models import EscalationLevel
from incidents import selectors, services
from incidents.models import Incident, IncidentParticipant

pytestmark = pytest.mark.django_db


def sees(user, incident) -> bool:
    return selectors.visible_incidents(user).filter(pk=incident.pk).exists()


def test_an_unrestricted_incident_is_visible_to_all_staff(declare, outsider, product_manager):
    incident = declare()
    assert sees(outsider, incident) and sees(product_manager, incident)


def test_a_restricted_incident_is_hidden_from_staff_who_take_no_part(
        restricted, outsider, product_manager, manager):
    for person in (outsider, product_manager, manager):
        assert not sees(person, restricted), person
        assert not selectors.can_see(person, restricted)


def test_its_reporter_and_incident_manager_see_it(restricted, security_lead):
    assert sees(restricted.reporter, restricted)
    assert sees(security_lead, restricted)


def test_someone_given_a_role_or_joining_the_response_sees_it(restricted, security_lead,
                                                              make_user):
    scribe, joiner = make_user("Responder"), make_user("Responder")
    assert not sees(scribe, restricted) and not sees(joiner, restricted)
    services.incident_assign_role(restricted, by=security_lead, role="scribe", user=scribe)
    services.incident_set_responder(restricted, by=security_lead, user=joiner, joined=True)
    assert sees(scribe, restricted) and sees(joiner, restricted)


def test_a_responder_who_leaves_keeps_seeing_what_they_worked_on(restricted, security_lead,
                                                                make_user):
    helper = make_user("Responder")
    services.incident_set_responder(restricted, by=security_lead, user=helper, joined=True)
    services.incident_set_responder(restricted, by=helper, user=helper, joined=False)
    assert sees(helper, restricted)


def test_people_escalated_to_see_it(restricted, security_lead, make_user):
    level = EscalationLevel.objects.order_by("number").last()
    called = make_user("Responder")
    level.users.add(called)
    assert not sees(called, restricted)
    escalation_services.escalation_record(restricted, level=level, source="manual",
                                          reason_category="security", note="CISO", by=security_lead)
    assert sees(called, restricted)
    assert IncidentParticipant.objects.get(incident=restricted, user=called).reason == "escalated"


def test_members_of_a_named_group_see_it(restricted, security_lead, security_group, outsider):
    outsider.groups.add(security_group)
    assert not sees(outsider, restricted)
    services.incident_set_visibility(restricted, by=security_lead, restricted=True,
                                     groups=[security_group], reason="Security team joins")
    assert sees(outsider, restricted)


def test_holders_of_view_all_restricted_and_superusers_see_it(restricted, make_user):
    auditor = make_user("Product manager")
    auditor.user_permissions.add(Permission.objects.get(codename="view_restricted_incidents"))
    auditor = type(auditor).objects.get(pk=auditor.pk)
    root = make_user(is_superuser=True)
    assert sees(auditor, restricted) and sees(root, restricted)


def test_the_public_and_inactive_people_see_only_unrestricted_incidents(restricted, declare):
    public = declare(title="Open one")
    reporter = restricted.reporter
    reporter.is_active = False
    reporter.save()
    for viewer in (None, AnonymousUser(), reporter):
        visible = set(selectors.visible_incidents(viewer))
        assert restricted not in visible and public in visible


def test_people_who_may_see_keeps_only_allowed_recipients(restricted, security_lead, outsider):
    assert selectors.people_who_may_see(restricted, [security_lead, outsider, None]) == [
        security_lead]


def test_rows_about_incidents_follow_their_incident(restricted, declare, outsider):
    open_incident = declare(title="Everyone may read")
    entries = selectors.restrict_to_visible(
        restricted.timeline.model.objects.all(), outsider, via="incident")
    assert set(entries.values_list("incident", flat=True)) == {open_incident.pk}


def test_the_list_of_visible_incidents_is_one_query_with_exists_not_a_loop(
        restricted, declare, outsider, django_assert_num_queries):
    for number in range(5):
        declare(title=f"Visible {number}")
    outsider.has_perm("incidents.view_incident")  # permissions load once per request anyway
    with django_assert_num_queries(2) as captured:  # the page of incidents, their services
        titles = [i.title for i in selectors.incident_list(user=outsider).order_by("pk")]
    assert restricted.title not in titles and len(titles) == 5
    assert "EXISTS" in captured.captured_queries[0]["sql"].upper()


def test_existing_role_holders_become_participants_when_migrated(restricted):
    # What the migration's backfill relies on: the services keep the relation complete.
    people = set(IncidentParticipant.objects.filter(incident=restricted)
                 .values_list("user", flat=True))
    incident = Incident.objects.get(pk=restricted.pk)
    assert {incident.reporter_id, incident.incident_manager_id} <= people
