"""Forms validate input; the services decide. Each review section is its own form."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.forms import modelformset_factory
from django.utils import timezone

from incidents.models import Incident
from incidents.people import display_name
from incidents.validation import BoundedDateField, BoundedDateTimeField, bound_form_dates

from .models import ActionItem, FollowUpTask, PostMortem, PostMortemTimelineItem

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _datetime_widget():
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


def _active_users():
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return display_name(user)


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return display_name(user)


class SectionForm(forms.ModelForm):
    """A section of the review; carries the version so a stale edit is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        for name, field in self.fields.items():
            if isinstance(field, forms.DateTimeField):
                field.widget = _datetime_widget()
                field.input_formats = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        bound_form_dates(self)

    def service_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class SummaryForm(SectionForm):
    class Meta:
        model = PostMortem
        fields = ["title", "summary", "started_at", "ended_at", "users_affected",
                  "impact_description", "services_affected"]
        widgets = {"services_affected": forms.CheckboxSelectMultiple,
                   "summary": forms.Textarea(attrs={"rows": 4}),
                   "impact_description": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        data = super().clean()
        started, ended = data.get("started_at"), data.get("ended_at")
        if started and ended and ended < started:
            self.add_error("ended_at", "The end cannot be before the start.")
        return data


class AnalysisForm(SectionForm):
    root_cause_category = forms.ChoiceField(
        choices=Incident.RootCause.choices, required=False, label="Root cause category",
        help_text="Shown on the incident's page and in the reports and exports.")
    why_1 = forms.CharField(label="Why? (1)", required=False, max_length=500)
    why_2 = forms.CharField(label="Why? (2)", required=False, max_length=500)
    why_3 = forms.CharField(label="Why? (3)", required=False, max_length=500)
    why_4 = forms.CharField(label="Why? (4)", required=False, max_length=500)
    why_5 = forms.CharField(label="Why? (5)", required=False, max_length=500)

    class Meta:
        model = PostMortem
        fields = ["root_cause", "contributing_factors"]
        widgets = {"root_cause": forms.Textarea(attrs={"rows": 5}),
                   "contributing_factors": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number, why in enumerate(self.instance.five_whys[:5], 1):
            self.fields[f"why_{number}"].initial = why
        self.fields["root_cause_category"].initial = self.instance.incident.root_cause_category

    def service_values(self) -> dict:
        values = super().service_values()
        values["five_whys"] = [self.cleaned_data[f"why_{n}"] for n in range(1, 6)]
        values["root_cause_category"] = self.cleaned_data["root_cause_category"]
        return values


class ResolutionForm(SectionForm):
    class Meta:
        model = PostMortem
        fields = ["resolution", "prevention_measures"]
        widgets = {"resolution": forms.Textarea(attrs={"rows": 4}),
                   "prevention_measures": forms.Textarea(attrs={"rows": 4})}


class LessonsForm(SectionForm):
    class Meta:
        model = PostMortem
        fields = ["went_well", "could_improve"]
        widgets = {"went_well": forms.Textarea(attrs={"rows": 4}),
                   "could_improve": forms.Textarea(attrs={"rows": 4})}


class FollowUpsForm(SectionForm):
    follow_ups_done = forms.MultipleChoiceField(
        label="Done", required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = PostMortem
        fields = ["follow_ups_done"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The managers' list (FollowUpTask), plus retired tasks this review already ticked.
        self.fields["follow_ups_done"].choices = [
            (task["key"], task["label"]) for task in self.instance.follow_up_list]


class MeetingForm(SectionForm):
    attendees = UsersChoiceField(queryset=_active_users(), required=False,
                                 widget=forms.CheckboxSelectMultiple)
    agenda_done = forms.MultipleChoiceField(
        label="Agenda covered", required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = PostMortem
        fields = ["meeting_at", "attendees", "agenda_done", "meeting_notes"]
        widgets = {"meeting_notes": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = _active_users()
        self.fields["agenda_done"].choices = [
            (point["key"], f"{point['label']} ({point['minutes']} min)" if point["minutes"]
             else point["label"]) for point in self.instance.agenda]


class BusinessImpactForm(SectionForm):
    class Meta:
        model = PostMortem
        fields = [
            "before_revenue_impact", "before_customer_access_pct", "before_error_rate",
            "before_functionality", "after_revenue_impact", "after_customer_access_pct",
            "after_error_rate", "after_functionality", "duration_hours_override",
            "revenue_lost_override", "resolution_hours", "hourly_rate", "revenue_restored",
            "revenue_restored_period",
        ]
        widgets = {"before_functionality": forms.Textarea(attrs={"rows": 2}),
                   "after_functionality": forms.Textarea(attrs={"rows": 2})}

    def clean(self):
        data = super().clean()
        for name in self._meta.fields:
            value = data.get(name)
            if name.endswith("_pct") and value is not None and not 0 <= value <= 100:
                self.add_error(name, "Enter a percentage between 0 and 100.")
            elif isinstance(value, Decimal) and value < 0:
                self.add_error(name, "Enter zero or more.")
        return data


class PlanningForm(SectionForm):
    owner = UserChoiceField(queryset=_active_users(), required=False)

    class Meta:
        model = PostMortem
        fields = ["owner", "due_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _active_users()


SECTION_FORMS = {
    "summary": ("Summary", SummaryForm),
    "analysis": ("Root cause", AnalysisForm),
    "resolution": ("Resolution and prevention", ResolutionForm),
    "lessons": ("Lessons learned", LessonsForm),
    "follow_ups": ("Follow-up tasks", FollowUpsForm),
    "meeting": ("Post-mortem meeting", MeetingForm),
    "business_impact": ("Business impact and ROI", BusinessImpactForm),
    "planning": ("Owner and due time", PlanningForm),
}


class CommentsForm(forms.Form):
    comments = forms.CharField(label="What needs to change", widget=forms.Textarea(attrs={"rows": 4}))


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class TimelineItemForm(forms.ModelForm):
    class Meta:
        model = PostMortemTimelineItem
        fields = ["occurred_at", "text", "included"]
        widgets = {"occurred_at": _datetime_widget(), "text": forms.Textarea(attrs={"rows": 1})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].input_formats = [DATETIME_FORMAT, "%Y-%m-%d %H:%M"]
        bound_form_dates(self)
        self.fields["occurred_at"].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["text"].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["included"].widget.attrs["class"] = "form-check-input"


TimelineFormSet = modelformset_factory(
    PostMortemTimelineItem, form=TimelineItemForm, extra=0, can_delete=True
)


class TimelineAddForm(forms.Form):
    occurred_at = BoundedDateTimeField(label="Time", required=False,
                                      widget=forms.DateTimeInput(
                                          attrs={"type": "datetime-local",
                                                 "class": "form-control form-control-sm"},
                                          format=DATETIME_FORMAT),
                                      input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"])
    text = forms.CharField(label="New line", required=False,
                           widget=forms.Textarea(attrs={"rows": 1,
                                                        "class": "form-control form-control-sm"}))

    def clean(self):
        data = super().clean()
        if data.get("text", "").strip() and not data.get("occurred_at"):
            self.add_error("occurred_at", "Give the new line a date and time.")
        return data


class ActionItemForm(forms.ModelForm):
    owner = UserChoiceField(queryset=_active_users())
    ticket_url = forms.URLField(label="External ticket", required=False, max_length=500,
                                assume_scheme="https")

    class Meta:
        model = ActionItem
        fields = ["title", "description", "owner", "due_date", "priority", "kind", "ticket_url"]
        widgets = {"due_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _active_users()
        bound_form_dates(self)

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        unchanged = self.instance.pk and due == self.instance.due_date
        if due < timezone.localdate() and not unchanged:
            raise forms.ValidationError("The due date cannot be in the past.")
        return due


class FollowUpActionForm(forms.Form):
    follow_up = forms.ChoiceField()
    owner = UserChoiceField(queryset=_active_users())
    due_date = BoundedDateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _active_users()
        self.fields["follow_up"].choices = list(
            FollowUpTask.objects.filter(is_active=True).values_list("slug", "label"))
        # Rendered inline on the review page, field by field: Bootstrap's small controls.
        for name, css in (("follow_up", "form-select form-select-sm"),
                          ("owner", "form-select form-select-sm"),
                          ("due_date", "form-control form-control-sm")):
            self.fields[name].widget.attrs.setdefault("class", css)

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due < timezone.localdate():
            raise forms.ValidationError("The due date cannot be in the past.")
        return due


class ActionItemFilterForm(forms.Form):
    owner = UserChoiceField(queryset=_active_users(), required=False, empty_label="Anyone")
    state = forms.ChoiceField(required=False, choices=[
        ("unfinished", "Open or in progress"), ("", "Any state"), *ActionItem.State.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *ActionItem.Kind.choices])
    overdue = forms.BooleanField(required=False, label="Overdue only")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _active_users()


class PostMortemFilterForm(forms.Form):
    state = forms.ChoiceField(required=False,
                              choices=[("", "Any state"), *PostMortem.State.choices])
    overdue = forms.BooleanField(required=False, label="Overdue only")
    mine = forms.BooleanField(required=False, label="Mine")
    q = forms.CharField(required=False, label="Search")
