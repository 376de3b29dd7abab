"""Every URL of the portal and the admin, requested (GET) by every role: no response is a server
error, nobody signed out sees more than the public pages, and a signed-in account without a
staff group sees only its own pages.

The URLs come from the resolver, so a new page is walked without changing this module; its
arguments are filled from the demo data (`URL_ARGUMENTS`, `_object_id`). To check more per
response (e.g. that a restricted incident's title never appears), add a test that uses the
`walk` fixture: it returns every (role, url name, path, response)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from escalation.models import EscalationEvent, Notification, WebhookEndpoint
from incidents.intake import services as intake_services
from incidents.intake.models import Alert
from incidents.models import (
    IncidentChecklistItem,
    IncidentRole,
    ProcedureRevision,
    ReportExport,
    RoleRequirement,
    SeverityLevel,
)
from incidents.procedure.presets import presets
from postmortems.models import ActionItem, PostMortem, ReportSection
from tests.intake import payloads

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


# Not walked: a redirect to another site, and logging out (it ends the role's session).
NOT_WALKED = {"admin:view_on_site", "logout"}


@dataclass
class Visit:
    role: str | None
    name: str
    path: str
    status: int
    content: bytes
    csp: str = ""
    content_type: str = ""


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
    """The demo data, plus a row of every admin model the demo leaves empty (so each change and
    history page is walked) and a first version of every row that has none yet."""
    settings.DEBUG = True  # seed_demo refuses to run otherwise
    call_command("seed_demo", stdout=io.StringIO())
    User.objects.create_user("nobody", password="x")  # signed in, no group
    integration, secret = intake_services.integration_create(
        by=None, name="Prometheus", kind="alertmanager",
        default_severity=SeverityLevel.objects.get(code="P2"))
    response = Client().post(
        reverse("intake:receive", kwargs={"public_id": integration.public_id}),
        json.dumps(payloads.alertmanager()), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200, response.content
    WebhookEndpoint.objects.create(name="Status relay", url="https://hooks.example.org/firebreak",
                                   secret="s" * 32)
    ProcedureRevision.objects.create(name="Demo procedure", reason="walk", digest="0" * 64)
    role = IncidentRole.objects.filter(incident_field="").first() or IncidentRole.objects.create(
        code="security-auditor", name="Security auditor")
    RoleRequirement.objects.get_or_create(role=role, severity=SeverityLevel.objects.get(code="P0"))
    ReportSection.objects.create(part="title", heading="Incident Report - {date}")
    ReportExport.objects.create(  # a background XLSX export on its way, of the product manager
        requested_by=User.objects.get(username="product-manager"), requested_at=timezone.now(),
        query={"date_from": "2026-11-01", "date_to": "2026-11-30"},
        description="1 Nov 2026 – 30 Nov 2026", filename="firebreak-report.xlsx",
        rows_expected=20000)
    # A failed and a successful sign-in: django-axes' attempt, failure and access records.
    Client().post(reverse("login"), {"username": "responder-2", "password": "firebreak-demo"})
    Client().post(reverse("login"), {"username": "responder", "password": "wrong"})
    call_command("populate_history", auto=True, stdout=io.StringIO())
    return integration, secret


@pytest.fixture
def url_arguments(demo_world) -> dict:
    """Values for URL arguments, by argument name or by (url name, argument name)."""
    integration, secret = demo_world
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
        ("intake:alert", "pk"): Alert.objects.first().pk,
        "public_id": integration.public_id,
        "secret": secret,
        "slug": presets()[0].slug if presets() else "no-such-preset",
        "export_id": ReportExport.objects.get().pk,
    }


def _object_id(model, name: str, argument: str):
    if model is None:
        return None
    if name.endswith("_simple_history"):  # a row that has a past version
        pk = model._meta.pk.attname
        record = model.history.filter(**{f"{pk}__in": model._default_manager.values("pk")}
                                      ).order_by("history_id").first()
        if record is None:
            return None
        return record.history_id if argument == "version_id" else getattr(record, pk)
    obj = model._default_manager.order_by("pk").first()
    return obj.pk if obj is not None else None


@pytest.fixture
def portal_urls(url_arguments) -> list[tuple[str, str]]:
    """(url name, path) for every named URL whose arguments can be filled."""
    urls = []
    for name, route, converters in _patterns(get_resolver().url_patterns):
        if name in NOT_WALKED:
            continue
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
            visits.append(Visit(role, name, path, response.status_code, content,
                                response.get("Content-Security-Policy", ""),
                                response.get("Content-Type", "")))
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
    assert csp_problems(walk) == [], "refused by the Content-Security-Policy"


def test_the_walk_covers_the_portal_and_every_admin_model(portal_urls):
    names = {name for name, _ in portal_urls}
    assert {"incidents:detail", "warroom:room", "postmortems:detail", "reports:dashboard",
            "escalation:oncall", "admin:incidents_incident_change",
            "admin:incidents_incident_simple_history", "admin:axes_accesslog_changelist"} <= names
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label in {"incidents", "escalation", "postmortems"}:
            assert f"admin:{opts.app_label}_{opts.model_name}_changelist" in names


def test_every_named_url_is_walked(portal_urls):
    """A page added later whose arguments the walk cannot fill fails here: add them to
    url_arguments (or a row to demo_world)."""
    walked = {name for name, _ in portal_urls}
    every = {name for name, _, _ in _patterns(get_resolver().url_patterns)}
    assert every - walked - NOT_WALKED == set()


# simple-history's own history list has one style attribute (a paginator border): cosmetic.
THIRD_PARTY_STYLE = '<p class="paginator" style="border-top: 0">'


def csp_problems(walk) -> list[str]:
    """What templates, widgets and format_html build together obeys the CSP: every inline
    script carries the response's nonce, no inline event handlers, no style attributes."""
    found = set()
    for visit in walk:
        if visit.status != 200 or not visit.content_type.startswith("text/html"):
            continue
        html = visit.content.decode("utf-8", "replace").replace(THIRD_PARTY_STYLE, "")
        nonce = re.search(r"'nonce-([^']+)'", visit.csp)
        for attributes in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html):
            if "application/json" in attributes or re.search(r"\bid=\"django-admin-", attributes):
                continue  # data, not code
            if not nonce or f'nonce="{nonce.group(1)}"' not in attributes:
                found.add(f"{visit.name}: inline script without the nonce")
        if re.search(r"<[^>]*\son[a-z]+\s*=", html):
            found.add(f"{visit.name}: inline event handler")
        if re.search(r"<[^>]*\sstyle\s*=", html) or "<style" in html:
            found.add(f"{visit.name}: style attribute or element")
    return sorted(found)
