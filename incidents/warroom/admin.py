"""Admin for the war room's configuration (checklist and message templates, cadences,
subscriptions) and its records (checklist items, sent updates), which are read-only here:
they change through the war room so the timeline records who did what."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html, format_html_join

from incidents.admin_history import (
    NoRevertHistoryAdmin,
    TabularInline,
    ViewOnlyAdminMixin,
    VisibleIncidentsAdminMixin,
)
from incidents.durations import format_duration, refuse_business_days_on_24x7
from incidents.errors import ActionRefused
from incidents.models import (
    Audience,
    AudienceSubscription,
    ChecklistPhase,
    ChecklistTemplate,
    ChecklistTemplateItem,
    ChecklistTemplatePhase,
    CommunicationCadence,
    Contact,
    IncidentChecklistItem,
    MessageTemplate,
    StatusUpdate,
)

from . import services
from .rendering import VARIABLES


class ReadOnlyAdmin(ViewOnlyAdminMixin, NoRevertHistoryAdmin):
    """Records the war room writes: checklist ticks and sent updates."""


# --- Checklists ---------------------------------------------------------------------------


class ChecklistTemplateItemInline(TabularInline):
    model = ChecklistTemplateItem
    extra = 0
    fields = ["order", "code", "text", "kind", "is_required", "blocks", "runbook"]
    prepopulated_fields = {"code": ["text"]}
    # Narrow widgets, so the row fits a 1366-px screen next to the admin's sidebar.
    formfield_overrides = {
        models.CharField: {"widget": forms.TextInput(attrs={"size": 28})},
        models.SlugField: {"widget": forms.TextInput(attrs={"size": 14})},
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 28})},
        models.PositiveSmallIntegerField: {"widget": forms.NumberInput(attrs={"class": "fb-narrow-number"})},
    }


@admin.register(ChecklistPhase)
class ChecklistPhaseAdmin(NoRevertHistoryAdmin):
    """A phase is defined once; any number of templates (severities) use it."""

    list_display = ["name", "slug", "window", "remind_when_window_ends", "used_by"]
    list_filter = ["remind_when_window_ends"]
    search_fields = ["name", "slug", "items__text"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "description", ("starts_after", "ends_after"),
              "remind_when_window_ends"]
    inlines = [ChecklistTemplateItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("templates")

    @admin.display(description="Window")
    def window(self, obj):
        return obj.window_label or "—"

    @admin.display(description="Used by templates")
    def used_by(self, obj):
        return ", ".join(t.name for t in obj.templates.all()) or "—"


class ChecklistTemplatePhaseInline(TabularInline):
    model = ChecklistTemplatePhase
    extra = 0
    fields = ["order", "phase"]
    autocomplete_fields = ["phase"]


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(NoRevertHistoryAdmin):
    list_display = ["name", "slug", "severity", "incident_type", "service", "is_active", "order"]
    list_filter = ["severity", "incident_type", "service", "is_active"]
    list_select_related = ["severity", "incident_type", "service"]
    search_fields = ["name", "slug", "phases__items__text"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", ("severity", "incident_type", "service"), "description",
              ("is_active", "order")]
    inlines = [ChecklistTemplatePhaseInline]


@admin.register(IncidentChecklistItem)
class IncidentChecklistItemAdmin(VisibleIncidentsAdminMixin, ReadOnlyAdmin):
    list_display = ["incident", "text", "phase_name", "is_required", "applies", "blocks",
                    "due_at", "done_at", "done_by"]
    list_filter = ["is_required", "applies", "blocks", "kind", ("done_at", admin.EmptyFieldListFilter)]
    list_select_related = ["incident", "done_by"]
    search_fields = ["incident__reference", "text"]
    date_hierarchy = "added_at"
    actions = ["tick_selected"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("incidents.change_incidentchecklistitem"):
            actions.pop("tick_selected", None)
        return actions

    @admin.action(description="Tick the selected items (recorded on each timeline)")
    def tick_selected(self, request, queryset):
        ticked = 0
        for item in queryset.select_related("incident"):
            try:
                services.checklist_item_set_done(item, by=request.user, done=True)
                ticked += 1
            except ActionRefused as exc:
                self.message_user(request, f"{item.text}: {' '.join(exc.reasons)}", messages.ERROR)
        self.message_user(request, f"{ticked} items ticked.", messages.SUCCESS)


# --- Communications -----------------------------------------------------------------------


class SlugFixedAfterCreationMixin:
    """Rows other tables refer to by slug: the slug is chosen once, then fixed."""

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "slug"] if obj is not None else readonly

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else super().get_prepopulated_fields(request, obj)


class SubscriptionInline(admin.TabularInline):
    """On an audience: who subscribes to it."""

    model = AudienceSubscription
    extra = 0
    fields = ["user", "group", "contact", "service", "min_severity"]
    autocomplete_fields = ["user", "group", "contact"]


class ContactSubscriptionInline(admin.TabularInline):
    """On a contact: the audiences they hear about."""

    model = AudienceSubscription
    extra = 0
    fields = ["audience", "service", "min_severity"]


@admin.register(Audience)
class AudienceAdmin(SlugFixedAfterCreationMixin, NoRevertHistoryAdmin):
    """Who updates are for; people, groups and contacts subscribe to an audience."""

    list_display = ["name", "slug", "includes_incident_team", "may_publish", "order", "is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "description", ("includes_incident_team", "may_publish"),
              ("order", "is_active")]
    inlines = [SubscriptionInline]


@admin.register(Contact)
class ContactAdmin(NoRevertHistoryAdmin):
    """People without a login: they get updates by e-mail and never a staff link."""

    list_display = ["name", "email", "organisation", "audiences", "is_active"]
    list_filter = ["is_active", "organisation"]
    search_fields = ["name", "email", "organisation"]
    fields = ["name", "email", "organisation", "note", "is_active"]
    inlines = [ContactSubscriptionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("subscriptions__audience")

    @admin.display(description="Audiences")
    def audiences(self, obj):
        return ", ".join(sorted({s.audience.name for s in obj.subscriptions.all()})) or "—"


@admin.register(MessageTemplate)
class MessageTemplateAdmin(NoRevertHistoryAdmin):
    list_display = ["name", "audience", "stage", "severity", "incident_type", "is_active"]
    list_filter = ["audience", "stage", "severity", "incident_type", "is_active"]
    list_select_related = ["severity", "audience", "incident_type"]
    search_fields = ["name", "subject", "body"]
    readonly_fields = ["variables"]
    fields = ["name", "audience", "stage", ("severity", "incident_type"), "subject", "body",
              "variables", "source", "is_active"]

    @admin.display(description="Variables you can use")
    def variables(self, obj=None):
        rows = format_html_join(
            "", "<li><code>{{{{ {} }}}}</code> — {}</li>", VARIABLES.items())
        return format_html("<ul>{}</ul><p>Django template syntax ({{% if %}}, filters) works; "
                           "a syntax error is shown here when you save.</p>", rows)


class CommunicationCadenceForm(forms.ModelForm):
    """Intervals read "1 business day" on a business-hours cadence; on a 24x7 one "business
    day" is refused rather than silently taken as 24 hours."""

    DURATIONS = ("interval", "first_update_within")

    class Meta:
        model = CommunicationCadence
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.DURATIONS:
            if name in self.fields:
                self.fields[name].business_days = self.instance.business_hours_only

    def clean(self):
        cleaned = super().clean()
        refuse_business_days_on_24x7(self, list(self.DURATIONS),
                                     business_clock=bool(cleaned.get("business_hours_only")))
        return cleaned


@admin.register(CommunicationCadence)
class CommunicationCadenceAdmin(SlugFixedAfterCreationMixin, NoRevertHistoryAdmin):
    form = CommunicationCadenceForm
    list_display = ["slug", "severity", "incident_type", "audience_names", "every",
                    "business_hours_only", "first_within", "only_if_customer_facing", "is_active"]
    list_filter = ["severity", "incident_type", "audiences", "business_hours_only", "is_active"]
    list_select_related = ["severity", "incident_type"]
    search_fields = ["slug", "note"]
    filter_horizontal = ["audiences"]
    fields = ["slug", ("severity", "incident_type"), "audiences",
              ("interval", "business_hours_only"),
              "first_update_within", ("only_if_customer_facing", "is_active"), "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("audiences")

    @admin.display(description="Audiences")
    def audience_names(self, obj):
        return ", ".join(a.name for a in obj.audiences.all())

    @admin.display(description="Interval", ordering="interval")
    def every(self, obj):
        return format_duration(obj.interval, business_days=obj.business_hours_only)

    @admin.display(description="First update within", ordering="first_update_within")
    def first_within(self, obj):
        return format_duration(obj.first_update_within,
                               business_days=obj.business_hours_only) or "—"


@admin.register(AudienceSubscription)
class AudienceSubscriptionAdmin(NoRevertHistoryAdmin):
    list_display = ["audience", "user", "group", "contact", "service", "min_severity"]
    list_filter = ["audience", "group", "service"]
    list_select_related = ["audience", "user", "group", "contact", "service", "min_severity"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "group__name",
                     "contact__name", "contact__email", "contact__organisation"]
    autocomplete_fields = ["user", "group", "contact"]


@admin.register(StatusUpdate)
class StatusUpdateAdmin(VisibleIncidentsAdminMixin, admin.ModelAdmin):
    """Sent updates are a record of what was said to whom."""

    list_display = ["incident", "audience", "stage", "subject", "sent_by", "sent_at", "is_public"]
    list_filter = ["audience", "stage", "is_public"]
    list_select_related = ["incident", "sent_by"]
    search_fields = ["incident__reference", "subject", "body"]
    date_hierarchy = "sent_at"
    fields = ["incident", "audience", "stage", "template", "subject", "body", "sent_by",
              "sent_at", "is_public", "recipient_list", "contact_list"]
    readonly_fields = fields

    @admin.display(description="Recipients")
    def recipient_list(self, obj):
        return ", ".join(u.get_full_name() or u.get_username() for u in obj.recipients.all()) or "—"

    @admin.display(description="Contacts (e-mail)")
    def contact_list(self, obj):
        return ", ".join(str(c) for c in obj.contacts.all()) or "—"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
