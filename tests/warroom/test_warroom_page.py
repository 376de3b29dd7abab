"""The war-room page and its endpoints: permissions, bounded queries, the live timeline
fragment, quick notes with backdating, ticking, transitions and composing an update."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from incidents import services
from incidents.models import StatusUpdate, TimelineEntry
from incidents.warroom.forms import time_from_text

pytestmark = pytest.mark.django_db


def url(incident, suffix=""):
    return f"/war-room/{incident.reference}/{suffix}"


def test_the_war_room_needs_a_login_and_the_incident_permission(p0, client, make_user, client_for):
    assert client.get(url(p0)).status_code == 302
    assert client_for(make_user()).get(url(p0)).status_code == 403
    assert client.get("/war-room/INC-1999-0001/").status_code == 302


def test_the_war_room_shows_header_roster_checklist_and_actions(p0, responder, client_for):
    html = client_for(responder).get(url(p0)).content.decode()
    for part in ("Checkout down for everyone", "P0", "Resolution due", "Ivan Manager",
                 "Initial Response", "Required to resolve", "Join the response",
                 "Key events", "data-countdown"):
        assert part in html, part


def test_the_response_countdown_stops_once_the_incident_is_acknowledged(
        p0, incident_manager, client_for):
    """It used to keep counting down, then read "overdue" in red after a response in time."""
    client = client_for(incident_manager)
    assert "Response due <span data-countdown" in client.get(url(p0)).content.decode()
    services.incident_triage(p0, by=incident_manager)
    html = client.get(url(p0)).content.decode()
    assert "Response due <span data-countdown" not in html
    assert "(acknowledged " in html
    assert "Resolution due <span data-countdown" in html


def test_the_war_room_loads_in_a_bounded_number_of_queries(
        p0, incident_manager, client_for, django_assert_max_num_queries):
    client = client_for(incident_manager)
    client.get(url(p0))  # warm caches (content types, permissions)
    for n in range(30):
        services.timeline_add_note(p0, by=incident_manager, text=f"note {n}", is_key_event=n % 3 == 0)
    for item in p0.checklist_items.all()[:10]:
        item.done_at, item.done_by = timezone.now(), incident_manager
        item.save()
    with django_assert_max_num_queries(30):
        assert client.get(url(p0)).status_code == 200


def test_the_timeline_fragment_answers_204_until_something_is_new_then_the_whole_timeline(
        p0, incident_manager, client_for):
    client = client_for(incident_manager)
    last = p0.timeline.order_by("-id").first().pk
    assert client.get(url(p0, f"timeline/?after={last}")).status_code == 204
    services.timeline_add_note(p0, by=incident_manager, text="Rollback started",
                               is_key_event=True)
    services.timeline_add_note(p0, by=incident_manager, text="Error rate falling")
    response = client.get(url(p0, f"timeline/?after={last}"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Rollback started" in html and "Error rate falling" in html
    newest = p0.timeline.order_by("-id").first().pk
    assert f"after={newest}" in html, "the poller carries the new cursor"
    assert 'hx-swap-oob="innerHTML:#key-events"' in html
    assert html.index("Error rate falling") < html.index("Rollback started"), "newest first"


def entry_ids(html: str) -> list[str]:
    return re.findall(r'id="entry-(\d+)"', html)


def test_a_backdated_note_arrives_live_where_a_reload_puts_it(p0, incident_manager, client_for):
    """Live updates used to put a backdated note on top, above newer entries, until a reload."""
    client = client_for(incident_manager)
    services.timeline_add_note(p0, by=incident_manager, text="Rollback started")
    last = p0.timeline.order_by("-id").first().pk
    services.timeline_add_note(p0, by=incident_manager, text="First alert fired",
                               occurred_at=timezone.now() - timedelta(hours=1),
                               is_key_event=True)
    live = client.get(url(p0, f"timeline/?after={last}")).content.decode()
    reloaded = client.get(url(p0)).content.decode()
    timeline = reloaded.split('id="timeline-entries"')[1]
    assert entry_ids(live.split('id="timeline-poller"')[0]) == entry_ids(timeline)
    assert live.index("Rollback started") < live.index("First alert fired")
    key_events = re.findall(r'id="key-(\d+)"', live)
    assert key_events == re.findall(r'id="key-(\d+)"', reloaded), "key events in time order"


def test_the_timeline_fragment_filters_by_kind_and_rejects_a_missing_cursor(
        p0, incident_manager, client_for):
    client = client_for(incident_manager)
    last = p0.timeline.order_by("-id").first().pk
    services.timeline_add_note(p0, by=incident_manager, text="A plain note")
    services.incident_assign_role(p0, by=incident_manager, role="scribe", user=incident_manager)
    html = client.get(url(p0, f"timeline/?after={last}&kind=role")).content.decode()
    assert "scribe" in html and "A plain note" not in html
    assert client.get(url(p0, "timeline/")).status_code == 400
    assert client.get(url(p0, "timeline/?after=abc")).status_code == 400


def test_a_quick_note_starting_with_a_time_is_backdated(p0, incident_manager, client_for):
    now = timezone.localtime().replace(hour=15, minute=0, second=0, microsecond=0)
    with time_machine.travel(now, tick=False):
        response = client_for(incident_manager).post(
            url(p0, "notes/"), {"note-text": "14:05 issue detected by monitoring"},
            HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "timeline-refresh"
    note = p0.timeline.filter(kind="note").latest("id")
    assert note.text == "issue detected by monitoring"
    assert timezone.localtime(note.occurred_at).strftime("%H:%M") == "14:05"


def test_a_time_later_than_now_means_yesterday():
    now = timezone.localtime().replace(hour=0, minute=10)
    when, rest = time_from_text("23:50 alerts started", now=now)
    assert rest == "alerts started"
    assert when == (now - timedelta(days=1)).replace(hour=23, minute=50, second=0, microsecond=0)


def test_an_empty_note_is_a_form_error_and_changes_nothing(p0, incident_manager, client_for):
    before = TimelineEntry.objects.count()
    response = client_for(incident_manager).post(url(p0, "notes/"), {"note-text": "  "})
    assert response.status_code == 400
    assert TimelineEntry.objects.count() == before


def test_product_managers_read_the_war_room_but_cannot_write(p0, product_manager, client_for):
    client = client_for(product_manager)
    assert client.get(url(p0)).status_code == 200
    assert client.post(url(p0, "notes/"), {"note-text": "hi"}).status_code == 403
    item = p0.checklist_items.first()
    client.post(url(p0, f"checklist/{item.pk}/"), {"done": "1"})
    item.refresh_from_db()
    assert item.done_at is None
    assert client.get(url(p0, "messages/new/")).status_code == 403


def test_ticking_from_the_page_returns_the_checklist_with_counts_and_refreshes_the_timeline(
        p0, responder, client_for):
    """The phase header used to stay at "0/5 done" after a tick until a reload."""
    item = p0.checklist_items.get(text="Root cause identified")
    client = client_for(responder)
    response = client.post(url(p0, f"checklist/{item.pk}/"), {"done": "1"},
                           HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="item-{item.pk}"' in html and 'id="checklist"' in html
    assert "Done by Rita Responder" in html
    assert response["HX-Trigger"] == "timeline-refresh"
    reloaded = client.get(url(p0)).content.decode()
    counts = re.findall(r"\d+/\d+ done", html)
    assert "1/" in " ".join(counts) and counts == re.findall(r"\d+/\d+ done", reloaded)


def test_a_refused_transition_names_the_open_items_on_the_war_room(
        p0, incident_manager, client_for):
    client = client_for(incident_manager)
    services.incident_triage(p0, by=incident_manager)
    response = client.post(url(p0, "transition/resolve/"), {"resolve-summary": "Rolled back"},
                           follow=True)
    html = response.content.decode()
    assert "required checklist items are still open before you can resolve" in html
    assert "Minimum viable fix: core functionality restored" in html
    p0.refresh_from_db()
    assert p0.state == "triaged"


def test_joining_and_leaving_the_response(p0, responder, client_for):
    client = client_for(responder)
    client.post(url(p0, "roster/join/"), {"action": "join"})
    assert p0.responders.filter(pk=responder.pk).exists()
    client.post(url(p0, "roster/join/"), {"action": "leave"})
    assert not p0.responders.filter(pk=responder.pk).exists()


def test_assigning_the_communications_lead_from_the_roster(
        p0, incident_manager, responder, client_for):
    client_for(incident_manager).post(url(p0, "roster/assign/"), {
        "roster-role": "communications_lead", "roster-user": responder.pk})
    p0.refresh_from_db()
    assert p0.communications_lead == responder


def test_composing_from_a_template_previewing_and_sending(
        p0, incident_manager, client_for, subscribe, make_user):
    from incidents.models import MessageTemplate

    subscribe("customer", user=make_user(username="cs"))
    client = client_for(incident_manager)
    template = MessageTemplate.objects.get(name="Customers: we are investigating an issue")
    form = client.get(url(p0, f"messages/new/?template={template.pk}")).context["form"]
    assert "Payments" in form.initial["subject"]
    data = {"template": template.pk, "audience": "customer", "stage": "initial",
            "subject": form.initial["subject"], "body": form.initial["body"] + "\nEdited.",
            "is_public": "on"}
    preview = client.post(url(p0, "messages/new/"), {**data, "action": "preview"})
    assert "Edited." in preview.content.decode() and not StatusUpdate.objects.exists()
    sent = client.post(url(p0, "messages/new/"), {**data, "action": "send"})
    assert sent.status_code == 302
    update = StatusUpdate.objects.get()
    assert update.is_public and update.body.endswith("Edited.")
    assert list(update.recipients.values_list("username", flat=True)) == ["cs"]


def test_leftover_placeholders_are_a_form_error(p0, incident_manager, client_for):
    response = client_for(incident_manager).post(url(p0, "messages/new/"), {
        "audience": "team", "stage": "update", "subject": "Hi {{ who }}", "body": "x",
        "action": "send"})
    assert response.status_code == 400
    assert not StatusUpdate.objects.exists()


def test_past_the_war_room_s_cap_older_entries_are_one_link_away_on_the_incident_page(
        p0, incident_manager, client_for, monkeypatch):
    """A long incident's early entries used to be out of reach from the war room: it shows
    the newest entries only. The link continues on the incident page's paged timeline, from
    just before the oldest entry the war room shows, so every entry is seen once."""
    from incidents.warroom import views as warroom_views

    monkeypatch.setattr(warroom_views, "TIMELINE_LIMIT", 5)
    client = client_for(incident_manager)
    assert 'id="timeline-older"' not in client.get(url(p0)).content.decode()
    last = p0.timeline.order_by("-id").first().pk
    for n in range(8):
        services.timeline_add_note(p0, by=incident_manager, text=f"note {n}")
    every = list(p0.timeline.order_by("-occurred_at", "-id").values_list("pk", flat=True))
    assert len(every) > 5

    room = client.get(url(p0)).content.decode().split('id="timeline-entries"')[1]
    live = client.get(url(p0, f"timeline/?after={last}")).content.decode()
    for html in (room, live.split('id="timeline-poller"')[0]):
        shown = [int(pk) for pk in entry_ids(html)]
        assert shown == every[:5]
        link = re.search(r'id="timeline-older">.*?href="([^"]+)"', html, re.S).group(1)
        assert link == f"/incidents/{p0.reference}/?before={every[4]}#timeline"
        older = client.get(link.split("#")[0]).context["timeline"].entries
        assert [entry.pk for entry in older][::-1] == every[5:5 + len(older)]
        assert len(older) == min(50, len(every) - 5)
