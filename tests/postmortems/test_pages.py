from datetime import timedelta

import pytest
from django.contrib.auth.context_processors import PermWrapper
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from postmortems import services
from postmortems.models import ActionItem, PostMortem

pytestmark = pytest.mark.django_db

SECTIONS = ["summary", "analysis", "resolution", "lessons", "follow_ups", "meeting",
            "business_impact"]


@pytest.fixture
def review(resolved):
    return resolved("P1").postmortem


def url(name, *args):
    return reverse(f"postmortems:{name}", args=args)


def test_review_pages_load_for_a_responder(client, review, responder):
    client.force_login(responder)
    ref = review.incident.reference
    pages = [url("list"), url("detail", ref), url("timeline", ref),
             url("action_item_create", ref), url("my_action_items"), url("action_items")]
    pages += [url("edit", ref, section) for section in SECTIONS]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page


def test_the_detail_page_shows_the_sections_and_the_agenda(client, review, responder):
    client.force_login(responder)
    content = client.get(url("detail", review.incident.reference)).content.decode()
    for heading in ("Incident Summary", "Timeline", "Root Cause", "Resolution and Prevention",
                    "Lessons Learned", "Follow-up Tasks", "Action Items", "Post-Mortem Meeting",
                    "Business Impact Validation", "Identify root causes beyond immediate"):
        assert heading in content


def test_saving_a_section_moves_a_scheduled_review_to_drafting(client, review, responder):
    client.force_login(responder)
    response = client.post(url("edit", review.incident.reference, "lessons"), {
        "version": review.version, "went_well": "Rollback in minutes", "could_improve": "Alerts",
    })
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.state == PostMortem.State.DRAFTING
    assert review.went_well == "Rollback in minutes"


def test_a_summary_ending_before_it_started_shows_an_error_and_saves_nothing(
        client, review, responder):
    client.force_login(responder)
    response = client.post(url("edit", review.incident.reference, "summary"), {
        "version": review.version, "title": "New title", "started_at": "2026-03-02T10:00",
        "ended_at": "2026-03-02T09:00",
    })
    assert response.status_code == 200
    assert "The end cannot be before the start." in response.content.decode()
    review.refresh_from_db()
    assert review.title != "New title"


def test_a_percentage_above_100_is_a_form_error(client, review, responder):
    client.force_login(responder)
    response = client.post(url("edit", review.incident.reference, "business_impact"), {
        "version": review.version, "before_customer_access_pct": "140",
        "revenue_restored_period": "month",
    })
    assert "Enter a percentage between 0 and 100." in response.content.decode()


def test_a_stale_form_is_refused_with_a_message(client, review, responder):
    client.force_login(responder)
    services.postmortem_update(review, by=responder, section="lessons", went_well="First")
    response = client.post(url("edit", review.incident.reference, "lessons"), {
        "version": review.version, "went_well": "Second",
    })
    assert "changed by someone else" in response.content.decode()


def test_an_action_item_due_in_the_past_is_a_form_error(client, review, incident_manager):
    client.force_login(incident_manager)
    response = client.post(url("action_item_create", review.incident.reference), {
        "title": "Add index", "owner": incident_manager.pk, "priority": "high",
        "kind": "prevention", "due_date": (timezone.localdate() - timedelta(days=1)).isoformat(),
    })
    assert response.status_code == 200
    assert "The due date cannot be in the past." in response.content.decode()
    assert not ActionItem.objects.exists()


def test_adding_an_action_item_through_the_page(client, review, incident_manager, responder):
    client.force_login(incident_manager)
    response = client.post(url("action_item_create", review.incident.reference), {
        "title": "Add index", "owner": responder.pk, "priority": "high", "kind": "test",
        "due_date": (timezone.localdate() + timedelta(days=3)).isoformat(),
        "ticket_url": "https://tracker.example.com/OPS-1",
    })
    assert response.status_code == 302
    item = ActionItem.objects.get()
    assert (item.owner, item.kind, item.ticket_url) == (responder, "test",
                                                       "https://tracker.example.com/OPS-1")
    client.force_login(responder)
    assert "Add index" in client.get(url("my_action_items")).content.decode()


def test_a_follow_up_without_a_due_date_names_the_field_in_plain_words(
        client, review, incident_manager, responder):
    """The message used to read "due_date: This field is required."."""
    client.force_login(incident_manager)
    response = client.post(url("action_item_from_follow_up", review.incident.reference),
                           {"follow_up": "add_tests", "owner": responder.pk}, follow=True)
    html = response.content.decode()
    assert "Due date: This field is required." in html
    assert "due_date:" not in html
    assert not ActionItem.objects.exists()


def test_wont_do_without_a_reason_is_refused_on_the_page(client, review, incident_manager,
                                                         responder):
    item = services.action_item_create(review, by=incident_manager, owner=responder, title="X",
                                       due_date=timezone.localdate())
    client.force_login(responder)
    response = client.post(url("action_item_transition", item.pk, "wont_do"), {"reason": ""},
                           follow=True)
    assert "Say why this action item will not be done." in response.content.decode()
    assert ActionItem.objects.get(pk=item.pk).state == ActionItem.State.OPEN


def test_a_product_manager_can_read_but_not_edit(client, review, product_manager):
    client.force_login(product_manager)
    ref = review.incident.reference
    assert client.get(url("detail", ref)).status_code == 200
    assert client.get(url("timeline", ref)).status_code == 403
    assert client.get(url("waive", ref)).status_code == 403
    response = client.post(url("edit", ref, "lessons"), {"version": review.version,
                                                         "went_well": "x"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.went_well == ""


def test_only_managers_reach_the_waive_page_and_waiving_needs_a_reason(
        client, review, manager, incident_manager):
    ref = review.incident.reference
    client.force_login(incident_manager)
    assert client.get(url("waive", ref)).status_code == 403
    client.force_login(manager)
    response = client.post(url("waive", ref), {"reason": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    response = client.post(url("waive", ref), {"reason": "Reviewed with INC-7"})
    assert response.status_code == 302
    assert PostMortem.objects.get(pk=review.pk).waived


def test_only_a_published_review_exports(client, review, responder):
    client.force_login(responder)
    response = client.get(url("export_markdown", review.incident.reference), follow=True)
    assert "Only a published review can be exported." in response.content.decode()


def test_the_list_page_uses_a_bounded_number_of_queries(client, resolved, responder,
                                                        django_assert_max_num_queries):
    for _ in range(3):
        resolved("P1")
    client.force_login(responder)
    with django_assert_max_num_queries(15):
        assert client.get(url("list")).status_code == 200


def test_the_action_item_list_uses_a_bounded_number_of_queries(
        client, review, incident_manager, responder, django_assert_max_num_queries):
    for n in range(5):
        services.action_item_create(review, by=incident_manager, owner=responder, title=f"T{n}",
                                    due_date=timezone.localdate() + timedelta(days=n))
    client.force_login(incident_manager)
    with django_assert_max_num_queries(15):
        assert client.get(url("action_items")).status_code == 200


def test_the_detail_page_shows_related_past_incidents_while_drafting(
        client, resolved, responder):
    earlier = resolved("P2", title="Checkout slow")
    review = resolved("P1").postmortem
    client.force_login(responder)
    content = client.get(url("detail", review.incident.reference)).content.decode()
    assert "Related past incidents" in content
    assert earlier.reference in content


def test_the_incident_panel_links_to_the_review(review, responder):
    html = render_to_string("postmortems/_incident_panel.html", {
        "incident": review.incident, "perms": PermWrapper(responder)})
    assert url("detail", review.incident.reference) in html
    assert "Scheduled" in html


def test_the_incident_panel_offers_a_review_for_an_incident_without_one(
        resolved, incident_manager):
    incident = resolved("P2")
    html = render_to_string("postmortems/_incident_panel.html", {
        "incident": incident, "perms": PermWrapper(incident_manager)})
    assert "optional for P2" in html
    assert url("create", incident.reference) in html


def test_the_dashboard_panel_shows_overdue_counts(review, incident_manager, responder):
    item = services.action_item_create(review, by=incident_manager, owner=responder, title="X",
                                       due_date=timezone.localdate())
    ActionItem.objects.filter(pk=item.pk).update(due_date=timezone.localdate() - timedelta(days=2))
    request = RequestFactory().get("/")
    request.user = incident_manager
    html = render_to_string("postmortems/_dashboard_panel.html",
                            {"perms": PermWrapper(incident_manager)}, request=request)
    assert 'id="overdue-action-items">1<' in html


def test_the_timeline_page_edits_removes_and_adds_lines(client, review, responder):
    items = list(review.timeline.all())
    data = {"items-TOTAL_FORMS": len(items), "items-INITIAL_FORMS": len(items),
            "items-MIN_NUM_FORMS": 0, "items-MAX_NUM_FORMS": 1000,
            "add-occurred_at": "2026-03-02T10:15", "add-text": "Customers informed"}
    for n, item in enumerate(items):
        data.update({f"items-{n}-id": item.pk, f"items-{n}-text": item.text,
                     f"items-{n}-occurred_at": timezone.localtime(item.occurred_at)
                     .strftime("%Y-%m-%dT%H:%M")})
        if n == 0:
            data[f"items-{n}-DELETE"] = "on"
        else:
            data[f"items-{n}-included"] = "on"
    client.force_login(responder)

    response = client.post(url("timeline", review.incident.reference), data)

    assert response.status_code == 302
    texts = list(review.timeline.values_list("text", "included"))
    assert not review.timeline.filter(pk=items[0].pk).exists()
    assert ("Customers informed", True) in texts
    assert all(included for _, included in texts)
    assert review.timeline.count() == len(items)  # one removed, one added


def test_a_new_timeline_line_without_a_time_is_a_form_error(client, review, responder):
    client.force_login(responder)
    response = client.post(url("timeline", review.incident.reference), {
        "items-TOTAL_FORMS": 0, "items-INITIAL_FORMS": 0, "items-MIN_NUM_FORMS": 0,
        "items-MAX_NUM_FORMS": 1000, "add-text": "Customers informed"})
    assert response.status_code == 200
    assert "Give the new line a date and time." in response.content.decode()


def test_the_root_cause_category_from_the_review_reaches_the_incident(
        client, incident_manager, review):
    """The incident page and exports used to say "Not yet known" after the review named it."""
    client.force_login(incident_manager)
    response = client.post(url("edit", review.incident.reference, "analysis"), {
        "version": review.version, "root_cause": "A config key was renamed.",
        "root_cause_category": "configuration"})
    assert response.status_code == 302
    incident = review.incident
    incident.refresh_from_db()
    assert incident.root_cause_category == "configuration"
    assert incident.timeline.filter(text__contains="Root cause category from the post-incident "
                                                   "review").exists()


def test_the_published_root_cause_is_on_the_incident_page(client, responder, review):
    PostMortem.objects.filter(pk=review.pk).update(
        state=PostMortem.State.PUBLISHED, published_at=timezone.now(),
        root_cause="A configuration key was renamed without a migration.")
    client.force_login(responder)
    html = client.get(review.incident.get_absolute_url()).content.decode()
    assert "A configuration key was renamed without a migration." in html
