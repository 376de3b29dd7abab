"""Fixtures for the procedure configuration: a manager in the admin, and the data an admin
change page would post back unchanged (so a test changes only what it means to)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


def admin_form_data(response) -> dict:
    """What the admin change page at `response` posts when saved untouched: the main form
    and every existing inline row, as the browser would send them."""
    data: dict = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        existing = formset.initial_form_count()
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        data[management.add_prefix("TOTAL_FORMS")] = existing  # no new rows
        forms.extend(formset.forms[:existing])
    for form in forms:
        for bound in form:
            value = bound.value()
            if value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value
    return data


@pytest.fixture
def staffed_levels(make_user):
    """Each default escalation level gets a named person, so pages have someone to reach."""
    from escalation.models import EscalationLevel

    people = {}
    for level in EscalationLevel.objects.all():
        person = make_user("Responder", username=f"level{level.number}")
        level.users.add(person)
        people[level.number] = person
    return people


