"""Similar incidents: open possible duplicates and similar past ones, on the incident page and
the alert view, with one click to mark a duplicate. PostgreSQL uses full-text search; the
plain fallback (what SQLite runs) is exercised by making the module believe it is on SQLite."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from incidents import services as incident_services
from incidents.intake import similar
from incidents.intake.models import Alert
from incidents.models import Incident

from . import payloads

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(declare, incident_manager, payments):
    """An open checkout incident, a resolved one like it, and an unrelated one."""
    open_one = declare(title="Checkout payments failing with 500 errors", services=[payments])
    past = declare(title="Payments checkout errors after deploy", services=[payments])
    past = incident_services.incident_triage(past, by=incident_manager,
                                             incident_manager=incident_manager)
    incident_services.incident_resolve(past, by=incident_manager, summary="Rolled back")
    declare(title="Office wifi is slow")
    return open_one, past


class PretendSqlite:
    vendor = "sqlite"


@pytest.fixture(params=["postgresql", "sqlite fallback"])
def engine(request, monkeypatch):
    if request.param == "postgresql":
        request.getfixturevalue("postgres")
    else:
        monkeypatch.setattr(similar, "connection", PretendSqlite())
    return request.param


def test_open_duplicates_and_past_incidents_are_listed(engine, history, payments, responder):
    open_one, past = history
    found = similar.similar_incidents(user=responder,
                                      title="Checkout errors: payments return 500",
                                      services=[payments])
    assert [s.incident for s in found["open"]] == [open_one]
    assert [s.incident for s in found["past"]] == [past]
    assert found["open"][0].shared_services == ["Payments"]


def test_unrelated_text_finds_nothing(engine, history, responder):
    assert similar.similar_incidents(user=responder, title="Printer out of toner") == {
        "open": [], "past": []}


def test_restricted_incidents_are_listed_only_to_those_who_may_see_them(
        engine, history, responder, make_user):
    open_one, _ = history
    boss = make_user("Incident manager")
    boss.user_permissions.add(*Permission.objects.filter(codename="change_incident_visibility"))
    boss = type(boss).objects.get(pk=boss.pk)  # fresh permission cache
    incident_services.participants_add(open_one, [boss], reason="added")
    incident_services.incident_set_visibility(open_one, by=boss, restricted=True,
                                              reason="Security issue")
    title = "Checkout errors: payments return 500"
    assert similar.similar_incidents(user=responder, title=title)["open"] == []
    assert [s.incident for s in similar.similar_incidents(user=boss, title=title)["open"]] == [
        open_one]


def test_the_incident_page_offers_one_click_to_mark_a_duplicate(history, declare,
                                                                incident_manager, payments):
    open_one, _ = history
    newer = declare(title="Checkout failing: payments 500 errors", services=[payments])
    client = Client()
    client.force_login(incident_manager)
    page = client.get(newer.get_absolute_url()).content.decode()
    assert 'id="similar-incidents"' in page and open_one.reference in page
    response = client.post(reverse("incidents:transition", args=[newer.reference,
                                                                 "mark_duplicate"]),
                           {"mark_duplicate-duplicate_of": open_one.reference})
    assert response.status_code == 302
    newer.refresh_from_db()
    assert newer.state == Incident.State.DUPLICATE and newer.duplicate_of == open_one


def test_the_alert_view_lists_similar_incidents(history, alertmanager_integration, post,
                                                incident_manager):
    open_one, _ = history
    post(alertmanager_integration, payloads.alertmanager(payloads.am_alert(
        "CheckoutErrors", annotations={"summary": "Checkout payments errors above 5%"})))
    alert = Alert.objects.get()
    client = Client()
    client.force_login(incident_manager)
    page = client.get(reverse("intake:alert", args=[alert.pk])).content.decode()
    assert open_one.reference in page
    assert "Mark " + alert.incident.reference + " a duplicate" in page


# --- while declaring --------------------------------------------------------------------------

SIMILAR_WHILE_DECLARING = "/incidents/declare/similar/"


def test_the_declare_form_asks_for_similar_incidents_as_the_title_is_typed(responder,
                                                                           client_for):
    page = client_for(responder).get(reverse("incidents:declare"))

    assert page.status_code == 200
    html = page.content.decode()
    assert f'hx-get="{reverse("intake:similar_while_declaring")}"' in html
    assert "from:#id_title" in html and 'id="id_title"' in html


def test_typing_a_title_like_an_open_incident_lists_it_as_a_possible_duplicate(
        engine, history, payments, responder, client_for):
    open_one, past = history

    answer = client_for(responder).get(SIMILAR_WHILE_DECLARING, {
        "title": "Checkout errors: payments return 500", "services": [str(payments.pk)]})

    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Already open: is it one of these?" in html
    duplicates, past_part = html.split("Similar past incidents")
    assert open_one.reference in duplicates and "shares Payments" in duplicates
    assert past.reference in past_part and past.reference not in duplicates
    assert "Office wifi" not in html


def test_nothing_similar_shows_nothing(history, responder, client_for):
    answer = client_for(responder).get(SIMILAR_WHILE_DECLARING, {"title": "Printer out of toner"})

    assert answer.status_code == 200 and answer.content.strip() == b""


def test_a_restricted_incident_is_not_offered_to_someone_outside_it(history, responder,
                                                                   client_for, django_user_model):
    open_one, _ = history
    security_lead = django_user_model.objects.create_superuser("sec", "sec@example.com", "x")
    incident_services.incident_set_visibility(open_one, by=security_lead, restricted=True,
                                              reason="Security issue")

    answer = client_for(responder).get(SIMILAR_WHILE_DECLARING, {
        "title": "Checkout errors: payments return 500"})

    assert open_one.reference.encode() not in answer.content


@pytest.mark.parametrize("query", [
    {"title": "Checkout " * 20_000},
    {"title": "Checkout", "services": ["x", "-1", "9" * 40, ""]},
    {"description": "payments", "title": ""},
    {},
])
def test_odd_input_is_an_answer_never_an_error(history, responder, client_for, query):
    assert client_for(responder).get(SIMILAR_WHILE_DECLARING, query).status_code == 200


def test_only_people_who_may_declare_are_answered(history, product_manager, client_for):
    answer = client_for(product_manager).get(SIMILAR_WHILE_DECLARING, {"title": "Checkout"})

    assert answer.status_code == 403
