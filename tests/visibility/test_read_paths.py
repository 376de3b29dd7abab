"""Every other read goes through the selector too: admin (lists, search, change page, history,
related records, actions), post-mortems and action items, reports and their exports,
stakeholder summaries, dashboard panels and the public status page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from escalation.models import EscalationEvent, Notification, SlaClock
from incidents.models import StatusUpdate, TimelineEntry
from postmortems.models import ActionItem, PostMortem

from .conftest import SECRET_TITLE

pytestmark = pytest.mark.django_db


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def hides(response, incident) -> bool:
    text = body(response)
    return SECRET_TITLE not in text and incident.reference not in text


@pytest.fixture
def staff_manager(manager):
    """A manager with admin access who takes no part in the restricted incident."""
    return manager


def test_admin_lists_of_incidents_and_of_their_records_leave_it_out(
        restricted_world, staff_manager, client_for):
    client = client_for(staff_manager)
    for model in ("incidents/incident", "incidents/timelineentry", "escalation/slaclock",
                  "escalation/escalationevent", "escalation/notification",
                  "incidents/statusupdate", "postmortems/postmortem", "postmortems/actionitem",
                  "postmortems/postmortemtimelineitem", "incidents/incidentchecklistitem"):
        response = client.get(f"/admin/{model}/")
        assert response.status_code == 200 and hides(response, restricted_world), model
        # A search shows its own words back; nothing else may come with them.
        by_reference = body(client.get(f"/admin/{model}/?q={restricted_world.reference}"))
        assert SECRET_TITLE not in by_reference, model
        by_title = body(client.get(f"/admin/{model}/?q={SECRET_TITLE.split()[0]}"))
        assert restricted_world.reference not in by_title, model


def test_admin_change_pages_and_history_of_it_are_not_found(restricted_world, staff_manager,
                                                           client_for):
    client = client_for(staff_manager)
    incident_pk = restricted_world.pk
    version = restricted_world.history.first().history_id
    objects = {
        "incidents/incident": incident_pk,
        "incidents/timelineentry": TimelineEntry.objects.filter(incident=incident_pk).first().pk,
        "escalation/slaclock": SlaClock.objects.filter(incident=incident_pk).first().pk,
        "escalation/escalationevent": EscalationEvent.objects.filter(incident=incident_pk).first().pk,
        "postmortems/postmortem": PostMortem.objects.get(incident=incident_pk).pk,
        "postmortems/actionitem": ActionItem.objects.get(postmortem__incident=incident_pk).pk,
        "incidents/statusupdate": StatusUpdate.objects.get(incident=incident_pk).pk,
    }
    for model, pk in objects.items():
        for suffix in ("change/", "history/"):
            response = client.get(f"/admin/{model}/{pk}/{suffix}")
            assert response.status_code in (302, 404), (model, suffix)
            assert hides(response, restricted_world), (model, suffix)
    for url in (f"/admin/incidents/incident/{incident_pk}/history/{version}/",
                f"/admin/incidents/incident/{incident_pk}/visibility/",
                f"/admin/incidents/incident/{incident_pk}/transition/close/"):
        response = client.get(url)
        assert response.status_code in (302, 404) and hides(response, restricted_world), url


def test_its_incident_manager_sees_it_in_the_admin_and_changes_visibility_there(
        restricted_world, security_lead, client_for):
    security_lead.is_staff = True
    security_lead.save()
    client = client_for(security_lead)
    page = body(client.get(f"/admin/incidents/incident/{restricted_world.pk}/change/"))
    assert SECRET_TITLE in page and "Change who can see it" in page
    url = f"/admin/incidents/incident/{restricted_world.pk}/visibility/"
    response = client.post(url, {"expected_version": restricted_world.version,
                                 "reason": "Post-mortem published; share the lessons"})
    assert response.status_code == 302
    restricted_world.refresh_from_db()
    assert not restricted_world.is_restricted
    assert restricted_world.history.first().history_change_reason.startswith("Post-mortem")


def test_reviews_and_action_items_pages_leave_it_out_for_an_outsider(
        restricted_world, outsider, client_for):
    client = client_for(outsider)
    for url in (reverse("postmortems:list"), reverse("postmortems:action_items"),
                reverse("postmortems:list") + "?q=Exfiltration",
                reverse("postmortems:action_items") + "?state="):
        response = client.get(url)
        assert response.status_code == 200 and hides(response, restricted_world), url
    item = ActionItem.objects.get(postmortem__incident=restricted_world)
    for url in (reverse("postmortems:detail", args=[restricted_world.reference]),
                reverse("postmortems:export_markdown", args=[restricted_world.reference]),
                reverse("postmortems:action_item_edit", args=[item.pk])):
        assert client.get(url).status_code == 404, url


def test_its_action_item_owner_sees_the_item_and_its_review(restricted_world, make_user,
                                                            security_lead, client_for):
    from postmortems import services as postmortem_services

    owner = make_user("Responder")
    item = ActionItem.objects.get(postmortem__incident=restricted_world)
    postmortem_services.action_item_update(item, by=security_lead, owner=owner)
    client = client_for(owner)
    assert SECRET_TITLE in body(client.get(reverse("postmortems:my_action_items")))
    assert client.get(reverse("postmortems:detail",
                              args=[restricted_world.reference])).status_code == 200


def test_related_incidents_of_a_review_leave_out_restricted_ones(
        restricted_world, declare, payments, security_lead, outsider):
    from postmortems import selectors as postmortem_selectors
    from postmortems import services as postmortem_services

    later = declare(title="Payments again", services=[payments])
    related_for_outsider = postmortem_selectors.related_incidents(later, outsider)
    related_for_lead = postmortem_selectors.related_incidents(later, security_lead)
    assert restricted_world not in related_for_outsider
    assert restricted_world in related_for_lead
    assert postmortem_services  # the review page itself is covered by the URL walk


def test_reports_count_it_but_never_name_it(restricted_world, manager, security_lead,
                                            client_for):
    today = timezone.localdate()
    period = {"date_from": (today - timezone.timedelta(days=5)).isoformat(),
              "date_to": today.isoformat()}
    client = client_for(manager)
    dashboard = client.get(reverse("reports:dashboard"), period)
    assert dashboard.context["summary"].declared["incidents"] == 1
    assert hides(dashboard, restricted_world)
    assert "A restricted incident (counted, not named)" in body(dashboard)
    for table in ("incidents", "breaches", "action_items", "summary"):
        response = client.get(reverse("reports:export_csv"), {**period, "table": table})
        assert response.status_code == 200 and hides(response, restricted_world), table
    incidents_csv = body(client.get(reverse("reports:export_csv"), {**period, "table": "incidents"}))
    assert "Restricted" in incidents_csv and "counted, not named" in incidents_csv
    breaches_csv = body(client.get(reverse("reports:export_csv"), {**period, "table": "breaches"}))
    assert "Restricted" in breaches_csv
    lead_csv = body(client_for(security_lead).get(reverse("reports:export_csv"),
                                                  {**period, "table": "incidents"}))
    assert SECRET_TITLE in lead_csv or not security_lead.has_perm("incidents.export_reports")


def test_xlsx_and_pdf_exports_do_not_name_it(restricted_world, manager, client_for):
    import io
    import zipfile

    from pypdf import PdfReader

    today = timezone.localdate()
    period = {"date_from": (today - timezone.timedelta(days=5)).isoformat(),
              "date_to": today.isoformat()}
    client = client_for(manager)
    xlsx = b"".join(client.get(reverse("reports:export_xlsx"), period).streaming_content)
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        text = " ".join(archive.read(name).decode("utf-8", "replace")
                        for name in archive.namelist())
    assert SECRET_TITLE not in text and restricted_world.reference not in text
    assert "counted, not named" in text
    pdf = client.get(reverse("reports:export_pdf"), period).content
    pdf_text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Exfiltration" not in pdf_text and restricted_world.reference not in pdf_text


def test_stakeholder_summaries_of_it_are_not_found_for_an_outsider(restricted_world, manager,
                                                                  client_for):
    client = client_for(manager)
    for name in ("incident_summary_pdf", "incident_summary_txt"):
        response = client.get(reverse(f"reports:{name}", args=[restricted_world.reference]))
        assert response.status_code == 404, name


def test_the_sla_panel_on_the_dashboard_leaves_it_out(restricted_world, declare, outsider,
                                                      client_for):
    from escalation import selectors as escalation_selectors

    assert escalation_selectors.sla_clocks_needing_attention(outsider) == []
    page = client_for(outsider).get(reverse("incidents:dashboard"))
    assert hides(page, restricted_world)


def test_the_public_status_page_never_shows_it(restricted_world, client):
    response = client.get(reverse("statuspage:index"))
    assert response.status_code == 200 and hides(response, restricted_world)
    assert "(customer notice)" not in body(response)


def test_notifications_in_the_admin_are_about_incidents_the_viewer_may_see(
        restricted_world, staff_manager):
    from escalation.admin_notifications import NotificationAdmin
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/escalation/notification/")
    request.user = staff_manager
    visible = NotificationAdmin(Notification, admin.site).get_queryset(request)
    assert Notification.objects.filter(incident=restricted_world).exists()
    assert not visible.filter(incident=restricted_world).exists()
