"""A signed-in account that belongs to no staff group sees nothing of the incident work."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["escalation:oncall", "notifications:health"])
def test_a_user_without_a_group_may_not_read_staff_pages(client_for, make_user, name):
    nobody = make_user()
    assert client_for(nobody).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["escalation:oncall", "notifications:health"])
def test_staff_may(client_for, responder, product_manager, name):
    assert client_for(responder).get(reverse(name)).status_code == 200
    assert client_for(product_manager).get(reverse(name)).status_code == 200


def test_the_navigation_hides_on_call_from_a_user_without_a_group(client_for, make_user):
    html = client_for(make_user()).get(reverse("notifications:inbox")).content.decode()
    assert reverse("escalation:oncall") not in html
    assert reverse("notifications:health") not in html
