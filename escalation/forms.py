"""Forms of the escalation pages: they validate input; the rules live in escalation.services."""

from __future__ import annotations

from django import forms

from . import selectors
from .models import EscalationEvent, EscalationLevel


class EscalateForm(forms.Form):
    """Manual escalation (seed 004 "Manual Escalation Criteria")."""

    level = forms.ModelChoiceField(queryset=EscalationLevel.objects.all(), empty_label=None,
                                   label="Escalate to")
    reason_category = forms.ChoiceField(
        label="Why",
        choices=[(c.value, c.label) for c in EscalationEvent.MANUAL_REASONS],
        widget=forms.RadioSelect,
        help_text="Complexity: expertise beyond the team, several teams or vendors, design "
                  "decisions. Resources: more people, consultants, budget. Business impact: "
                  "customers, revenue, reputation. Security: a breach, a vulnerability or "
                  "exposed data.",
    )
    note = forms.CharField(
        label="What is the level needed for?", max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, incident=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.incident = incident
        if incident is not None:
            self.auto_id = f"escalate-{incident.reference}-%s"
            # The levels of the ladder this incident climbs (its type's own, or the default).
            self.fields["level"].queryset = selectors.escalation_levels(incident)
            if not self.is_bound:
                # Offer the level above the one already engaged, not always the first line.
                current = selectors.current_level(incident)
                if current is not None:
                    above = self.fields["level"].queryset.filter(number__gt=current.number)
                    self.fields["level"].initial = above.order_by("number").first() or current

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError("Say what the level is needed for.")
        return note
