"""War-room forms: they validate input and hand clean values to a service."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from incidents.forms import NoteForm, PersonChoiceField, incident_workers
from incidents.models import Audience, MessageTemplate, TimelineEntry
from incidents.models.communications import Stage
from incidents.roles import role_choices
from incidents.validation import validate_single_line

# "14:05 issue detected": a note that starts with a time happened then (today, or yesterday
# when that time has not come yet today).
LEADING_TIME = re.compile(r"^\s*([01]?\d|2[0-3])[:.h]([0-5]\d)\s+(.+)$", re.DOTALL)


def time_from_text(text: str, *, now: datetime | None = None) -> tuple[datetime | None, str]:
    match = LEADING_TIME.match(text)
    if not match:
        return None, text
    now = timezone.localtime(now or timezone.now())
    hour, minute, rest = int(match.group(1)), int(match.group(2)), match.group(3).strip()
    when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if when > now:
        when -= timedelta(days=1)
    return when, rest


class QuickNoteForm(NoteForm):
    """A note, backdated by the "Happened at" field or by starting it with "HH:MM"."""

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("text")
        if text and not cleaned.get("occurred_at"):
            when, rest = time_from_text(text)
            if when is not None:
                cleaned["occurred_at"], cleaned["text"] = when, rest
        return cleaned


class TimelineFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "All entries")] + list(TimelineEntry.Kind.choices),
                             required=False)
    after = forms.IntegerField(required=False, min_value=0)


ROSTER_ROLES = [
    ("incident_manager", "Incident manager"),
    ("communications_lead", "Communications lead"),
    ("scribe", "Scribe"),
    ("responder", "Responder"),
]


class RosterForm(forms.Form):
    role = forms.ChoiceField(choices=ROSTER_ROLES)
    user = PersonChoiceField(queryset=None, required=False, label="Person",
                             empty_label="— nobody (clear the role) —")
    reason = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = incident_workers()
        # Roles managers defined (seed 003's specialists) come after the built-in ones.
        self.fields["role"].choices = role_choices() + [("responder", "Responder")]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") == "responder" and not cleaned.get("user"):
            self.add_error("user", "Choose the person to add as responder.")
        return cleaned


class ComposeForm(forms.Form):
    """An update being written: starts from a rendered template, edited freely."""

    template = forms.ModelChoiceField(queryset=MessageTemplate.objects.filter(is_active=True),
                                      required=False, widget=forms.HiddenInput)
    audience = forms.ModelChoiceField(queryset=Audience.objects.filter(is_active=True),
                                      to_field_name="slug", empty_label=None)
    stage = forms.ChoiceField(choices=Stage.choices)
    subject = forms.CharField(max_length=255, validators=[validate_single_line])
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}))
    is_public = forms.BooleanField(
        required=False, label="Publish on the public status page",
        help_text="Customer updates only. Everything in the subject and body becomes public.",
    )

    def clean(self):
        cleaned = super().clean()
        audience = cleaned.get("audience")
        if cleaned.get("is_public") and audience is not None and not audience.may_publish:
            self.add_error("is_public", f"Updates for {audience.name.lower()} cannot be "
                                        "published on the status page.")
        for field in ("subject", "body"):
            value = cleaned.get(field) or ""
            if "{{" in value or "{%" in value:
                self.add_error(field, "Fill in or remove the template placeholders ({{ … }}) "
                                      "before sending.")
        return cleaned
