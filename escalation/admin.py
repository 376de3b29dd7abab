"""Admin for SLA calendars, escalation levels, policies and impact rules, and on-call rotas
(managers configure them here), with read-only lists of SLA clocks and escalation events.
Notification delivery has its own admin module, imported below."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from incidents.admin import ReadOnlyHistoryAdmin
from incidents.admin_history import TabularInline, ViewOnlyAdminMixin, VisibleIncidentsAdminMixin
from incidents.durations import format_duration

from . import admin_notifications  # noqa: F401
from .models import (
    BusinessCalendar,
    EscalationEvent,
    EscalationLadder,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    Holiday,
    ImpactCondition,
    ImpactRule,
    LevelResponseTime,
    Rota,
    RotaMember,
    RotaOverride,
    SlaClock,
)
from .selectors import on_call_shift


class HolidayInline(TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ReadOnlyHistoryAdmin):
    list_display = ["name", "time_zone", "day_start", "day_end", "holiday_country", "is_default"]
    inlines = [HolidayInline]
    fieldsets = [
        (None, {"fields": ["name", "is_default", "time_zone"]}),
        ("Working days and hours", {"fields": [*BusinessCalendar.WEEKDAY_FIELDS, "day_start",
                                               "day_end"]}),
        ("Holidays", {"fields": ["holiday_country", "holiday_subdivision"],
                      "description": "Public holidays of a country, besides the dates below."}),
    ]


class CompactInlines:
    """Narrower inline columns, so ladders, policies and rules fit a 1366-px screen."""

    class Media:
        css = {"all": ["escalation/admin-inlines.css"]}


class EscalationLevelInline(TabularInline):
    """The ladder's rungs, compact enough for a 1366-px screen: people and groups by
    autocomplete; response times per severity and the description on the level's own page."""

    model = EscalationLevel
    extra = 1
    fields = ["number", "name", "users", "groups", "rota"]
    autocomplete_fields = ["users", "groups"]
    show_change_link = True


@admin.register(EscalationLadder)
class EscalationLadderAdmin(CompactInlines, ReadOnlyHistoryAdmin):
    list_display = ["name", "slug", "is_default", "level_count"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [EscalationLevelInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(level_total=Count("levels"))

    @admin.display(description="Levels", ordering="level_total")
    def level_count(self, ladder):
        return ladder.level_total


class LevelResponseTimeInline(TabularInline):
    model = LevelResponseTime
    extra = 1


@admin.register(EscalationLevel)
class EscalationLevelAdmin(CompactInlines, ReadOnlyHistoryAdmin):
    list_display = ["__str__", "ladder", "rota"]
    list_filter = ["ladder"]
    list_select_related = ["ladder", "rota"]
    search_fields = ["name", "ladder__name"]
    autocomplete_fields = ["users", "groups"]
    inlines = [LevelResponseTimeInline]


class LevelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, level):
        return f"L{level.number} {level.name} ({level.ladder.name})"


class LadderLevelsMixin:
    """Level choices name their ladder, so a step or rule cannot silently point at the wrong
    ladder's L2."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "level":
            kwargs["queryset"] = EscalationLevel.objects.select_related("ladder")
            kwargs["form_class"] = LevelChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class EscalationStepInline(LadderLevelsMixin, TabularInline):
    model = EscalationStep
    extra = 1
    fields = ["order", "anchor", "delay", "clock", "level", "action"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(CompactInlines, ReadOnlyHistoryAdmin):
    list_display = ["name", "severity", "type_or_any", "ladder", "is_active"]
    list_filter = ["severity", "incident_type", "ladder", "is_active"]
    list_select_related = ["severity", "incident_type", "ladder"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "severity", "incident_type", "ladder", "is_active"]
    inlines = [EscalationStepInline]

    @admin.display(description="Type", ordering="incident_type__order")
    def type_or_any(self, policy):
        return policy.incident_type or "Any type"


class ImpactConditionInline(TabularInline):
    model = ImpactCondition
    extra = 1
    fields = ["attribute", "at_least", "value"]


@admin.register(ImpactRule)
class ImpactRuleAdmin(CompactInlines, LadderLevelsMixin, ReadOnlyHistoryAdmin):
    list_display = ["name", "incident_type", "conditions_text", "after", "level", "is_active"]
    list_editable = ["is_active"]
    list_filter = ["incident_type", "is_active"]
    list_select_related = ["level", "level__ladder", "incident_type"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "incident_type", "match", "delay", "level", "is_active"]
    inlines = [ImpactConditionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("conditions")

    @admin.display(description="After", ordering="delay")
    def after(self, rule):
        return format_duration(rule.delay) if rule.delay else "At once"

    @admin.display(description="When")
    def conditions_text(self, rule):
        joiner = " and " if rule.match == ImpactRule.Match.ALL else " or "
        return joiner.join(str(c) for c in rule.conditions.all()) or "Every incident"


class RotaMemberInline(TabularInline):
    model = RotaMember
    extra = 1
    autocomplete_fields = ["user"]


class UpcomingOverrideInline(TabularInline):
    """Only cover that has not ended yet; past overrides stay in the override list."""

    model = RotaOverride
    extra = 1
    autocomplete_fields = ["user"]
    fields = ["user", "starts_at", "ends_at", "reason"]
    verbose_name_plural = "current and coming cover (overrides)"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(ends_at__gt=timezone.now())


@admin.register(Rota)
class RotaAdmin(CompactInlines, ReadOnlyHistoryAdmin):
    list_display = ["name", "on_call_now", "handoff_time", "shift", "time_zone",
                    "asks_to_triage"]
    list_filter = ["asks_to_triage"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["duty_permissions"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description"]}),
        ("Shifts", {"fields": ["time_zone", "handoff_time", "shift_length", "rotation_start"]}),
        ("On duty", {"fields": ["asks_to_triage", "duty_permissions"],
                     "description": "A duty rota (e.g. the daily log checker): whoever is on it "
                                    "is asked to triage new incidents and may do the chosen "
                                    "actions during the shift only."}),
    ]
    inlines = [RotaMemberInline, UpcomingOverrideInline]

    @admin.display(description="Shift length", ordering="shift_length")
    def shift(self, rota):
        return format_duration(rota.shift_length)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "duty_permissions":
            # Incident work only: a duty must not hand out user or configuration rights.
            kwargs["queryset"] = Permission.objects.filter(
                content_type__app_label="incidents", content_type__model="incident"
            ).select_related("content_type")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_queryset(self, request):
        now = timezone.now()
        return super().get_queryset(request).prefetch_related(
            Prefetch("members", queryset=RotaMember.objects.select_related("user")
                     .order_by("order", "id")),
            Prefetch("overrides", queryset=RotaOverride.objects.filter(ends_at__gt=now)
                     .select_related("user")),
        )

    @admin.display(description="On call now")
    def on_call_now(self, rota):
        user = on_call_shift(rota).user
        return (user.get_full_name() or user.get_username()) if user else "—"


@admin.register(RotaOverride)
class RotaOverrideAdmin(ReadOnlyHistoryAdmin):
    list_display = ["rota", "user", "starts_at", "ends_at", "reason"]
    list_filter = ["rota"]
    list_select_related = ["rota", "user"]
    autocomplete_fields = ["user"]
    date_hierarchy = "starts_at"


class ReadOnlyRecordAdmin(ViewOnlyAdminMixin, ReadOnlyHistoryAdmin):
    """Written only by the services and the sweep: visible, filterable, never edited here."""


class SlaStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("running", "Running"), ("breached", "Breached"), ("met", "Met"),
                ("stopped", "Stopped")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "running":
            return queryset.filter(met_at__isnull=True, stopped_at__isnull=True)
        if value == "breached":
            return queryset.filter(Q(breached_at__isnull=False))
        if value == "met":
            return queryset.filter(met_at__isnull=False)
        if value == "stopped":
            return queryset.filter(stopped_at__isnull=False)
        return queryset


@admin.register(SlaClock)
class SlaClockAdmin(VisibleIncidentsAdminMixin, ReadOnlyRecordAdmin):
    list_display = ["incident", "kind", "clock", "due_at", "met_at", "breached_at", "breach_by"]
    list_filter = [SlaStatusFilter, "kind", "clock", "incident__severity"]
    list_select_related = ["incident"]
    search_fields = ["incident__reference", "incident__title"]
    date_hierarchy = "due_at"


@admin.register(EscalationEvent)
class EscalationEventAdmin(VisibleIncidentsAdminMixin, ReadOnlyRecordAdmin):
    list_display = ["incident", "level", "source", "reason_category", "at", "by",
                    "acknowledged_at", "acknowledged_by"]
    list_filter = ["level__ladder", "source", "reason_category",
                   ("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["incident", "level", "level__ladder", "by", "acknowledged_by"]
    search_fields = ["incident__reference", "note"]
    date_hierarchy = "at"
