"""The managers' admin for severities, services, incidents and their timeline.

Every incident write goes through `incidents.services`: the state is read-only and moves only by
transition buttons (each a POST to a small admin view that calls the service), severity and
roles change through their own audited forms, bulk actions call the service per incident, and
ordinary edits save through `incident_update_impact` with a required reason. History is a
record: viewing a past version is read-only and a revert POST is refused.

The war room's models register in incidents/warroom/admin.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import dateformat, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from . import selectors, services
from .admin_forms import (
    EDITABLE_FIELDS,
    IMPACT_LAYOUT,
    TRANSITION_FORMS,
    BulkCancelForm,
    ChangeReasonForm,
    IncidentAddForm,
    IncidentChangeForm,
    RoleAssignForm,
    SeverityChangeForm,
    SeverityLevelForm,
    TimelineEntryForm,
    VisibilityChangeForm,
    needs_input,
    person_name,
    posted_data,
    transition_custom,
    transition_label,
)
from .durations import format_duration
from .errors import ActionRefused
from .models import (
    Incident,
    IncidentRole,
    IncidentType,
    ReferenceCounter,
    RoleRequirement,
    Service,
    SeverityLevel,
    TimelineEntry,
)
from .admin_paging import EstimatedCountPaginator, IncidentManagerListFilter
from .admin_history import (
    NoRevertHistoryAdmin,
    TabularInline,
    ViewOnlyAdminMixin,
    VisibleIncidentsAdminMixin,
)
from .procedure import admin as procedure_admin  # noqa: F401
from .warroom import admin as warroom_admin  # noqa: F401

admin.site.site_header = "Firebreak administration"
admin.site.site_title = "Firebreak admin"


def full_datetime(value: datetime | None) -> str:
    if value is None:
        return "–"
    return dateformat.format(timezone.localtime(value), settings.DATETIME_FORMAT)


def duration_words(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _datetime_column(field: str, label: str):
    """A read-only column/field showing `field` with its full date and time."""

    @admin.display(description=label, ordering=field)
    def show(self, obj):
        return full_datetime(getattr(obj, field))

    show.__name__ = f"{field}_display"
    return show


def _duration_column(field: str, label: str):
    """A list column showing a duration as managers type it ("4h", "2d")."""

    @admin.display(description=label, ordering=field)
    def show(self, obj):
        return format_duration(getattr(obj, field)) or "–"

    show.__name__ = f"{field}_display"
    return show


# --- History: user and reason on every change; past versions are read-only -----------------


class ReadOnlyHistoryAdmin(NoRevertHistoryAdmin):
    """History shows who changed what and why (see NoRevertHistoryAdmin); a service refusing
    a save shows its reasons instead of an error page."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A service refusing inside save_model rolls the atomic admin view back; show why.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ActionRefused as exc:
            for reason in exc.reasons:
                self.message_user(request, reason, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_fieldsets(self, request, obj=None):
        return self.past_version_fieldsets(request, super().get_fieldsets(request, obj))

    def past_version_fieldsets(self, request, fieldsets):
        """A past version shows model fields only, not the form's reason and version."""
        if not getattr(request, "_viewing_past_version", False):
            return fieldsets
        return [
            (name, {**options, "fields": [
                f for f in options["fields"] if f not in ChangeReasonForm.NON_MODEL_FIELDS
            ]})
            for name, options in fieldsets
        ]


class ReasonedHistoryAdmin(ReadOnlyHistoryAdmin):
    """For configuration models saved directly (severities, services): history gets the
    acting user (SimpleHistoryAdmin) and the reason typed in the form."""

    form = ChangeReasonForm

    def save_model(self, request, obj, form, change):
        if change and not form.model_changes():
            return  # nothing changed: no history row without a reason
        obj._change_reason = form.cleaned_data.get("change_reason") or (
            "Changed in the admin" if change else "Created in the admin"
        )
        super().save_model(request, obj, form, change)


@admin.register(SeverityLevel)
class SeverityLevelAdmin(ReasonedHistoryAdmin):
    form = SeverityLevelForm
    list_display = ("code", "name", "rank", "response_target_display",
                    "resolution_target_display", "update_cadence_display", "clock",
                    "postmortem_required", "postmortem_due_within_display")
    list_display_links = ("code", "name")
    list_filter = ("clock", "postmortem_required")
    search_fields = ("code", "name", "description")
    ordering = ("rank",)
    fieldsets = [
        (None, {"fields": ["code", "name", "rank", "description", "examples"]}),
        ("SLA", {"fields": ["response_target", "resolution_target", "clock", "at_risk_percent"],
                 "description": "Leave a target empty for no SLA; a response target of 0 "
                                "(\u201cimmediate\u201d) pages at once and never breaches."}),
        ("Firefighting and status page", {"fields": ["firefighting", "public_status"]}),
        ("Updates and review", {"fields": ["update_cadence", "postmortem_required",
                                           "postmortem_due_within"]}),
        ("Reason", {"fields": ["change_reason"]}),
    ]

    @admin.display(description="Response target", ordering="response_target")
    def response_target_display(self, level):
        return level.response_target_text

    @admin.display(description="Resolution target", ordering="resolution_target")
    def resolution_target_display(self, level):
        return level.resolution_target_text

    update_cadence_display = _duration_column("update_cadence", "Update cadence")
    postmortem_due_within_display = _duration_column("postmortem_due_within",
                                                     "Post-mortem due within")


@admin.register(IncidentType)
class IncidentTypeAdmin(ReasonedHistoryAdmin):
    list_display = ("name", "code", "order", "is_default", "is_active", "restricted_by_default")
    list_display_links = ("name", "code")
    list_filter = ("is_active", "restricted_by_default")
    search_fields = ("name", "code", "description")
    prepopulated_fields = {"code": ("name",)}
    ordering = ("order", "name")


class RoleRequirementInline(TabularInline):
    """Which severity x type needs this role; narrow columns so it fits a 1366-px screen."""

    model = RoleRequirement
    fields = ("severity", "incident_type", "fill_from_service")
    extra = 0


@admin.register(IncidentRole)
class IncidentRoleAdmin(ReasonedHistoryAdmin):
    list_display = ("name", "code", "builtin", "group", "required_for")
    list_display_links = ("name", "code")
    search_fields = ("name", "code", "description")
    prepopulated_fields = {"code": ("name",)}
    inlines = [RoleRequirementInline]
    fields = ("name", "code", "description", "order", "group", "change_reason")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group").prefetch_related(
            "requirements__severity", "requirements__incident_type")

    def get_readonly_fields(self, request, obj=None):
        # Built-in roles are fields of the incident: their code is how the code finds them.
        return ("code",) if obj is not None and obj.is_builtin else ()

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None and obj.is_builtin else self.prepopulated_fields

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_builtin)

    @admin.display(boolean=True, description="Built in")
    def builtin(self, role):
        return role.is_builtin

    @admin.display(description="Required for")
    def required_for(self, role):
        return "; ".join(
            f"{r.severity.code if r.severity_id else 'any severity'} × "
            f"{r.incident_type if r.incident_type_id else 'any type'}"
            for r in role.requirements.all()) or "–"


@admin.register(RoleRequirement)
class RoleRequirementAdmin(ReasonedHistoryAdmin):
    """The same rows as the role's inline, listed by severity and type."""

    list_display = ("role", "severity", "incident_type", "fill_from_service")
    list_filter = ("severity", "incident_type", "role")
    list_select_related = ("role", "severity", "incident_type")


@admin.register(Service)
class ServiceAdmin(ReasonedHistoryAdmin):
    list_display = ("name", "slug", "owner", "technical_lead", "team", "is_critical_path",
                    "is_public")
    list_select_related = ("owner", "technical_lead", "team")
    list_filter = ("is_critical_path", "is_public", "team")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Shown for diagnosis only: references are handed out by incident_declare."""

    list_display = ("year", "last_number")


# --- Incident ---------------------------------------------------------------------------------

class NewestTimelineFormSet(BaseInlineFormSet):
    """Only the newest `shown` entries, in time order (an incident may have thousands: the
    page would take seconds to render); the template links to the full, filtered list."""

    shown = 50

    def get_queryset(self):
        if not hasattr(self, "_newest"):
            queryset = super().get_queryset()
            newest = queryset.order_by("-occurred_at", "-id").values("pk")[: self.shown]
            self._newest = queryset.filter(pk__in=newest).order_by("occurred_at", "id")
        return self._newest

    @cached_property
    def total(self) -> int:
        shown = len(self.get_queryset())
        if shown < self.shown or self.instance.pk is None:
            return shown
        return self.instance.timeline.count()

    @property
    def full_timeline_url(self) -> str:
        return (reverse("admin:incidents_timelineentry_changelist")
                + f"?incident__id__exact={self.instance.pk}")


class TimelineEntryInline(TabularInline):
    """The timeline as a record: entries change through the war room, never here. The newest
    entries only, with a link to all of them in the timeline's changelist."""

    model = TimelineEntry
    formset = NewestTimelineFormSet
    template = "admin/incidents/incident/timeline_inline.html"
    fields = ("occurred_at_display", "kind", "author", "text", "is_key_event")
    readonly_fields = fields
    ordering = ("occurred_at", "id")
    extra = 0
    can_delete = False
    show_change_link = True
    occurred_at_display = _datetime_column("occurred_at", "Occurred at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(VisibleIncidentsAdminMixin, ReadOnlyHistoryAdmin):
    incident_path = ""
    change_form_template = "admin/incidents/incident/change_form.html"
    action_form_template = "admin/incidents/incident/action_form.html"
    bulk_cancel_template = "admin/incidents/incident/cancel_selected.html"

    list_display = ("reference", "title", "severity_code", "state_display", "incident_manager",
                    "service_names", "declared_at_display", "age")
    list_display_links = ("reference", "title")
    list_select_related = ("severity", "incident_manager")
    list_filter = ("state", "severity", "is_restricted", "services", "incident_type",
                   "is_customer_facing", "is_security", "is_data_integrity", "is_compliance",
                   ("incident_manager", IncidentManagerListFilter),
                   ("declared_at", admin.DateFieldListFilter))
    search_fields = ("reference", "title", "description")
    search_help_text = "Search by reference, title or description."
    # No whole-table work per page: no full result count, a count capped or estimated, and
    # dates filtered by the list filter above instead of a date hierarchy (whose year links
    # are a SELECT DISTINCT DATE_TRUNC over every incident).
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts are whole-table counts per filter
    # Rendering the admin's cells is most of this page's time (about 1 ms per row at eight
    # columns): 50 a page, not Django's 100, keeps it within its time at any table size.
    list_per_page = 50
    actions = ["close_selected", "cancel_selected"]
    inlines = [TimelineEntryInline]
    history_list_display = ["state"]

    declared_at_display = _datetime_column("declared_at", "Declared")
    detected_at_display = _datetime_column("detected_at", "Detected")
    acknowledged_at_display = _datetime_column("acknowledged_at", "Acknowledged")
    mitigated_at_display = _datetime_column("mitigated_at", "Mitigated")
    resolved_at_display = _datetime_column("resolved_at", "Resolved")
    closed_at_display = _datetime_column("closed_at", "Closed")
    updated_at_display = _datetime_column("updated_at", "Last changed")

    add_fieldsets = (
        (None, {"fields": ("title", "description", "severity", "services", "detected_at")}),
        ("Impact", {"fields": (*IMPACT_LAYOUT, "workaround")}),
    )
    change_fieldsets = (
        (None, {"fields": ("title", "description", "workaround", "change_reason",
                           "expected_version")}),
        ("State and roles", {
            "description": "Changed only with the actions above, so each change is checked "
                           "and recorded.",
            "fields": ("reference", "state_display", "severity", "is_restricted", "reporter",
                       "incident_manager", "communications_lead", "scribe", "responder_names",
                       "duplicate_of_display"),
        }),
        ("Impact", {"fields": ("service_names", *IMPACT_LAYOUT)}),
        ("Times", {"fields": ("detected_at_display", "declared_at_display",
                              "acknowledged_at_display", "mitigated_at_display",
                              "resolved_at_display", "closed_at_display",
                              "updated_at_display")}),
        ("Resolution", {"fields": ("resolution_summary",)}),
    )

    # --- Columns ---

    @admin.display(description="Severity", ordering="severity__rank")
    def severity_code(self, obj):
        return obj.severity.code

    @admin.display(description="State", ordering="state")
    def state_display(self, obj):
        return obj.get_state_display()

    @admin.display(description="Services")
    def service_names(self, obj):
        return ", ".join(service.name for service in obj.services.all()) or "–"

    @admin.display(description="Responders")
    def responder_names(self, obj):
        return ", ".join(
            person_name(user) for user in obj.responders.all()
        ) or "–"

    @admin.display(description="Duplicate of")
    def duplicate_of_display(self, obj):
        original = obj.duplicate_of
        if original is None:
            return "–"
        if original.is_restricted and not getattr(obj, "viewer_may_see_original", False):
            return "a restricted incident"
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:incidents_incident_change", args=[original.pk]), original)

    @admin.display(description="Age / duration")
    def age(self, obj):
        end = obj.closed_at or obj.resolved_at
        if obj.is_open or end is None:
            return f"open {duration_words(timezone.now() - obj.declared_at)}"
        return duration_words(end - obj.declared_at)

    # --- Permissions and queries ---

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services")

    def get_object(self, request, object_id, from_field=None):
        incident = super().get_object(request, object_id, from_field)
        if incident is not None and incident.duplicate_of is not None:
            # Read-only fields get only the object: tell duplicate_of_display what it may name.
            incident.viewer_may_see_original = selectors.can_see(request.user,
                                                                 incident.duplicate_of)
        return incident

    def has_add_permission(self, request):
        return request.user.has_perm("incidents.declare_incident")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # a new incident has no timeline yet

    def has_delete_permission(self, request, obj=None):
        return False  # the history is the record; cancel or close instead

    def has_close_permission(self, request):
        return request.user.has_perm("incidents.close_incident")

    def has_cancel_permission(self, request):
        return request.user.has_perm("incidents.cancel_incident")

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = IncidentAddForm if obj is None else IncidentChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = self.add_fieldsets if obj is None else self.change_fieldsets
        return self.past_version_fieldsets(request, fieldsets)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            editable = {*EDITABLE_FIELDS, *ChangeReasonForm.NON_MODEL_FIELDS}
            readonly += [
                name for _, options in self.change_fieldsets for row in options["fields"]
                for name in (row if isinstance(row, tuple) else (row,))
                if name not in editable and name not in readonly
            ]
        return readonly

    # --- Saving through the services ---

    def save_model(self, request, obj, form, change):
        if not change:
            data = form.cleaned_data
            declared = services.incident_declare(
                by=request.user, title=data["title"], severity=data["severity"],
                description=data["description"], services=data["services"],
                detected_at=data["detected_at"],
                **{name: data[name] for name in services.IMPACT_FIELDS},
            )
            obj.pk, obj.reference = declared.pk, declared.reference
            obj._state.adding = False
            return
        changes = {name: form.cleaned_data[name] for name in form.model_changes()}
        if changes:
            services.incident_update_impact(
                obj, by=request.user, reason=form.cleaned_data["change_reason"],
                expected_version=form.cleaned_data["expected_version"], **changes,
            )

    def save_related(self, request, form, formsets, change):
        """Services are set by incident_declare, and the timeline inline is read-only: the
        formsets are only collected (commit=False) for the admin's change message."""
        for formset in formsets:
            formset.save(commit=False)

    # --- Explicit actions: transitions, severity, roles ---

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/transition/<str:name>/", view(self.transition_view),
                 name="incidents_incident_transition"),
            path("<path:object_id>/severity/", view(self.severity_view),
                 name="incidents_incident_severity"),
            path("<path:object_id>/roles/", view(self.roles_view),
                 name="incidents_incident_roles"),
            path("<path:object_id>/visibility/", view(self.visibility_view),
                 name="incidents_incident_visibility"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self.get_object(request, unquote(object_id))
        if incident is not None:
            extra_context = {**(extra_context or {}),
                             "incident_actions": self.incident_actions(request, incident)}
        return super().change_view(request, object_id, form_url, extra_context)

    def incident_actions(self, request, incident: Incident) -> dict:
        """The buttons this user may use now: transitions the state and the user's permissions
        allow, each with the guards that would still refuse it once its form is filled in."""
        user = request.user
        transitions = [
            {**choice,
             "url": reverse("admin:incidents_incident_transition",
                            args=[incident.pk, choice["name"]]),
             "needs_input": needs_input(choice["name"])}
            for choice in selectors.transition_choices(incident, user)
        ]
        return {
            "transitions": transitions,
            "severity_url": (reverse("admin:incidents_incident_severity", args=[incident.pk])
                             if incident.is_open
                             and user.has_perm("incidents.change_incident_severity") else None),
            "roles_url": (reverse("admin:incidents_incident_roles", args=[incident.pk])
                          if user.has_perm("incidents.assign_incident_roles") else None),
            "visibility_url": (reverse("admin:incidents_incident_visibility", args=[incident.pk])
                               if user.has_perm("incidents.change_incident_visibility")
                               else None),
        }

    def _incident_or_404(self, request, object_id) -> Incident:
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404("No such incident.")
        if not self.has_view_or_change_permission(request, incident):
            raise PermissionDenied
        return incident

    def _refused(self, request, exc: ActionRefused) -> None:
        for reason in exc.reasons:
            self.message_user(request, reason, messages.ERROR)

    def _change_url(self, incident) -> str:
        return reverse("admin:incidents_incident_change", args=[incident.pk])

    def _render_action_form(self, request, incident, form, title, submit_label):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "original": incident, "title": title, "form": form,
            "submit_label": submit_label, "change_url": self._change_url(incident),
        }
        return TemplateResponse(request, self.action_form_template, context)

    def transition_view(self, request, object_id, name):
        incident = self._incident_or_404(request, object_id)
        if name not in services.TRANSITION_SERVICES:
            raise Http404("No such action.")
        meta = getattr(incident, name)._django_fsm
        if not (meta.has_transition(incident.state)
                and meta.has_transition_perm(incident, incident.state, request.user)):
            self._refused(request, ActionRefused(
                services.transition_refusals(incident, name, request.user)))
            return HttpResponseRedirect(self._change_url(incident))
        form = TRANSITION_FORMS[name](posted_data(request), incident=incident,
                                       user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                incident = services.TRANSITION_SERVICES[name](
                    incident, by=request.user, **form.service_kwargs())
            except ActionRefused as exc:
                self._refused(request, exc)
                if not needs_input(name):
                    return HttpResponseRedirect(self._change_url(incident))
            else:
                verb = transition_custom(name)["verb"]
                self.message_user(request, f"{incident.reference} {verb}.", messages.SUCCESS)
                return HttpResponseRedirect(self._change_url(incident))
        label = transition_label(name)
        return self._render_action_form(request, incident, form, f"{label}: {incident}", label)

    def _versioned_action(self, request, object_id, form_class, permission, title, done):
        incident = self._incident_or_404(request, object_id)
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = form_class(posted_data(request), incident=incident)
        if request.method == "POST" and form.is_valid():
            try:
                incident = form.apply(by=request.user)
            except ActionRefused as exc:
                self._refused(request, exc)
            else:
                self.message_user(request, f"{incident.reference}: {done}.", messages.SUCCESS)
                return HttpResponseRedirect(self._change_url(incident))
        return self._render_action_form(request, incident, form, f"{title}: {incident}", title)

    def severity_view(self, request, object_id):
        return self._versioned_action(
            request, object_id, SeverityChangeForm, "incidents.change_incident_severity",
            "Change severity", "severity changed")

    def roles_view(self, request, object_id):
        return self._versioned_action(
            request, object_id, RoleAssignForm, "incidents.assign_incident_roles",
            "Assign a role", "role updated")

    def visibility_view(self, request, object_id):
        return self._versioned_action(
            request, object_id, VisibilityChangeForm, "incidents.change_incident_visibility",
            "Change who can see it", "visibility changed")

    # --- Bulk actions: the service per incident; one refusal does not undo the others ---

    def _apply_each(self, request, queryset, apply, verb: str) -> None:
        done, refused = [], []
        for incident in queryset.order_by("declared_at"):
            try:
                apply(incident)
            except ActionRefused as exc:
                refused.append((incident.reference, exc.reasons))
            else:
                done.append(incident.reference)
        if done:
            self.message_user(request, f"{verb} {len(done)} incident(s): {', '.join(done)}.",
                              messages.SUCCESS)
        for reference, reasons in refused:
            self.message_user(request, f"{reference} was not {verb.lower()}: {' '.join(reasons)}",
                              messages.ERROR)

    @admin.action(description="Close selected resolved incidents", permissions=["close"])
    def close_selected(self, request, queryset):
        self._apply_each(
            request, queryset,
            lambda incident: services.incident_close(
                incident, by=request.user, reason="Closed in bulk from the admin"),
            "Closed",
        )

    @admin.action(description="Cancel selected incidents (asks for a reason)",
                  permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        form = BulkCancelForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"].strip()
            self._apply_each(
                request, queryset,
                lambda incident: services.incident_cancel(incident, by=request.user,
                                                          reason=reason),
                "Cancelled",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "title": "Cancel incidents", "form": form,
            "incidents": queryset.select_related("severity"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "cancel_selected",
        }
        return TemplateResponse(request, self.bulk_cancel_template, context)


# --- Timeline ---------------------------------------------------------------------------------


@admin.register(TimelineEntry)
class TimelineEntryAdmin(VisibleIncidentsAdminMixin, ReadOnlyHistoryAdmin):
    """Entries are written by the services; here a manager corrects a note's time or text
    or flags key events, through timeline_entry_update."""

    form = TimelineEntryForm
    list_display = ("occurred_at_display", "incident", "kind", "author", "short_text",
                    "is_key_event")
    list_select_related = ("incident", "author")
    list_filter = ("kind", "is_key_event", ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("text", "incident__reference")
    # A million rows: see IncidentAdmin (no full count, estimated paging, no date hierarchy).
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts are whole-table counts per filter
    occurred_at_display = _datetime_column("occurred_at", "Occurred at")
    created_at_display = _datetime_column("created_at", "Recorded at")

    @admin.display(description="Text")
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    def get_fields(self, request, obj=None):
        return ["incident", "kind", "author", "created_at_display", "occurred_at", "text",
                "is_key_event", "data", "change_reason"]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["incident", "kind", "author", "created_at_display", "data"]
        if obj is not None and obj.kind != TimelineEntry.Kind.NOTE:
            readonly += ["occurred_at", "text"]  # automatic entries are a record
        return [*readonly, *(f for f in super().get_readonly_fields(request, obj)
                             if f not in readonly)]

    def has_add_permission(self, request):
        return False  # notes are added on the incident's page, through timeline_add_note

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.model_changes()}
        if changes:
            services.timeline_entry_update(obj, by=request.user,
                                           reason=form.cleaned_data["change_reason"], **changes)

    def save_related(self, request, form, formsets, change):
        """No related objects are edited here."""
