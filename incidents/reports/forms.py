"""The report period and filters, shared by the dashboard (form errors on the page) and the
export URLs (a 400 with a JSON error)."""

from __future__ import annotations

from django import forms

from incidents.models import Incident, IncidentType, Service, SeverityLevel
from incidents.validation import BoundedDateField

from .metrics import ReportFilters
from .periods import PRESETS, PeriodError, ReportPeriod, preset_period

DEFAULT_PRESET = "last_30"


class ReportFilterForm(forms.Form):
    """GET parameters: preset (last_7, last_30, last_90, this_month, last_month) or
    date_from + date_to (YYYY-MM-DD, whole days), and severity (code), service (slug),
    type (code). Nothing at all means the last 30 days."""

    preset = forms.ChoiceField(choices=[("", "Custom dates"), *PRESETS.items()], required=False,
                               widget=forms.HiddenInput)
    date_from = BoundedDateField(label="From", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}),
                                input_formats=["%Y-%m-%d"])
    date_to = BoundedDateField(label="To", required=False,
                              widget=forms.DateInput(attrs={"type": "date"}),
                              input_formats=["%Y-%m-%d"])
    severity = forms.ModelChoiceField(SeverityLevel.objects.order_by("rank"), to_field_name="code",
                                      required=False, empty_label="All severities")
    service = forms.ModelChoiceField(Service.objects.order_by("name"), to_field_name="slug",
                                     required=False, empty_label="All services")
    type = forms.ModelChoiceField(IncidentType.objects.order_by("order", "name"),
                                  to_field_name="code", required=False, empty_label="All types")

    def __init__(self, data=None, **kwargs):
        data = data.copy() if data is not None else {}
        if not any(data.get(key) for key in ("preset", "date_from", "date_to")):
            data["preset"] = DEFAULT_PRESET
        super().__init__(data, **kwargs)
        self.period: ReportPeriod | None = None
        self.filters = ReportFilters()

    def clean(self):
        cleaned = super().clean()
        preset = cleaned.get("preset")
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        try:
            if preset:
                self.period = preset_period(preset)
            elif "date_from" in self.errors or "date_to" in self.errors:
                return cleaned
            elif start is None or end is None:
                missing = "date_from" if start is None else "date_to"
                self.add_error(missing, "Give both a start and an end date, or pick a preset.")
                return cleaned
            else:
                self.period = ReportPeriod(start, end)
        except PeriodError as exc:
            self.add_error("date_to" if start and end else None, str(exc))
            return cleaned
        self.filters = ReportFilters(
            severity=cleaned.get("severity"), service=cleaned.get("service"),
            incident_type=cleaned.get("type"),
        )
        return cleaned

    def error_text(self) -> str:
        """All errors in one sentence, for JSON responses."""
        parts = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            for error in errors:
                parts.append(f"{label}: {error}" if label and name != "__all__" else str(error))
        return " ".join(parts)

    def query(self, **extra) -> dict[str, str]:
        """The resolved period and filters as GET parameters (for export links)."""
        query = {**self.period.as_query(), **self.filters.as_query()} if self.period else {}
        query.update(extra)
        return query

