"""Error pages say what happened and what to do, in the portal's own layout: never a bare
"403 Forbidden" or Django's debug page listing every URL pattern."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_portals_404_with_a_way_on(client_for, responder):
    response = client_for(responder).get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "There is no page at this address" in html and 'href="/incidents/"' in html
    assert "URLconf" not in html


def test_a_refused_page_says_who_you_are_and_how_to_get_access(client_for, responder):
    response = client_for(responder).get("/reports/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "Your account may not open this page" in html
    assert f"<strong>{responder.username}</strong>" in html
    assert "Log in as someone else" in html


def test_a_server_error_page_stands_alone_and_says_nothing_was_half_saved():
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html and "half-saved" in html
    assert "/static/css/firebreak.css" in html


def test_an_expired_form_says_to_reload_and_submit_again(responder):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "rita", "password": "x"})
    html = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in html and "reload the" in html
