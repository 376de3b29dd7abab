"""Forms of the managers' admin (incidents/admin.py): the reason for change that history
records, and the small forms behind each explicit incident action. Each action form knows the
service keyword arguments it provides; the admin views call the service."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import Group
from django.utils import timezone

from .durations import refuse_business_days_on_24x7
from .forms import incident_workers
from .roles import role_choices
from .people import display_name
from . import services
from .selectors import visible_incidents
from .models import Incident, SeverityLevel, TimelineEntry
from .validation import bound_form_dates, validate_single_line

REASON_HELP = "Recorded in the history with your name."


def posted_data(request):
    """The POST data, or None for a GET (an empty POST still binds, so it gets validated)."""
    return request.POST if request.method == "POST" else None


def person_name(user) -> str:
    return display_name(user)


def transition_custom(name: str) -> dict:
    """The label and verb declared on the Incident transition `name`."""
    return next(iter(getattr(Incident, name)._django_fsm.transitions.values())).custom


def transition_label(name: str) -> str:
    return transition_custom(name)["label"]


class PersonChoiceField(forms.ModelChoiceField):
    """People who work incidents, as on the staff pages (the service refuses anyone else)."""

    def __init__(self, **kwargs):
        super().__init__(queryset=incident_workers().order_by("username"), **kwargs)

    def label_from_instance(self, user):
        full_name = user.get_full_name()
        return f"{full_name} ({user.get_username()})" if full_name else user.get_username()


class ChangeReasonForm(forms.ModelForm):
    """Adds the "reason for change" that simple-history records; required when anything changes."""

    NON_MODEL_FIELDS = ("change_reason", "expected_version")

    change_reason = forms.CharField(
        label="Reason for change", max_length=100, required=False, help_text=REASON_HELP
    )

    def model_changes(self) -> list[str]:
        return [name for name in self.changed_data if name not in self.NON_MODEL_FIELDS]

    def clean(self):
        cleaned = super().clean()
        reason = (cleaned.get("change_reason") or "").strip()
        if self.instance.pk and self.model_changes() and not reason:
            self.add_error("change_reason", "Say why you are making this change.")
        cleaned["change_reason"] = reason
        return cleaned


class SeverityLevelForm(ChangeReasonForm):
    """Targets read "1 business day" on a business-hours clock; on a 24x7 clock "business
    day" is refused rather than silently taken as 24 hours."""

    CLOCKED = ("response_target", "resolution_target")  # run on the severity's clock
    ALWAYS_24X7 = ("update_cadence", "postmortem_due_within")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        business = self.instance.clock == SeverityLevel.Clock.BUSINESS_HOURS
        for name in self.CLOCKED:
            if name in self.fields:
                self.fields[name].business_days = business
        if "response_target" in self.fields:
            self.fields["response_target"].zero_label = "immediate"

    def clean(self):
        cleaned = super().clean()
        business = cleaned.get("clock") == SeverityLevel.Clock.BUSINESS_HOURS
        refuse_business_days_on_24x7(self, list(self.CLOCKED), business_clock=business)
        refuse_business_days_on_24x7(self, list(self.ALWAYS_24X7), business_clock=False)
        return cleaned


# --- Forms for the incident's explicit actions ----------------------------------------------


class TransitionForm(forms.Form):
    """A transition with an optional reason; subclasses add what their service needs."""

    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP
    )

    def __init__(self, *args, incident: Incident, user=None, **kwargs):
        self.incident = incident
        self.user = user  # who fills it in: a duplicate-of reference must be one they may see
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"].strip()}


class TriageForm(TransitionForm):
    severity = forms.ModelChoiceField(SeverityLevel.objects.active(), help_text="Confirm or correct.")
    incident_manager = PersonChoiceField()
    field_order = ["severity", "incident_manager", "reason"]

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["severity"].initial = incident.severity_id
        self.fields["incident_manager"].initial = incident.incident_manager_id

    def service_kwargs(self):
        return {**super().service_kwargs(), "severity": self.cleaned_data["severity"],
                "incident_manager": self.cleaned_data["incident_manager"]}


class MitigateForm(TransitionForm):
    workaround = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    field_order = ["workaround", "reason"]

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["workaround"].initial = incident.workaround

    def service_kwargs(self):
        return {**super().service_kwargs(), "workaround": self.cleaned_data["workaround"]}


class ResolveForm(TransitionForm):
    summary = forms.CharField(label="Resolution summary", widget=forms.Textarea(attrs={"rows": 4}))
    field_order = ["summary", "reason"]

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["summary"].initial = incident.resolution_summary

    def service_kwargs(self):
        return {**super().service_kwargs(), "summary": self.cleaned_data["summary"]}


class ReasonRequiredForm(TransitionForm):
    """Reopen and cancel: the service refuses them without a reason."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)


class MarkDuplicateForm(TransitionForm):
    original = forms.CharField(label="Duplicate of", help_text="Reference, e.g. INC-2026-0042.")
    field_order = ["original", "reason"]

    def clean_original(self):
        reference = self.cleaned_data["original"].strip()
        original = visible_incidents(self.user).filter(reference__iexact=reference).first()
        if original is None:
            raise forms.ValidationError(f"No incident has the reference “{reference}”.")
        if original.pk == self.incident.pk:
            raise forms.ValidationError("An incident cannot be a duplicate of itself.")
        return original

    def service_kwargs(self):
        return {**super().service_kwargs(), "duplicate_of": self.cleaned_data["original"]}


TRANSITION_FORMS = {
    "triage": TriageForm,
    "investigate": TransitionForm,
    "mitigate": MitigateForm,
    "resolve": ResolveForm,
    "reopen": ReasonRequiredForm,
    "close": TransitionForm,
    "cancel": ReasonRequiredForm,
    "mark_duplicate": MarkDuplicateForm,
}


def needs_input(name: str) -> bool:
    """Whether the transition's button leads to a form first (it has a required field)."""
    return any(field.required for field in TRANSITION_FORMS[name].base_fields.values())


class VersionedActionForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    def __init__(self, *args, incident: Incident, **kwargs):
        self.incident = incident
        super().__init__(*args, **kwargs)
        self.fields["expected_version"].initial = incident.version


class SeverityChangeForm(VersionedActionForm):
    severity = forms.ModelChoiceField(SeverityLevel.objects.active(), label="New severity")
    field_order = ["severity", "reason"]

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["severity"].queryset = SeverityLevel.objects.active().exclude(
            pk=incident.severity_id)

    def apply(self, *, by):
        return services.incident_change_severity(
            self.incident, by=by, severity=self.cleaned_data["severity"],
            reason=self.cleaned_data["reason"].strip(),
            expected_version=self.cleaned_data["expected_version"],
        )


class RoleAssignForm(VersionedActionForm):
    role = forms.ChoiceField(choices=list(services.ROLE_FIELDS.items()))
    person = PersonChoiceField(required=False, help_text="Leave empty to clear the role.")
    field_order = ["role", "person", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices()

    def apply(self, *, by):
        return services.incident_assign_role(
            self.incident, by=by, role=self.cleaned_data["role"],
            user=self.cleaned_data["person"], reason=self.cleaned_data["reason"].strip(),
            expected_version=self.cleaned_data["expected_version"],
        )


class VisibilityChangeForm(VersionedActionForm):
    restricted = forms.BooleanField(
        required=False, help_text="Only participants, the groups below and holders of “view all "
                                  "restricted incidents” see a restricted incident.")
    groups = forms.ModelMultipleChoiceField(Group.objects.order_by("name"), required=False,
                                            widget=forms.CheckboxSelectMultiple)
    field_order = ["restricted", "groups", "reason"]

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["restricted"].initial = incident.is_restricted
        self.fields["groups"].initial = list(incident.visible_to_groups.all())

    def apply(self, *, by):
        return services.incident_set_visibility(
            self.incident, by=by, restricted=self.cleaned_data["restricted"],
            groups=self.cleaned_data["groups"], reason=self.cleaned_data["reason"].strip(),
            expected_version=self.cleaned_data["expected_version"],
        )


class BulkCancelForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)


EDITABLE_FIELDS = ("title", "description", *services.IMPACT_FIELDS)
IMPACT_LAYOUT = (
    ("customers_affected", "customers_affected_pct"),
    ("revenue_impact_per_hour", "currency"),
    ("incident_type", "root_cause_category"),
    ("is_customer_facing", "is_security", "is_data_integrity", "is_compliance"),
)


class IncidentChangeForm(ChangeReasonForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Incident
        fields = EDITABLE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expected_version"].initial = self.instance.version
        if "title" in self.fields:  # absent when read-only (a past version, no change right)
            self.fields["title"].validators.append(validate_single_line)

    def clean_expected_version(self):
        expected = self.cleaned_data["expected_version"]
        current = Incident.objects.filter(pk=self.instance.pk).values_list("version", flat=True)
        if current.first() != expected:
            raise forms.ValidationError(
                "Someone else changed this incident while you were editing; reload the page "
                "to see their change (your edits here were not saved)."
            )
        return expected


class IncidentAddForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = ("title", "description", "severity", "services", "detected_at",
                  *services.IMPACT_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].validators.append(validate_single_line)
        bound_form_dates(self)

    def clean_detected_at(self):
        detected_at = self.cleaned_data["detected_at"]
        if detected_at and detected_at > timezone.now():
            raise forms.ValidationError("The detection time cannot be in the future.")
        return detected_at


class TimelineEntryForm(ChangeReasonForm):
    class Meta:
        model = TimelineEntry
        fields = ("occurred_at", "text", "is_key_event")
