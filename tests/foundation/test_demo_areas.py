"""The demo data of the areas beyond the foundation (escalation/demo.py,
incidents/warroom/demo.py, postmortems/demo.py): a first-time user sees on-call names, a war
room in progress, a public status update and a review with action items, all made through the
services, and loading the demo again creates nothing."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from escalation import selectors
from escalation.models import EscalationEvent, EscalationLevel, NotificationPreference, Rota
from incidents.management.commands.seed_demo import DEMO_PASSWORD
from incidents.models import AudienceSubscription, Incident, StatusUpdate, TimelineEntry
from postmortems.models import ActionItem, PostMortem

pytestmark = pytest.mark.django_db

P0_TITLE = "Payments distribution batch stuck at the bank gateway"
SSO_TITLE = "Recipients using SSO could not log in"


@pytest.fixture
def seeded(settings) -> str:
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def login(username: str) -> Client:
    client = Client()
    # Through the login page, as a person signs in (the lockout check needs the request).
    response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def row_counts() -> dict[str, int]:
    """Rows of every model, history tables included."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_someone_is_on_call_now_on_each_default_rota(seeded):
    for name in ("Daily log checker", "On-call developer"):
        rota = Rota.objects.get(name=name)
        assert rota.members.count() == 2
        assert selectors.on_call_now(rota) is not None
    checker = selectors.on_call_now(Rota.objects.get(name="Daily log checker"))
    developer_rota = Rota.objects.get(name="On-call developer")
    # Opposite rotation orders: a different person on each rota today.
    assert checker != selectors.on_call_now(developer_rota)
    assert developer_rota.overrides.filter(user__username="responder-2").exists()

    html = login("responder").get(reverse("escalation:oncall")).content.decode()
    assert "Nobody" not in html and "No members yet" not in html
    assert "Rita Reyes" in html and "Sam Okafor" in html
    assert "Ivan Ortega" in html and "Mona Berg" in html  # named on L2 and L3


def test_escalation_levels_call_the_demo_people(seeded):
    people = {level.number: {u.username for u in selectors.level_people(level)}
              for level in EscalationLevel.objects.filter(ladder__is_default=True)}
    assert people[1] & {"responder", "responder-2"}
    assert "incident-manager" in people[2]
    assert "manager" in people[3]
    assert set(EscalationLevel.objects.get(ladder__is_default=True, number=2).users.values_list("username", flat=True)) \
        == {"incident-manager"}
    preference = NotificationPreference.objects.get(user__username="manager")
    assert preference.weekly_summary and preference.monthly_summary
    p0 = Incident.objects.get(title=P0_TITLE)
    event = EscalationEvent.objects.get(incident=p0, level__number=2)
    assert event.acknowledged_by.username == "incident-manager"


def test_the_status_page_shows_the_public_customer_update(seeded):
    p0 = Incident.objects.get(title=P0_TITLE)
    public = StatusUpdate.objects.get(incident=p0, is_public=True)
    assert public.audience_id == "customer" and public.sent_by.username == "manager"
    internal = StatusUpdate.objects.get(incident=p0, audience="stakeholders")
    assert not internal.is_public
    assert set(internal.recipients.values_list("username", flat=True)) == {
        "manager", "product-manager"}
    assert AudienceSubscription.objects.filter(audience="executives",
                                               user__username="manager").exists()

    html = Client().get("/status/").content.decode()
    assert public.subject in html
    assert internal.subject not in html and P0_TITLE not in html


def test_the_p0_war_room_shows_who_ticked_what_and_sent_updates(seeded):
    p0 = Incident.objects.get(title=P0_TITLE)
    ticked = {item.text: item.done_by.username
              for item in p0.checklist_items.filter(done_at__isnull=False)}
    assert ticked["Issue reproduced and confirmed"] == "responder"
    assert ticked["Stakeholders notified"] == "manager"
    assert len(ticked) == 5
    checklist_entries = p0.timeline.filter(kind=TimelineEntry.Kind.CHECKLIST,
                                           text__contains="ticked")
    assert checklist_entries.count() == 5
    assert all(entry.author_id for entry in checklist_entries)
    assert p0.timeline.filter(kind=TimelineEntry.Kind.MESSAGE).count() == 2

    html = login("incident-manager").get(
        reverse("warroom:room", kwargs={"reference": p0.reference})).content.decode()
    assert "Stakeholders notified" in html


def test_the_sso_review_is_drafted_with_action_items(seeded):
    postmortem = PostMortem.objects.get(incident__title=SSO_TITLE)
    assert postmortem.state == PostMortem.State.DRAFTING
    assert postmortem.summary and postmortem.root_cause and postmortem.resolution
    assert postmortem.went_well and postmortem.could_improve
    assert not postmortem.submit_refusals()
    items = list(postmortem.action_items.all())
    assert len(items) == 3
    assert {item.state for item in items} == {"open", "in_progress", "done"}
    assert [item.title for item in items if item.is_overdue] == [
        "Write a runbook for identity-provider key rollovers"]
    assert ActionItem.objects.overdue().count() == 1
    assert all(row.history_user_id for item in items for row in item.history.all())
    assert all(row.history_user_id for row in postmortem.history.exclude(
        history_change_reason="Scheduled"))
    # Nothing for the closed P2: its severity needs no review.
    assert not PostMortem.objects.filter(incident__title__startswith="Partner webhooks").exists()

    client = login("responder")
    html = client.get(reverse("postmortems:detail",
                              kwargs={"reference": postmortem.incident.reference})).content.decode()
    assert "identity provider" in html
    assert client.get(reverse("postmortems:action_items")).status_code == 200


def test_a_second_call_creates_nothing_new(seeded):
    first = row_counts()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert row_counts() == first
    output = out.getvalue()
    for word in ("Added", "Named", "acknowledged", "Subscribed", "ticked", "Sent", "wrote"):
        assert word not in output
