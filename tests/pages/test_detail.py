"""The incident page: what it shows, the transitions a user may make, and every action on it."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from incidents import services
from incidents.models import Incident, TimelineEntry

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def transition_url(incident, name):
    return reverse("incidents:transition", args=[incident.reference, name])


def offered_transitions(html: str) -> set[str]:
    return set(re.findall(r'/transition/([a-z_]+)/"', html))


@pytest.fixture
def triaged(declare, incident_manager, severities):
    incident = declare()
    return services.incident_triage(incident, by=incident_manager,
                                    incident_manager=incident_manager)


# --- What the page shows ---------------------------------------------------------------------


def test_detail_shows_roles_impact_services_and_times_with_full_date(
    client_for, responder, declare, payments
):
    with time_machine.travel(datetime(2026, 3, 10, 14, 30, tzinfo=AMSTERDAM), tick=False):
        incident = declare(title="Checkout down", services=[payments], customers_affected=42,
                           is_security=True,
                           detected_at=datetime(2026, 3, 10, 14, 5, tzinfo=AMSTERDAM))
    html = client_for(responder).get(incident.get_absolute_url()).content.decode()
    assert "Checkout down" in html
    assert "Payments" in html
    assert ">security<" in html
    assert "42" in html
    assert "Tue 10 Mar 2026, 14:05 CET" in html  # detected, full date and time
    assert "Tue 10 Mar 2026, 14:30 CET" in html  # declared


def test_timeline_shows_full_date_and_time_and_marks_key_events(client_for, responder, declare):
    with time_machine.travel(datetime(2026, 3, 10, 14, 30, tzinfo=AMSTERDAM), tick=False):
        incident = declare()
        services.timeline_add_note(incident, by=responder, text="Rolled back the deploy",
                                   is_key_event=False)
    html = client_for(responder).get(incident.get_absolute_url()).content.decode()
    declared = incident.timeline.get(kind=TimelineEntry.Kind.DECLARED)
    note = incident.timeline.get(text="Rolled back the deploy")
    assert re.search(rf'id="entry-{declared.pk}"', html)
    assert f'class="px-3 py-2 entry key-event" id="entry-{declared.pk}"' in html
    assert f'class="px-3 py-2 entry" id="entry-{note.pk}"' in html
    assert html.count("Tue 10 Mar 2026, 14:30 CET") >= 2


def test_unknown_incident_is_404(client_for, responder):
    assert client_for(responder).get("/incidents/INC-1999-9999/").status_code == 404


# --- Which transitions are offered -----------------------------------------------------------


def test_responder_is_offered_no_triage_on_a_reported_incident(client_for, responder, declare):
    incident = declare()
    html = client_for(responder).get(incident.get_absolute_url()).content.decode()
    assert offered_transitions(html) == set()


def test_incident_manager_is_offered_triage_with_manager_choice_and_cancel_on_a_reported_one(
    client_for, incident_manager, declare
):
    incident = declare()
    html = client_for(incident_manager).get(incident.get_absolute_url()).content.decode()
    assert offered_transitions(html) == {"triage", "cancel", "mark_duplicate"}
    assert 'name="triage-incident_manager"' in html
    assert 'name="triage-severity"' in html


def test_responder_is_offered_only_the_work_transitions_on_a_triaged_incident(
    client_for, responder, triaged
):
    html = client_for(responder).get(triaged.get_absolute_url()).content.decode()
    assert offered_transitions(html) == {"investigate", "mitigate", "resolve"}
    assert 'name="resolve-summary"' in html
    assert 'name="mitigate-workaround"' in html


def test_resolved_incident_offers_an_incident_manager_reopen_and_close(
    client_for, incident_manager, triaged
):
    services.incident_resolve(triaged, by=incident_manager, summary="Rolled back.")
    html = client_for(incident_manager).get(triaged.get_absolute_url()).content.decode()
    assert offered_transitions(html) == {"reopen", "close"}
    assert 'name="reopen-reason"' in html


def test_a_transition_blocked_by_a_guard_the_form_cannot_satisfy_is_explained_not_offered(
    client_for, incident_manager, triaged
):
    from incidents import guards

    def on_hold(incident):
        return ["The change freeze is on."]

    with guards.registered("investigate", on_hold):
        html = client_for(incident_manager).get(triaged.get_absolute_url()).content.decode()
    assert "investigate" not in offered_transitions(html)
    assert "The change freeze is on." in html


# --- Transitions by POST ---------------------------------------------------------------------


def test_triage_by_post_assigns_the_manager_confirms_severity_and_triages(
    client_for, incident_manager, declare, severities
):
    incident = declare(severity="P2")
    response = client_for(incident_manager).post(transition_url(incident, "triage"), {
        "triage-severity": severities["P1"].pk,
        "triage-incident_manager": incident_manager.pk,
        "triage-reason": "Card payments affected",
    })
    incident.refresh_from_db()
    assert response.status_code == 302
    assert response.url == incident.get_absolute_url()
    assert incident.state == Incident.State.TRIAGED
    assert incident.incident_manager == incident_manager
    assert incident.severity.code == "P1"


@pytest.mark.parametrize("name, data, state, field, value", [
    ("investigate", {}, "investigating", None, None),
    ("mitigate", {"mitigate-workaround": "Pay by bank transfer"}, "mitigated",
     "workaround", "Pay by bank transfer"),
    ("resolve", {"resolve-summary": "Rolled back release 42."}, "resolved",
     "resolution_summary", "Rolled back release 42."),
])
def test_work_transitions_by_post_move_the_state(
    client_for, responder, triaged, name, data, state, field, value
):
    response = client_for(responder).post(transition_url(triaged, name), data)
    triaged.refresh_from_db()
    assert response.status_code == 302
    assert triaged.state == state
    if field:
        assert getattr(triaged, field) == value


def test_reopen_and_close_by_post(client_for, incident_manager, triaged):
    services.incident_resolve(triaged, by=incident_manager, summary="Rolled back.")
    client = client_for(incident_manager)
    client.post(transition_url(triaged, "reopen"), {"reopen-reason": "Errors are back."})
    triaged.refresh_from_db()
    assert triaged.state == Incident.State.INVESTIGATING
    assert triaged.timeline.filter(text__contains="Errors are back.").exists()
    services.incident_resolve(triaged, by=incident_manager, summary="Fixed for real.")
    client.post(transition_url(triaged, "close"), {})
    triaged.refresh_from_db()
    assert triaged.state == Incident.State.CLOSED


def test_cancel_and_mark_duplicate_by_post(client_for, incident_manager, declare):
    first, second, third = declare(), declare(), declare()
    client = client_for(incident_manager)
    client.post(transition_url(first, "cancel"), {"cancel-reason": "Test alert."})
    client.post(transition_url(second, "mark_duplicate"),
                {"mark_duplicate-duplicate_of": third.reference.lower()})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == Incident.State.CANCELLED
    assert second.state == Incident.State.DUPLICATE
    assert second.duplicate_of == third


def test_mark_duplicate_of_an_unknown_reference_shows_the_error_and_changes_nothing(
    client_for, incident_manager, declare
):
    incident = declare()
    response = client_for(incident_manager).post(
        transition_url(incident, "mark_duplicate"),
        {"mark_duplicate-duplicate_of": "INC-1999-0001"})
    incident.refresh_from_db()
    assert response.status_code == 400
    assert "No incident has the reference INC-1999-0001." in response.content.decode()
    assert incident.state == Incident.State.REPORTED


def test_resolve_without_a_summary_shows_the_error_and_changes_nothing(
    client_for, responder, triaged
):
    response = client_for(responder).post(transition_url(triaged, "resolve"),
                                          {"resolve-summary": "  "})
    triaged.refresh_from_db()
    assert response.status_code == 400
    assert "A resolution summary is required to resolve." in response.content.decode()
    assert triaged.state == Incident.State.TRIAGED


def test_a_refused_transition_lists_every_reason_keeps_the_input_and_changes_nothing(
    client_for, responder, triaged
):
    from incidents import guards

    def checklist(incident):
        return ["Two checklist items are still open.", "The status page was not updated."]

    with guards.registered("resolve", checklist):
        response = client_for(responder).post(transition_url(triaged, "resolve"),
                                              {"resolve-summary": "Rolled back release 42."})
    html = response.content.decode()
    triaged.refresh_from_db()
    assert response.status_code == 409
    assert "Two checklist items are still open." in html
    assert "The status page was not updated." in html
    assert triaged.state == Incident.State.TRIAGED
    assert triaged.resolution_summary == ""
    assert not triaged.timeline.filter(kind=TimelineEntry.Kind.TRANSITION,
                                       data__transition="resolve").exists()


def test_a_transition_without_permission_is_refused_with_the_reason(
    client_for, responder, declare, severities
):
    incident = declare()
    response = client_for(responder).post(transition_url(incident, "triage"), {
        "triage-severity": severities["P1"].pk, "triage-incident_manager": responder.pk,
    })
    incident.refresh_from_db()
    assert response.status_code == 409
    assert "You do not have permission" in response.content.decode()
    assert incident.state == Incident.State.REPORTED
    assert incident.incident_manager is None


def test_a_transition_someone_else_already_made_is_refused_clearly(
    client_for, responder, incident_manager, triaged
):
    services.incident_resolve(triaged, by=incident_manager, summary="Rolled back.")
    response = client_for(responder).post(transition_url(triaged, "resolve"),
                                          {"resolve-summary": "My summary"})
    triaged.refresh_from_db()
    assert response.status_code == 409
    assert "cannot be resolved from there" in response.content.decode()
    assert triaged.resolution_summary == "Rolled back."


def test_an_unknown_transition_name_is_404(client_for, incident_manager, declare):
    incident = declare()
    response = client_for(incident_manager).post(transition_url(incident, "explode"), {})
    assert response.status_code == 404


def test_transitions_only_accept_post(client_for, incident_manager, declare):
    incident = declare()
    assert client_for(incident_manager).get(transition_url(incident, "cancel")).status_code == 405


# --- Notes, severity, roles, responders --------------------------------------------------------


def test_adding_a_backdated_key_note(client_for, responder, declare):
    with time_machine.travel(datetime(2026, 3, 10, 14, 30, tzinfo=AMSTERDAM), tick=False):
        incident = declare()
        response = client_for(responder).post(
            reverse("incidents:add_note", args=[incident.reference]),
            {"note-text": "First alert fired", "note-occurred_at": "2026-03-10T13:55",
             "note-is_key_event": "on"})
    note = incident.timeline.get(text="First alert fired")
    assert response.status_code == 302
    assert note.occurred_at == datetime(2026, 3, 10, 13, 55, tzinfo=AMSTERDAM)
    assert note.is_key_event and note.author == responder


def test_a_note_dated_in_the_future_is_refused_with_the_text_kept(client_for, responder, declare):
    with time_machine.travel(datetime(2026, 3, 10, 14, 30, tzinfo=AMSTERDAM), tick=False):
        incident = declare()
        response = client_for(responder).post(
            reverse("incidents:add_note", args=[incident.reference]),
            {"note-text": "Predicting the future", "note-occurred_at": "2026-03-10T16:00"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "cannot be in the future" in html
    assert "Predicting the future" in html
    assert not incident.timeline.filter(text="Predicting the future").exists()


def test_changing_severity_needs_a_reason_and_records_it(
    client_for, incident_manager, declare, severities
):
    incident = declare(severity="P2")
    client = client_for(incident_manager)
    url = reverse("incidents:change_severity", args=[incident.reference])
    refused = client.post(url, {"severity-severity": severities["P0"].pk,
                                "severity-version": incident.version, "severity-reason": ""})
    assert refused.status_code == 400
    assert Incident.objects.get(pk=incident.pk).severity.code == "P2"
    client.post(url, {"severity-severity": severities["P0"].pk,
                      "severity-version": incident.version,
                      "severity-reason": "All card payments fail"})
    incident.refresh_from_db()
    assert incident.severity.code == "P0"
    assert incident.timeline.filter(kind=TimelineEntry.Kind.SEVERITY,
                                    text__contains="All card payments fail").exists()


def test_assigning_a_communications_lead(client_for, incident_manager, responder, declare):
    incident = declare()
    response = client_for(incident_manager).post(
        reverse("incidents:assign_role", args=[incident.reference]),
        {"role-role": "communications_lead", "role-user": responder.pk,
         "role-version": incident.version, "role-reason": "Knows the customers"})
    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.communications_lead == responder


def test_a_responder_can_join_and_leave_the_response(client_for, responder, declare):
    incident = declare()
    client = client_for(responder)
    url = reverse("incidents:responder", args=[incident.reference])
    client.post(url, {"action": "join"})
    assert list(incident.responders.all()) == [responder]
    html = client.get(incident.get_absolute_url()).content.decode()
    assert "Leave the response" in html
    client.post(url, {"action": "leave"})
    assert not incident.responders.exists()


# --- Impact and stale edits -------------------------------------------------------------------


def test_impact_edit_saves_the_changes(client_for, responder, declare):
    incident = declare()
    form = client_for(responder).get(incident.get_absolute_url()).context["impact_form"]
    data = {f"impact-{name}": value for name, value in form.initial.items() if value is not None}
    data.update({"impact-customers_affected": "5000", "impact-is_security": "on",
                 "impact-reason": "Support queue exploding"})
    data = {key: value for key, value in data.items() if value is not False}
    response = client_for(responder).post(
        reverse("incidents:update_impact", args=[incident.reference]), data)
    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.customers_affected == 5000
    assert incident.is_security


def test_a_stale_impact_edit_is_refused_with_the_conflict_and_keeps_the_users_input(
    client_for, responder, incident_manager, declare
):
    incident = declare()
    stale_version = incident.version
    services.incident_update_impact(incident, by=incident_manager, customers_affected=10)
    response = client_for(responder).post(
        reverse("incidents:update_impact", args=[incident.reference]), {
            "impact-version": stale_version,
            "impact-customers_affected": "777",
            "impact-currency": "EUR",
            "impact-incident_type": "security",
            "impact-workaround": "Use the mobile app meanwhile",
        })
    html = response.content.decode()
    incident.refresh_from_db()
    assert response.status_code == 409
    assert "was changed by someone else" in html
    assert 'value="777"' in html
    assert "Use the mobile app meanwhile" in html
    assert incident.customers_affected == 10
    assert incident.workaround == ""
    # Saving again after seeing the conflict applies the kept input deliberately.
    form = response.context["impact_form"]
    assert form["version"].value() == incident.version


def test_detail_page_query_count_does_not_grow_with_the_timeline_or_responders(
    client_for, incident_manager, make_user, triaged
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(incident_manager)
    url = triaged.get_absolute_url()
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = count()
    for i in range(20):
        services.timeline_add_note(triaged, by=make_user("Responder"), text=f"Note {i}")
        services.incident_set_responder(triaged, by=incident_manager,
                                        user=make_user("Responder"), joined=True)
    assert count() == few


def test_how_long_an_incident_went_on_counts_from_detection(declare, incident_manager):
    from datetime import timedelta

    from django.utils import timezone

    from incidents.templatetags.firebreak import incident_age

    incident = declare(by=incident_manager, detected_at=timezone.now() - timedelta(hours=26))
    assert incident_age(incident).startswith("1\xa0day, 2\xa0hours")


def test_the_impact_form_changes_the_affected_services(client_for, responder, declare, payments):
    from incidents.models import Service

    api = Service.objects.create(name="API", slug="api")
    incident = declare(services=[payments])
    page = client_for(responder).get(incident.get_absolute_url())
    assert page.context["impact_form"].initial["services"] == [payments]
    response = client_for(responder).post(
        reverse("incidents:update_impact", args=[incident.reference]),
        {"impact-version": incident.version, "impact-services": [payments.pk, api.pk],
         "impact-currency": "EUR", "impact-incident_type": "technical",
         "impact-reason": "The API is down too"},
    )
    assert response.status_code == 302
    assert set(incident.services.all()) == {payments, api}
    assert "services" in incident.timeline.filter(kind="impact").get().text
