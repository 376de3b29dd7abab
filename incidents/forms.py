"""Forms for the staff pages. They validate input and hand clean values to a service; the rules
(guards, permissions, what a change records) live in `incidents.services`."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q
from django.utils import timezone

from .currencies import CURRENCY_CHOICES
from .models import Incident, IncidentType, Service, SeverityLevel
from .roles import role_choices
from .selectors import visible_incidents
from .services import IMPACT_FIELDS, ROLE_FIELDS
from .validation import BoundedDateTimeField, validate_single_line


# A description or note longer than this is a document: it made a page 44,000 px tall.
TEXT_MAX = 5000


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker; values are in the portal's time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _not_in_future(value, what: str):
    if value and value > timezone.now():
        raise forms.ValidationError(f"The {what} cannot be in the future.")
    return value


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.get_username()})" if full else obj.get_username()


def incident_workers():
    """People who can work incidents: the choices for roles and responders."""
    User = get_user_model()
    can_work = Q(groups__permissions__codename="work_incident",
                 groups__permissions__content_type__app_label="incidents")
    can_work |= Q(user_permissions__codename="work_incident",
                  user_permissions__content_type__app_label="incidents")
    ids = User.objects.filter(can_work | Q(is_superuser=True), is_active=True).values("pk")
    return User.objects.filter(pk__in=ids).order_by("first_name", "last_name", "username")


IMPACT_FORM_FIELDS = [
    "customers_affected",
    "customers_affected_pct",
    "revenue_impact_per_hour",
    "currency",
    "incident_type",
    "is_customer_facing",
    "is_security",
    "is_data_integrity",
    "is_compliance",
]


def offer_incident_types(field: forms.ModelChoiceField, current: IncidentType | None = None):
    """Active types, plus the incident's own type when a manager has since retired it."""
    keep = Q(is_active=True) | (Q(pk=current.pk) if current is not None else Q(pk__in=[]))
    field.queryset = IncidentType.objects.filter(keep).order_by("order", "name")
    field.empty_label = None
    field.to_field_name = "code"  # readable values in the page and in posted data


class ImpactFieldsMixin:
    """Impact as stakeholders read it: an ISO 4217 currency, no negative numbers."""

    def clean_revenue_impact_per_hour(self):
        value = self.cleaned_data.get("revenue_impact_per_hour")
        if value is not None and value < 0:
            raise forms.ValidationError("Revenue impact cannot be negative; enter 0 for none.")
        return value

    def clean_customers_affected_pct(self):
        value = self.cleaned_data.get("customers_affected_pct")
        if value is not None and not 0 <= value <= 100:
            raise forms.ValidationError("A percentage is between 0 and 100.")
        return value


def currency_field() -> forms.ChoiceField:
    return forms.ChoiceField(choices=CURRENCY_CHOICES, initial="EUR",
                             help_text="ISO 4217 code.")


class IncidentDeclareForm(ImpactFieldsMixin, forms.ModelForm):
    """Declare an incident. Never saved directly: the view passes cleaned_data to
    `incident_declare`, which numbers it, records history and the timeline."""

    severity = forms.ModelChoiceField(
        queryset=SeverityLevel.objects.active().order_by("rank"),
        # The declare page renders each option with the level's description and examples.
        widget=forms.RadioSelect(attrs={"class": "form-check-input mt-0 flex-shrink-0"}),
        empty_label=None,
        help_text="Pick the level whose description fits best; it can be changed at triage.",
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        required=False,
        help_text="Affected systems. Critical paths are marked.",
    )
    detected_at = BoundedDateTimeField(
        label="Detected at",
        required=False,
        widget=DateTimeLocalInput,
        help_text="When the problem was first noticed. Leave empty to use the time you declare.",
    )
    currency = currency_field()
    description = forms.CharField(
        required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"What is broken, for whom, and what has been tried so far "
                  f"(up to {TEXT_MAX:,} characters; details go in notes).",
    )

    restricted = forms.BooleanField(
        required=False, label="Restrict to its participants",
        help_text="Only its participants, the groups ticked below and holders of “view all "
                  "restricted incidents” will see it. Types restricted by default (e.g. "
                  "security) are restricted either way.")
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"), required=False,
        widget=forms.CheckboxSelectMultiple, label="Groups that may also see it if restricted")

    class Meta:
        model = Incident
        fields = ["title", "description", "severity", "services", "detected_at",
                  *IMPACT_FORM_FIELDS]
        help_texts = {
            "title": "One line: what users see (up to 200 characters).",
            "customers_affected_pct": "Share of all customers, 0–100.",
            "revenue_impact_per_hour": "Estimated revenue lost per hour, in the currency beside it.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        offer_incident_types(self.fields["incident_type"])
        self.initial.setdefault("incident_type", IncidentType.objects.filter(
            pk=IncidentType.default_pk()).first())
        self.fields["title"].validators.append(validate_single_line)

    def clean_detected_at(self):
        return _not_in_future(self.cleaned_data.get("detected_at"), "detection time")

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {
            "title": data["title"],
            "description": data["description"],
            "severity": data["severity"],
            "services": list(data["services"]),
            "detected_at": data["detected_at"],
            # Unticked: the incident type decides (security types start restricted).
            "restricted": True if data["restricted"] else None,
            "groups": list(data["groups"]),
        }
        kwargs.update({field: data[field] for field in IMPACT_FORM_FIELDS})
        return kwargs


class IncidentFilterForm(forms.Form):
    STATE_CHOICES = [("", "Any state"), ("open", "Open (not resolved)")] + list(
        Incident.State.choices
    )

    q = forms.CharField(label="Search", required=False,
                        widget=forms.TextInput(attrs={"placeholder": "Reference, title or text"}))
    state = forms.ChoiceField(choices=STATE_CHOICES, required=False)
    severity = forms.ChoiceField(required=False)
    service = forms.ChoiceField(required=False)
    mine = forms.BooleanField(label="Assigned to me", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].choices = [("", "Any severity")] + [
            (level.code, str(level)) for level in SeverityLevel.objects.order_by("rank")
        ]
        self.fields["service"].choices = [("", "Any service")] + [
            (service.slug, service.name) for service in Service.objects.order_by("name")
        ]

    def filters(self) -> dict:
        """Selector arguments; an invalid value is ignored rather than failing the page."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "search": (data.get("q") or "").strip(),
            "state": data.get("state") or "",
            "severity": data.get("severity") or "",
            "service": data.get("service") or "",
            "mine": bool(data.get("mine")),
        }


# --- Timeline ------------------------------------------------------------------------------


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}),
                           max_length=TEXT_MAX,
                           help_text=f"Up to {TEXT_MAX:,} characters.",
                           error_messages={"required": "A note needs some text."})
    occurred_at = BoundedDateTimeField(
        label="Happened at",
        required=False,
        widget=DateTimeLocalInput,
        help_text="Backdate the note to when it happened; empty means now.",
    )
    is_key_event = forms.BooleanField(label="Key event", required=False)

    def clean_occurred_at(self):
        return _not_in_future(self.cleaned_data.get("occurred_at"), "time of a note")


# --- Transitions ---------------------------------------------------------------------------
# One form per transition: it asks for what that transition needs and returns the service's
# keyword arguments. Each is rendered with its transition name as prefix.


class TransitionForm(forms.Form):
    submit_label = ""  # empty: the transition's own label
    button_class = "btn-primary"

    def __init__(self, *args, incident: Incident, user=None, **kwargs):
        self.incident = incident
        self.user = user  # who fills it in: a duplicate-of reference must be one they may see
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        return {}


class TriageForm(TransitionForm):
    severity = forms.ModelChoiceField(
        queryset=SeverityLevel.objects.active().order_by("rank"),
        empty_label=None,
        label="Confirmed severity",
    )
    incident_manager = PersonChoiceField(queryset=None, label="Incident manager")
    reason = forms.CharField(label="Reason", required=False,
                             help_text="Optional; recorded in the timeline, e.g. why the "
                                       "severity changed.")

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["incident_manager"].queryset = incident_workers()
        self.initial.setdefault("severity", incident.severity_id)
        self.initial.setdefault("incident_manager", incident.incident_manager_id)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"severity": data["severity"], "incident_manager": data["incident_manager"],
                "reason": data["reason"].strip()}


class MitigateForm(TransitionForm):
    workaround = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What customers or staff can do meanwhile.",
    )

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.initial.setdefault("workaround", incident.workaround)

    def service_kwargs(self) -> dict:
        return {"workaround": self.cleaned_data["workaround"]}


class ResolveForm(TransitionForm):
    button_class = "btn-success"
    summary = forms.CharField(
        label="Resolution summary",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What fixed it. Required to resolve.",
        error_messages={"required": "A resolution summary is required to resolve."},
    )

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.initial.setdefault("summary", incident.resolution_summary)

    def service_kwargs(self) -> dict:
        return {"summary": self.cleaned_data["summary"]}


class ReasonRequiredForm(TransitionForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": "Say why; it goes in the timeline."})

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"]}


class CancelForm(ReasonRequiredForm):
    submit_label = "Cancel the incident"
    button_class = "btn-outline-danger"


class CloseForm(TransitionForm):
    button_class = "btn-outline-secondary"


class DuplicateForm(TransitionForm):
    button_class = "btn-outline-secondary"
    duplicate_of = forms.CharField(label="Duplicate of", max_length=32,
                                   help_text="Reference of the incident this one repeats.")

    def clean_duplicate_of(self):
        reference = self.cleaned_data["duplicate_of"].strip().upper()
        if reference == self.incident.reference:
            raise forms.ValidationError("An incident cannot be a duplicate of itself.")
        try:
            return visible_incidents(self.user).get(reference=reference)
        except Incident.DoesNotExist:
            raise forms.ValidationError(f"No incident has the reference {reference}.") from None

    def service_kwargs(self) -> dict:
        return {"duplicate_of": self.cleaned_data["duplicate_of"]}


TRANSITION_FORMS: dict[str, type[TransitionForm]] = {
    "triage": TriageForm,
    "investigate": TransitionForm,
    "mitigate": MitigateForm,
    "resolve": ResolveForm,
    "reopen": ReasonRequiredForm,
    "close": CloseForm,
    "cancel": CancelForm,
    "mark_duplicate": DuplicateForm,
}


# --- Severity, roles, responders, impact ---------------------------------------------------


class VersionedForm(forms.Form):
    """Carries the incident version the user saw, so a stale edit is refused, not applied."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, incident: Incident, **kwargs):
        self.incident = incident
        super().__init__(*args, **kwargs)
        self.initial.setdefault("version", incident.version)


class SeverityChangeForm(VersionedForm):
    severity = forms.ModelChoiceField(queryset=SeverityLevel.objects.active().order_by("rank"),
                                      empty_label=None, label="New severity")
    reason = forms.CharField(help_text="Why the severity changes; shown in the timeline.",
                             error_messages={"required": "Say why the severity changes."})

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.initial.setdefault("severity", incident.severity_id)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("severity") and cleaned["severity"].pk == self.incident.severity_id:
            self.add_error("severity", f"The incident is already {self.incident.severity}.")
        return cleaned


class RoleAssignForm(VersionedForm):
    role = forms.ChoiceField(choices=list(ROLE_FIELDS.items()))
    user = PersonChoiceField(queryset=None, required=False, label="Person",
                             empty_label="— nobody (clear the role) —")
    reason = forms.CharField(required=False)

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.fields["user"].queryset = incident_workers()
        self.fields["role"].choices = role_choices()


class VisibilityForm(VersionedForm):
    restricted = forms.BooleanField(
        required=False, label="Restricted",
        help_text="Only its participants (reporter, role holders, responders, people paged or "
                  "escalated to), the groups ticked below and holders of “view all restricted "
                  "incidents” can see it.")
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"), required=False,
        widget=forms.CheckboxSelectMultiple, label="Groups that may also see it")
    reason = forms.CharField(help_text="Why; shown in the timeline and the history.",
                             error_messages={"required": "Say why the visibility changes."})

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, incident=incident, **kwargs)
        self.initial.setdefault("restricted", incident.is_restricted)
        self.initial.setdefault("groups", list(incident.visible_to_groups.all()))


class ImpactForm(ImpactFieldsMixin, forms.ModelForm):
    """Edit impact. Built on a blank instance so a refused edit leaves the incident untouched;
    the values go to `incident_update_impact(expected_version=...)`."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(required=False, help_text="Optional; shown in the timeline.")
    currency = currency_field()

    class Meta:
        model = Incident
        fields = ["services", *IMPACT_FIELDS]
        widgets = {"workaround": forms.Textarea(attrs={"rows": 2}),
                   "services": forms.CheckboxSelectMultiple}
        help_texts = {"services": "The affected systems; the public status page follows them."}

    def __init__(self, *args, incident: Incident, **kwargs):
        self.incident = incident
        initial = {field: getattr(incident, field) for field in IMPACT_FIELDS}
        initial["services"] = list(incident.services.all())
        initial["incident_type"] = incident.incident_type.code
        initial["version"] = incident.version
        initial.update(kwargs.pop("initial", None) or {})
        super().__init__(*args, initial=initial, **kwargs)
        offer_incident_types(self.fields["incident_type"], incident.incident_type)

    def changes(self) -> dict:
        return {field: self.cleaned_data[field] for field in ["services", *IMPACT_FIELDS]}
