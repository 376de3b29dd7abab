import pytest

pytestmark = pytest.mark.django_db


def test_responders_edit_drafts_and_their_action_items_but_do_not_publish(responder):
    assert responder.has_perms(["postmortems.view_postmortem", "postmortems.change_postmortem",
                                "postmortems.add_actionitem", "postmortems.change_actionitem"])
    assert not responder.has_perm("postmortems.review_postmortem")
    assert not responder.has_perm("postmortems.manage_action_items")


def test_incident_managers_also_review_publish_and_manage_action_items(incident_manager):
    assert incident_manager.has_perms(["postmortems.review_postmortem",
                                       "postmortems.add_postmortem",
                                       "postmortems.manage_action_items"])
    assert not incident_manager.has_perm("postmortems.waive_postmortem")


def test_managers_can_waive(manager):
    assert manager.has_perms(["postmortems.waive_postmortem", "postmortems.review_postmortem"])


def test_product_managers_only_read(product_manager):
    assert product_manager.has_perms(["postmortems.view_postmortem", "postmortems.view_actionitem"])
    assert not product_manager.has_perm("postmortems.change_postmortem")
    assert not product_manager.has_perm("postmortems.add_actionitem")


def test_the_admin_lists_reviews_and_action_items_with_state_read_only(
        client, admin_user, resolved, incident_manager, responder):
    from django.urls import reverse
    from django.utils import timezone

    from postmortems import services

    review = resolved("P1").postmortem
    item = services.action_item_create(review, by=incident_manager, owner=responder, title="X",
                                       due_date=timezone.localdate())
    client.force_login(admin_user)
    for name, args in [("postmortem_changelist", []), ("postmortem_change", [review.pk]),
                       ("actionitem_changelist", []), ("actionitem_change", [item.pk]),
                       ("postmortem_history", [review.pk])]:
        assert client.get(reverse(f"admin:postmortems_{name}", args=args)).status_code == 200
    change_page = client.get(reverse("admin:postmortems_postmortem_change", args=[review.pk]))
    assert 'name="state"' not in change_page.content.decode()


def test_the_admin_refuses_to_revert_history(client, admin_user, resolved):
    from django.urls import reverse

    review = resolved("P1").postmortem
    history_id = review.history.last().history_id
    client.force_login(admin_user)
    state_before = review.state
    response = client.post(reverse("admin:postmortems_postmortem_simple_history",
                                   args=[review.pk, history_id]), {})
    assert response.status_code == 302
    assert response.url == reverse("admin:postmortems_postmortem_history", args=[review.pk])
    review.refresh_from_db()
    assert review.state == state_before
