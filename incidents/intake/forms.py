from __future__ import annotations

from django import forms

from .models import Alert, Integration


class AlertFilterForm(forms.Form):
    SHOW = [("recent", "Recent"), ("unmatched", "Unmatched"), ("suppressed", "Suppressed")]

    show = forms.ChoiceField(choices=SHOW, required=False)
    integration = forms.ModelChoiceField(Integration.objects.order_by("name"), required=False,
                                         empty_label="All integrations")
    state = forms.ChoiceField(choices=[("", "Any state"), *Alert.State.choices], required=False)
    q = forms.CharField(label="Search", required=False, max_length=100)

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"show": data["show"] or "recent",
                "integration": data["integration"].pk if data["integration"] else "",
                "state": data["state"], "search": data["q"].strip()}
