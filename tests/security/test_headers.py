"""Security headers on every page, and templates that need no 'unsafe-inline'."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_pages_carry_a_nonce_based_csp_without_unsafe_inline(client_for, responder, declare):
    incident = declare()
    response = client_for(responder).get(reverse("warroom:room", args=[incident.reference]))
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    html = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", html)
    assert inline, "the war room has its countdown script"
    assert all(f'nonce="{nonce}"' in attributes for attributes in inline)
    assert "frame-ancestors 'none'" in csp


def test_each_response_gets_its_own_nonce(client):
    first = client.get(reverse("login"))["Content-Security-Policy"]
    second = client.get(reverse("login"))["Content-Security-Policy"]
    assert first != second


def test_signed_in_pages_are_not_cached_and_sign_in_pages_carry_permissions_policy(
        client_for, responder, client):
    response = client_for(responder).get(reverse("incidents:list"))
    assert "no-store" in response["Cache-Control"]
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in client.get(reverse("login"))["Permissions-Policy"]


def test_the_admin_is_not_cached_either(client_for, manager):
    response = client_for(manager).get(reverse("admin:index"))
    assert "no-store" in response["Cache-Control"]
    assert "Content-Security-Policy" in response


def _template_files():
    return sorted(path for path in TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_needs_unsafe_inline(path):
    """Inline event handlers, hx-on (evaluated code) and style attributes are refused by the
    CSP; inline scripts need the request's nonce."""
    text = re.sub(r"\{#.*?#\}", "", path.read_text())  # template comments
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert "hx-on" not in text
    assert not re.search(r"\sstyle\s*=", text), "style attribute"
    assert "<style" not in text, "inline <style> block (put it in a static CSS file)"
    for attributes in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", text):
        assert 'nonce="{{ csp_nonce }}"' in attributes, "inline script without the nonce"
