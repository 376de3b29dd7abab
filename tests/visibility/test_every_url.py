"""Walk every URL of the portal and the admin as staff who take no part in a restricted
incident, and look for its reference and title in every answer: pages, fragments, JSON,
redirects, CSV, XLSX and PDF exports, the public status page. A participant walking the same
URLs does find them, which shows the walk reaches the places a leak would be.

URLs come from the URL configuration itself, so a page added later is walked without editing
this file; a URL whose parameters cannot be filled in fails the test (add its parameter below)."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse
from django.utils import timezone

from escalation.models import EscalationEvent, Notification
from escalation.notifications import notify
from incidents import services
from incidents.models import Incident, IncidentChecklistItem, ReportExport
from postmortems.forms import SECTION_FORMS
from postmortems.models import ActionItem, PostMortem
from postmortems.services import ACTION_ITEM_TRANSITIONS, POSTMORTEM_TRANSITIONS

from .conftest import SECRET_TITLE

pytestmark = pytest.mark.django_db

SKIPPED = {"logout", "admin:logout"}  # walking them would end the session being tested


def url_patterns(resolver=None, namespace: str = ""):
    """(full name, pattern) for every named URL, admin included."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_patterns(pattern, inner)
        elif pattern.name:
            yield namespace + pattern.name, pattern


def parameters(pattern) -> tuple[list[str], int]:
    converters = getattr(pattern.pattern, "converters", None)
    if converters is not None:
        return list(converters), 0
    regex = pattern.pattern.regex
    return list(regex.groupindex), regex.groups - len(regex.groupindex)


class World:
    """The restricted incident, a visible one beside it, and the ids the URLs take."""

    def __init__(self, restricted: Incident, visible: Incident, outsider, security_lead):
        self.restricted, self.visible = restricted, visible
        self.people = [outsider.pk, security_lead.pk]
        self.rows = {}  # model -> pk of a row about the restricted incident
        for model, model_admin in admin.site._registry.items():
            self.rows[model] = self._row_for(model)
        self.ints = sorted({pk for pk in self.rows.values() if pk is not None}
                           | {restricted.pk, visible.pk})

    def tell(self, person) -> None:
        """News about the incident in `person`'s inbox, from before and after it was
        restricted, so the walk opens their notifications too."""
        incident = self.restricted
        Incident.objects.filter(pk=incident.pk).update(is_restricted=False)
        incident.is_restricted = False
        notify(subject=incident, reason="test.walk.before", recipients=[person],
               title=f"{incident.reference} {SECRET_TITLE}", incident=incident,
               url=incident.get_absolute_url())
        Incident.objects.filter(pk=incident.pk).update(is_restricted=True)
        incident.is_restricted = True
        notify(subject=incident, reason="test.walk.after", recipients=[person],
               title=f"{incident.reference} {SECRET_TITLE}", incident=incident,
               url=incident.get_absolute_url())
        self.rows[Notification] = Notification.objects.filter(
            recipient=person, channel="inapp").order_by("pk").first().pk

    def _row_for(self, model):
        incident = self.restricted
        if model is Incident:
            return incident.pk
        for path in ("incident", "postmortem__incident"):
            try:
                model._meta.get_field(path.split("__")[0])
            except Exception:
                continue
            row = model._default_manager.filter(**{path: incident}).order_by("pk").first()
            return row.pk if row else None
        row = model._default_manager.order_by("pk").first()
        return row.pk if row else None

    def admin_model(self, name: str):
        for model in self.rows:
            prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
            if name.startswith(prefix):
                return model
        return None

    def values(self, name: str, kwarg: str) -> list:
        model = self.admin_model(name)
        if kwarg == "object_id":
            pk = self.rows.get(model) if model else self.restricted.pk
            return [pk] if pk is not None else []
        if kwarg == "reference":
            return [self.restricted.reference, self.visible.reference]
        if kwarg in ("pk", "id"):
            for prefix, model in (("notifications:", Notification), ("postmortems:", ActionItem),
                                  ("escalation:", EscalationEvent)):
                if name.startswith(prefix):
                    return [self.rows[model]]
            return self.ints
        if kwarg == "item_id":
            return list(IncidentChecklistItem.objects.filter(incident=self.restricted)
                        .values_list("pk", flat=True)[:2]) or [0]
        if kwarg == "user_id":
            return self.people
        if kwarg == "name":
            if name.startswith("postmortems:action_item"):
                return list(ACTION_ITEM_TRANSITIONS)
            if name.startswith("postmortems:"):
                return list(POSTMORTEM_TRANSITIONS)
            return list(services.TRANSITIONS)
        if kwarg == "section":
            return list(SECTION_FORMS)
        if kwarg == "app_label":
            return sorted({m._meta.app_label for m in self.rows})
        if kwarg == "slug" and name == "admin:incidents_procedure_preset":
            from incidents.procedure.presets import presets

            return [preset.slug for preset in presets()][:2]
        if kwarg == "public_id":  # alert intake endpoints: machines, no incident to name
            return ["00000000-0000-0000-0000-000000000000"]
        if kwarg == "secret":
            return ["not-the-secret"]
        if kwarg == "uidb64":  # password reset links: someone's id, a token that fails
            return ["MQ"]
        if kwarg == "token":
            return ["not-a-token"]
        if kwarg == "export_id":  # background report exports: only their requester's
            return [str(pk) for pk in ReportExport.objects.values_list("pk", flat=True)] or [
                "00000000-0000-0000-0000-000000000000"]
        if kwarg == "content_type_id":
            return [ContentType.objects.get_for_model(Incident).pk]
        raise LookupError(f"{name}: no values for the URL parameter “{kwarg}”; add them to "
                          "World.values in tests/visibility/test_every_url.py")

    def positional(self, name: str) -> list[list]:
        model = self.admin_model(name)
        if name.endswith("_simple_history") and model is not None:
            pk = self.rows.get(model)
            if pk is None or not hasattr(model, "history"):
                return []
            versions = model.history.filter(**{model._meta.pk.attname: pk})
            return [[pk, version] for version in versions.values_list("history_id", flat=True)]
        raise LookupError(f"{name}: positional URL parameters; teach the walk about them")

    def urls(self) -> list[str]:
        urls = []
        for name, pattern in url_patterns():
            if name in SKIPPED:
                continue
            kwargs_names, positional = parameters(pattern)
            if positional:
                urls += [reverse(name, args=args) for args in self.positional(name)]
                continue
            combos = [{}]
            for kwarg in kwargs_names:
                combos = [{**combo, kwarg: value} for combo in combos
                          for value in self.values(name, kwarg)]
            for kwargs in combos:
                try:
                    urls.append(reverse(name, kwargs=kwargs))
                except NoReverseMatch:
                    continue  # e.g. an admin app_label that has no app list
        return urls + self.extra_urls()

    def extra_urls(self) -> list[str]:
        """Query strings that change what a URL shows: report periods and tables, list
        filters, autocompletes of every admin field that has one."""
        today = timezone.localdate()
        period = f"date_from={today - timedelta(days=7)}&date_to={today}"
        urls = [f"{reverse('reports:dashboard')}?{period}",
                f"{reverse('reports:export_xlsx')}?{period}",
                f"{reverse('reports:export_pdf')}?{period}",
                *(f"{reverse('reports:export_csv')}?{period}&table={table}"
                  for table in ("summary", "incidents", "breaches", "action_items")),
                f"{reverse('incidents:list')}?state=resolved",
                f"{reverse('incidents:list')}?severity=P1",
                f"{reverse('postmortems:action_items')}?state=",
                f"{reverse('notifications:health')}?format=json",
                f"{reverse('warroom:timeline', args=[self.visible.reference])}?after=0"]
        for model, model_admin in admin.site._registry.items():
            for field in getattr(model_admin, "autocomplete_fields", ()):
                for term in (self.restricted.reference, SECRET_TITLE.split()[0]):
                    urls.append(f"{reverse('admin:autocomplete')}?app_label="
                                f"{model._meta.app_label}&model_name={model._meta.model_name}"
                                f"&field_name={field}&term={term}")
        return urls


def readable(response) -> str:
    """Everything a person could read in the answer, whatever its format."""
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content
    content_type = response.get("Content-Type", "")
    if "spreadsheetml" in content_type:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            raw = b" ".join(archive.read(name) for name in archive.namelist())
    elif "pdf" in content_type:
        from pypdf import PdfReader

        return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(raw)).pages)
    location = response.get("Location", "")
    if location.startswith(reverse("login")) or location.startswith(reverse("admin:login")):
        location = ""  # only the URL just asked for, handed to the login page as ?next=
    headers = " ".join(f"{key}: {value}" for key, value in response.items() if key != "Location")
    return f"{headers} {location} {raw.decode('utf-8', 'replace')}"


def leaks(text: str, incident: Incident) -> bool:
    return incident.reference in text or SECRET_TITLE in text or "Exfiltration" in text


@pytest.fixture
def world(restricted_world, declare, payments, outsider, security_lead):
    visible = declare(title="Payments slow for some cards", severity="P1", services=[payments])
    return World(restricted_world, visible, outsider, security_lead)


def walk(client, urls: list[str], incident: Incident, *, post: bool) -> list[str]:
    found = []
    for url in urls:
        for method in (("get", "post") if post else ("get",)):
            response = getattr(client, method)(url)
            assert response.status_code < 500, f"{method.upper()} {url}"
            if leaks(readable(response), incident):
                found.append(f"{method.upper()} {url} ({response.status_code})")
    return found


@pytest.mark.parametrize("group", ["Manager", "Responder", "Product manager"])
def test_no_url_names_a_restricted_incident_to_staff_who_take_no_part(
        world, make_user, client_for, group):
    walker = make_user(group, is_staff=group == "Manager")
    world.tell(walker)
    urls = world.urls()
    assert len(urls) > 250  # the portal and the admin, not a handful
    leaked = walk(client_for(walker), urls, world.restricted, post=group == "Manager")
    assert leaked == [], "\n".join(leaked)
    assert not PostMortem.objects.filter(incident=world.restricted, waived=True).exists()


def test_anonymous_visitors_and_the_status_page_never_see_it(world, client):
    leaked = walk(client, world.urls(), world.restricted, post=False)
    assert leaked == [], "\n".join(leaked)


def test_a_participant_walking_the_same_urls_finds_it_so_the_walk_would_catch_a_leak(
        world, security_lead, client_for):
    security_lead.is_staff = True
    security_lead.save()
    world.tell(security_lead)
    found = walk(client_for(security_lead), world.urls(), world.restricted, post=False)
    places = " ".join(found)
    for place in ("/incidents/", "/war-room/", "/reviews/", "/admin/incidents/incident/",
                  "/admin/postmortems/actionitem/", "/notifications/", "/admin/r/"):
        assert place in places, place
    assert ActionItem.objects.filter(postmortem__incident=world.restricted).exists()
    assert Notification.objects.filter(incident=world.restricted).exists()
