"""The staff pages read through the selector: a restricted incident is absent for outsiders
(list, search, filters, counts, dashboard, banner), its page is a 404 like an unknown one, and
its people see it and can change who sees it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import Incident

from .conftest import SECRET_TITLE

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_the_list_search_and_filters_leave_it_out_for_an_outsider(
        restricted, declare, outsider, client_for):
    declare(title="Exfiltration drill (public)")
    client = client_for(outsider)
    for query in ("", "?search=Exfiltration", f"?search={restricted.reference}", "?state=open",
                  "?severity=P1", "?mine=on"):
        body = text(client.get(reverse("incidents:list") + query))
        assert restricted.reference not in body and SECRET_TITLE not in body, query
    assert "Exfiltration drill" in text(client.get(reverse("incidents:list") + "?search=Exfil"))


def test_its_participants_find_it_in_the_list(restricted, security_lead, client_for):
    body = text(client_for(security_lead).get(reverse("incidents:list") + "?search=Exfiltration"))
    assert restricted.reference in body and SECRET_TITLE in body


def test_its_page_and_actions_are_not_found_for_an_outsider(restricted, outsider, client_for):
    client = client_for(outsider)
    assert client.get(restricted.get_absolute_url()).status_code == 404
    for name in ("add_note", "update_impact", "responder", "change_visibility"):
        response = client.post(reverse(f"incidents:{name}", args=[restricted.reference]),
                               {"note-text": "peek", "action": "join"})
        assert response.status_code in (403, 404), name
        assert SECRET_TITLE not in text(response)
    assert not restricted.timeline.filter(text="peek").exists()
    assert not restricted.responders.filter(pk=outsider.pk).exists()


def test_dashboard_counts_and_lists_only_what_the_viewer_may_see(
        restricted, declare, outsider, security_lead, client_for):
    services.incident_set_responder(restricted, by=security_lead, user=security_lead, joined=True)
    declare(title="Visible one", severity="P1")
    outsider_page = client_for(outsider).get(reverse("incidents:dashboard"))
    lead_page = client_for(security_lead).get(reverse("incidents:dashboard"))
    p1 = next(r for r in outsider_page.context["open_counts"] if r["severity"].code == "P1")
    p1_lead = next(r for r in lead_page.context["open_counts"] if r["severity"].code == "P1")
    assert (p1["total"], p1_lead["total"]) == (1, 2)
    assert SECRET_TITLE not in text(outsider_page) and restricted.reference not in text(outsider_page)
    assert SECRET_TITLE in text(lead_page)


def test_the_firefighting_banner_says_a_restricted_incident_is_on_without_naming_it(
        declare, security_lead, outsider, client_for):
    p0 = declare(title=SECRET_TITLE, severity="P0")
    services.incident_set_visibility(p0, by=security_lead, restricted=True, reason="Security")
    outsider_body = text(client_for(outsider).get(reverse("incidents:list")))
    assert "Firefighting mode" in outsider_body and "a restricted incident" in outsider_body
    assert SECRET_TITLE not in outsider_body and p0.reference not in outsider_body
    assert SECRET_TITLE in text(client_for(security_lead).get(reverse("incidents:list")))


def test_marking_a_duplicate_of_a_restricted_incident_says_no_such_reference(
        restricted, declare, outsider, make_user, client_for):
    manager = make_user("Incident manager")
    incident = declare(title="Looks similar")
    response = client_for(manager).post(
        reverse("incidents:transition", args=[incident.reference, "mark_duplicate"]),
        {"mark_duplicate-duplicate_of": restricted.reference})
    assert response.status_code == 400
    assert f"No incident has the reference {restricted.reference}" in text(response)
    incident.refresh_from_db()
    assert incident.state == Incident.State.REPORTED


def test_a_duplicate_of_a_restricted_incident_does_not_name_it(
        restricted, declare, security_lead, outsider, client_for):
    incident = declare(title="Seen by everyone")
    services.incident_mark_duplicate(incident, by=security_lead, duplicate_of=restricted)
    outsider_body = text(client_for(outsider).get(incident.get_absolute_url()))
    assert "duplicate of a restricted incident" in outsider_body
    assert restricted.reference not in outsider_body
    assert restricted.reference in text(client_for(security_lead).get(incident.get_absolute_url()))


def test_the_incident_page_shows_who_can_see_it_and_changes_it_with_a_reason(
        restricted, security_lead, security_group, client_for):
    client = client_for(security_lead)
    page = text(client.get(restricted.get_absolute_url()))
    assert 'id="restricted-badge"' in page and "Participants:" in page
    url = reverse("incidents:change_visibility", args=[restricted.reference])
    missing_reason = client.post(url, {"visibility-version": restricted.version,
                                       "visibility-restricted": "on"})
    assert missing_reason.status_code == 400
    assert "Say why the visibility changes." in text(missing_reason)
    response = client.post(url, {"visibility-version": restricted.version,
                                 "visibility-restricted": "on",
                                 "visibility-groups": [security_group.pk],
                                 "visibility-reason": "Security team takes over"})
    assert response.status_code == 302
    restricted.refresh_from_db()
    assert list(restricted.visible_to_groups.all()) == [security_group]


def test_a_responder_gets_no_visibility_form_and_may_not_post_it(declare, responder, client_for):
    incident = declare(by=responder)
    client = client_for(responder)
    assert 'name="visibility-reason"' not in text(client.get(incident.get_absolute_url()))
    response = client.post(reverse("incidents:change_visibility", args=[incident.reference]),
                           {"visibility-version": 1, "visibility-restricted": "on",
                            "visibility-reason": "mine"})
    assert response.status_code == 403
    incident.refresh_from_db()
    assert not incident.is_restricted


def test_the_list_page_costs_the_same_queries_however_many_restricted_incidents_exist(
        declare, security_lead, outsider, client_for, django_assert_max_num_queries):
    def queries_for_list(client) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("incidents:list")).status_code == 200
        return len(captured.captured_queries)

    client = client_for(outsider)
    for number in range(3):
        declare(title=f"Open {number}")
        services.incident_set_visibility(declare(title=f"Secret {number}"), by=security_lead,
                                         restricted=True, reason="need to know")
    few = queries_for_list(client)
    for number in range(3, 25):
        declare(title=f"Open {number}")
        services.incident_set_visibility(declare(title=f"Secret {number}"), by=security_lead,
                                         restricted=True, reason="need to know")
    with django_assert_max_num_queries(few):
        body = text(client.get(reverse("incidents:list")))
    assert "Secret" not in body and "Open 24" in body
