"""The admin follows the same rules as the review pages: a published review and a finished action
item are records, and edits go through the services (versioned, recorded)."""

import datetime as dt

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from postmortems import services
from postmortems.models import ActionItem, PostMortem

pytestmark = pytest.mark.django_db


def change_form_data(client, url) -> dict:
    """What the browser would post back for the change page at `url`, unchanged."""
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.SplitDateTimeField):
            value = form[name].initial
            data[f"{name}_0"] = value.date().isoformat() if value else ""
            data[f"{name}_1"] = value.time().isoformat() if value else ""
        elif isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        else:  # value() is already prepared for the widget (pks, JSON text)
            data[name] = "" if value is None else value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def review(resolved):
    return resolved("P1").postmortem


def test_a_published_reviews_summary_and_root_cause_cannot_be_rewritten_in_the_admin(
        manager_client, review, responder):
    review = services.postmortem_update(review, by=responder, section="analysis",
                                        root_cause="A migration locked the table.")
    PostMortem.objects.filter(pk=review.pk).update(state=PostMortem.State.PUBLISHED)
    url = reverse("admin:postmortems_postmortem_change", args=[review.pk])
    data = change_form_data(manager_client, url)
    assert "summary" not in data and "root_cause" not in data  # shown read-only
    data.update(summary="Nothing happened.", root_cause="Gremlins.")
    manager_client.post(url, data)
    review.refresh_from_db()
    assert (review.summary, review.root_cause) == ("", "A migration locked the table.")


def test_an_admin_edit_of_a_draft_goes_through_the_service(manager_client, review, manager):
    url = reverse("admin:postmortems_postmortem_change", args=[review.pk])
    data = change_form_data(manager_client, url)
    data["summary"] = "Orders failed for two hours."
    response = manager_client.post(url, data)
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.summary == "Orders failed for two hours."
    assert review.state == PostMortem.State.DRAFTING  # the service starts the draft
    latest = review.history.first()
    assert (latest.history_user, latest.history_change_reason) == (manager, "Edited summary")


def test_a_done_action_items_title_and_due_date_cannot_be_rewritten_in_the_admin(
        manager_client, review, incident_manager, responder):
    item = services.action_item_create(review, by=incident_manager, owner=responder,
                                       title="Add lock timeout", due_date=timezone.localdate())
    ActionItem.objects.filter(pk=item.pk).update(state=ActionItem.State.DONE)
    url = reverse("admin:postmortems_actionitem_change", args=[item.pk])
    data = change_form_data(manager_client, url)
    data.update(title="Something easier", due_date="2030-01-01")
    manager_client.post(url, data)
    item.refresh_from_db()
    assert (item.title, item.due_date) == ("Add lock timeout", timezone.localdate())


def test_an_open_action_item_edited_in_the_admin_goes_through_the_service(
        manager_client, review, incident_manager, responder):
    item = services.action_item_create(review, by=incident_manager, owner=responder,
                                       title="Add lock timeout", due_date=timezone.localdate())
    url = reverse("admin:postmortems_actionitem_change", args=[item.pk])
    data = change_form_data(manager_client, url)
    data["due_date"] = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    manager_client.post(url, data)
    item.refresh_from_db()
    assert item.due_date == timezone.localdate()  # the service refuses a due date in the past
