"""Admin for SLA calendars, escalation levels, policies and impact rules, and on-call rotas
(managers configure them here), with read-only lists of SLA clocks and escalation events.
Notification delivery has its own admin module, imported below."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Prefetch, Q
from django.utils import timezone

from incidents.admin import ReadOnlyHistoryAdmin
from incidents.admin_history import ViewOnlyAdminMixin, VisibleIncidentsAdminMixin
from incidents.durations import format_duration

from . import admin_notifications  # noqa: F401
from .models import (
    BusinessCalendar,
    EscalationEvent,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    Holiday,
    ImpactRule,
    LevelResponseTime,
    Rota,
    RotaMember,
    RotaOverride,
    SlaClock,
)
from .selectors import on_call_shift


class HolidayInline(admin.TabularInline):
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


class LevelResponseTimeInline(admin.TabularInline):
    model = LevelResponseTime
    extra = 1


@admin.register(EscalationLevel)
class EscalationLevelAdmin(ReadOnlyHistoryAdmin):
    list_display = ["number", "name", "rota"]
    list_select_related = ["rota"]
    filter_horizontal = ["users", "groups"]
    inlines = [LevelResponseTimeInline]


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 1
    fields = ["order", "anchor", "delay", "clock", "level", "action"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(ReadOnlyHistoryAdmin):
    list_display = ["name", "severity", "is_active"]
    list_select_related = ["severity"]
    inlines = [EscalationStepInline]


@admin.register(ImpactRule)
class ImpactRuleAdmin(ReadOnlyHistoryAdmin):
    list_display = ["name", "condition", "delay", "level", "is_active"]
    list_editable = ["is_active"]
    list_select_related = ["level"]


class RotaMemberInline(admin.TabularInline):
    model = RotaMember
    extra = 1
    autocomplete_fields = ["user"]


class UpcomingOverrideInline(admin.TabularInline):
    """Only cover that has not ended yet; past overrides stay in the override list."""

    model = RotaOverride
    extra = 1
    autocomplete_fields = ["user"]
    fields = ["user", "starts_at", "ends_at", "reason"]
    verbose_name_plural = "current and coming cover (overrides)"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(ends_at__gt=timezone.now())


@admin.register(Rota)
class RotaAdmin(ReadOnlyHistoryAdmin):
    list_display = ["name", "on_call_now", "handoff_time", "shift", "time_zone"]
    inlines = [RotaMemberInline, UpcomingOverrideInline]

    @admin.display(description="Shift length", ordering="shift_length")
    def shift(self, rota):
        return format_duration(rota.shift_length)

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
    list_filter = ["level", "source", "reason_category",
                   ("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["incident", "level", "by", "acknowledged_by"]
    search_fields = ["incident__reference", "note"]
    date_hierarchy = "at"
