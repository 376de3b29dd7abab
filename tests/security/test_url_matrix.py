"""Every URL of the portal and the admin, requested (GET) by every role: no response is a server
error, nobody signed out sees more than the public pages, and a signed-in account without a
staff group sees only its own pages.

The URLs come from the resolver, so a new page is walked without changing this module; its
arguments are filled from the demo data (`URL_ARGUMENTS`, `_object_id`). To check more per
response (e.g. that a restricted incident's title never appears), add a test that uses the
`walk` fixture: it returns every (role, url name, path, response)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern

from escalation.models import EscalationEvent, Notification
from incidents.models import IncidentChecklistItem
from postmortems.models import ActionItem, PostMortem

pytestmark = pytest.mark.django_db

# Roles: None is a visitor who is not signed in; "nobody" is signed in without any group.
ROLES = [None, "nobody", "responder", "incident-manager", "manager", "product-manager", "admin"]
# In the demo data only the manager and the superuser are staff; the other accounts all meet the
# admin's login page, so two of them stand for the rest there (a quarter fewer requests).
ADMIN_ROLES = [None, "nobody", "responder", "manager", "admin"]

# Pages anyone may open, signed in or not.
PUBLIC = {"login", "admin:login", "statuspage:index", "password_reset", "password_reset_done",
          "password_reset_confirm", "password_reset_complete"}
# Pages about the signed-in person themselves, open to an account without a group.
OWN_PAGES = PUBLIC | {"incidents:dashboard", "notifications:inbox", "notifications:preferences",
                      "postmortems:my_action_items", "password_change", "password_change_done"}


@dataclass
class Visit:
    role: str | None
    name: str
    path: str
    status: int
    content: bytes


def _patterns(patterns, prefix: str = "", namespace: str = "",
              converters: dict | None = None) -> Iterator[tuple[str, str, dict]]:
    for pattern in patterns:
        if not isinstance(pattern.pattern, RoutePattern):
            if pattern.name and pattern.name.endswith("_simple_history"):
                # simple-history's past-version view: a regular expression (object, version)
                yield f"{namespace}:{pattern.name}", "", {"object_id": None, "version_id": None}
            continue  # other regular expressions (the admin's per-app index) are not walked
        found = {**(converters or {}), **pattern.pattern.converters}
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner,
                                 found)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield name, prefix + str(pattern.pattern), found


def _admin_model(name: str):
    """The model of an admin URL name like admin:incidents_incident_change."""
    label = name.removeprefix("admin:")
    for model in admin.site._registry:
        opts = model._meta
        if label.startswith(f"{opts.app_label}_{opts.model_name}_"):
            return model
    return None


@pytest.fixture
def demo_world(settings):
    settings.DEBUG = True  # seed_demo refuses to run otherwise
    call_command("seed_demo", stdout=io.StringIO())
    User.objects.create_user("nobody", password="x")  # signed in, no group


@pytest.fixture
def url_arguments(demo_world) -> dict:
    """Values for URL arguments, by argument name or by (url name, argument name)."""
    review = PostMortem.objects.select_related("incident").first()
    item = ActionItem.objects.first()
    event = EscalationEvent.objects.select_related("incident").first()
    return {
        "reference": review.incident.reference,
        "name": "triage",
        ("postmortems:transition", "name"): "submit",
        ("postmortems:action_item_transition", "name"): "start",
        ("postmortems:action_item_edit", "pk"): item.pk,
        ("postmortems:action_item_transition", "pk"): item.pk,
        ("escalation:acknowledge", "reference"): event.incident.reference,
        ("escalation:acknowledge", "pk"): event.pk,
        "pk": Notification.objects.first().pk,
        "user_id": User.objects.get(username="responder").pk,
        "item_id": IncidentChecklistItem.objects.first().pk,
        "section": "summary",
        "uidb64": "MQ",
        "token": "not-a-token",
        "app_label": "incidents",
        "id": User.objects.get(username="responder").pk,
    }


def _object_id(model, name: str, argument: str):
    if model is None:
        return None
    obj = model._default_manager.order_by("pk").first()
    if obj is None:
        return None
    if argument == "version_id":
        record = obj.history.order_by("history_id").first() if hasattr(obj, "history") else None
        return record.history_id if record else None
    return obj.pk


@pytest.fixture
def portal_urls(url_arguments) -> list[tuple[str, str]]:
    """(url name, path) for every named URL whose arguments can be filled."""
    urls = []
    for name, route, converters in _patterns(get_resolver().url_patterns):
        if name in {"admin:view_on_site", "logout"}:
            continue  # a redirect to another site; logging out ends the role's session
        values = {}
        model = _admin_model(name) if name.startswith("admin:") else None
        for argument in converters:
            if name.startswith("admin:") and argument in {"object_id", "version_id"}:
                value = _object_id(model, name, argument)
            else:
                value = url_arguments.get((name, argument), url_arguments.get(argument))
            if value is None:
                break
            values[argument] = value
        else:
            if name.endswith("_simple_history"):  # positional arguments
                urls.append((name, reverse(name, args=[values["object_id"],
                                                       values["version_id"]])))
            else:
                urls.append((name, reverse(name, kwargs=values)))
    return urls


@pytest.fixture
def walk(portal_urls) -> list[Visit]:
    """GET every URL as every role; returns what each got."""
    visits = []
    for role in ROLES:
        client = Client()
        if role is not None:
            client.force_login(User.objects.get(username=role))
        for name, path in portal_urls:
            if name.startswith("admin:") and role not in ADMIN_ROLES:
                continue
            response = client.get(path)
            content = b"".join(response.streaming_content) if response.streaming else (
                response.content)
            visits.append(Visit(role, name, path, response.status_code, content))
    return visits


def test_every_url_as_every_role(walk):
    """One walk (about 1,800 requests), several rules."""
    errors = [f"{v.role}: {v.path} ({v.name}) -> {v.status}" for v in walk if v.status >= 500]
    assert errors == [], "server errors"
    shown = [f"{v.path} ({v.name}) -> {v.status}" for v in walk
             if v.role is None and v.status == 200 and v.name not in PUBLIC]
    assert shown == [], "shown to a visitor who is not signed in"
    shown = [f"{v.path} ({v.name}) -> {v.status}" for v in walk
             if v.role == "nobody" and v.status == 200 and v.name not in OWN_PAGES]
    assert shown == [], "shown to an account without a group"
    # Not a list of refusals by mistake: each staff role opens the pages of its work.
    status = {(v.role, v.name): v.status for v in walk}
    for role in ("responder", "incident-manager", "manager"):
        assert status[(role, "incidents:detail")] == 200, role
        assert status[(role, "warroom:room")] == 200, role
    assert status[("product-manager", "reports:dashboard")] == 200
    assert status[("manager", "admin:incidents_incident_change")] == 200
    assert status[("admin", "admin:axes_accessattempt_changelist")] == 200


def test_the_walk_covers_the_portal_and_every_admin_model(portal_urls):
    names = {name for name, _ in portal_urls}
    assert {"incidents:detail", "warroom:room", "postmortems:detail", "reports:dashboard",
            "escalation:oncall", "admin:incidents_incident_change",
            "admin:incidents_incident_simple_history", "admin:axes_accesslog_changelist"} <= names
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label in {"incidents", "escalation", "postmortems"}:
            assert f"admin:{opts.app_label}_{opts.model_name}_changelist" in names
