"""Helpers the other service modules share: how a moment and an incident's link read in
timeline and notification text, who is told about an incident, saving a row with its history
user and reason, and a model's content type. They live apart so that clocks, breaches, policies,
escalations and actions can each import them without importing one another; the leading
underscore of the private ones is kept because they are for this package only."""

from __future__ import annotations

from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from incidents.models import Incident


def when(moment: datetime) -> str:
    """Full date and time in the organisation's zone, for timeline and notification text."""
    return timezone.localtime(moment).strftime("%a %d %b %Y %H:%M %Z")


def incident_url(incident: Incident) -> str:
    try:
        return incident.get_absolute_url()
    except NoReverseMatch:  # the incident pages are another area; fall back to ours
        return reverse("escalation:escalate", kwargs={"reference": incident.reference})


def _save(obj, *, by=None, reason: str = "") -> None:
    obj._history_user = by
    obj._change_reason = reason[:100]
    obj.save()


def _people_to_tell(incident: Incident) -> list:
    people = [incident.incident_manager, incident.reporter]
    people.extend(incident.responders.all())
    return [p for p in people if p is not None]


def _content_type(model):
    return ContentType.objects.get_for_model(model)
