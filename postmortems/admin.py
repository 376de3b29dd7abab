"""Admin for reviews and action items. States move only through the services (pages or the
actions here), so the FSM fields are read-only and history cannot be reverted."""

from __future__ import annotations

from django.contrib import admin, messages

from incidents.admin_history import NoRevertHistoryAdmin, TabularInline, VisibleIncidentsAdminMixin
from incidents.errors import ActionRefused

from . import services
from .models import (
    ActionItem,
    FollowUpTask,
    PostMortem,
    PostMortemTimelineItem,
    ReviewAgendaItem,
    ReviewReminder,
)


class TimelineItemInline(TabularInline):
    model = PostMortemTimelineItem
    fields = ("occurred_at", "text", "included", "source_entry")
    readonly_fields = ("source_entry",)
    extra = 0


class ActionItemInline(TabularInline):
    model = ActionItem
    fields = ("title", "owner", "due_date", "priority", "kind", "state")
    readonly_fields = ("state",)
    autocomplete_fields = ("owner",)
    extra = 0
    show_change_link = True


@admin.register(PostMortem)
class PostMortemAdmin(VisibleIncidentsAdminMixin, NoRevertHistoryAdmin):
    list_display = ("incident", "title", "state", "is_required", "owner", "due_at", "waived",
                    "published_at")
    list_filter = ("state", "is_required", "waived", "incident__severity")
    search_fields = ("incident__reference", "title", "summary", "root_cause")
    list_select_related = ("incident", "owner")
    date_hierarchy = "created_at"
    readonly_fields = ("incident", "state", "is_required", "created_at", "updated_at",
                       "submitted_at", "published_at", "published_by", "waived", "waived_reason",
                       "waived_by", "waived_at")
    autocomplete_fields = ("owner", "attendees")
    filter_horizontal = ("services_affected",)
    inlines = [TimelineItemInline, ActionItemInline]
    actions = ["publish_selected"]

    def has_add_permission(self, request):
        return False  # reviews are scheduled from their incident (page or resolve)

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user
        obj._change_reason = "Edited in the admin"
        super().save_model(request, obj, form, change)
        if "due_at" in form.changed_data:
            services.postmortem_schedule_timers(obj)

    @admin.action(description="Publish the selected reviews (those in review)",
                  permissions=["review"])
    def publish_selected(self, request, queryset):
        done = 0
        for postmortem in queryset:
            try:
                services.postmortem_transition(postmortem, "publish", by=request.user)
                done += 1
            except ActionRefused as exc:
                self.message_user(request, f"{postmortem}: {' '.join(exc.reasons)}",
                                  messages.WARNING)
        if done:
            self.message_user(request, f"Published {done} review(s).", messages.SUCCESS)

    def has_review_permission(self, request):
        return request.user.has_perm("postmortems.review_postmortem")


@admin.register(ActionItem)
class ActionItemAdmin(VisibleIncidentsAdminMixin, NoRevertHistoryAdmin):
    incident_path = "postmortem__incident"
    list_display = ("title", "postmortem", "owner", "due_date", "priority", "kind", "state")
    list_filter = ("state", "kind", "priority", "due_date")
    search_fields = ("title", "description", "postmortem__incident__reference",
                     "owner__username", "owner__last_name")
    list_select_related = ("postmortem__incident", "owner")
    readonly_fields = ("postmortem", "state", "wont_do_reason", "created_by", "created_at",
                       "updated_at", "completed_at")
    autocomplete_fields = ("owner",)
    actions = ["mark_done"]

    def has_add_permission(self, request):
        return False  # action items are created on their review's page

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user
        obj._change_reason = "Edited in the admin"
        super().save_model(request, obj, form, change)
        if {"due_date", "owner"} & set(form.changed_data):
            services.action_item_schedule_timers(obj)

    @admin.action(description="Mark the selected action items done",
                  permissions=["change"])
    def mark_done(self, request, queryset):
        done = 0
        for item in queryset:
            try:
                services.action_item_transition(item, "complete", by=request.user)
                done += 1
            except ActionRefused as exc:
                self.message_user(request, f"{item}: {' '.join(exc.reasons)}", messages.WARNING)
        if done:
            self.message_user(request, f"Marked {done} action item(s) done.", messages.SUCCESS)


@admin.register(PostMortemTimelineItem)
class PostMortemTimelineItemAdmin(VisibleIncidentsAdminMixin, NoRevertHistoryAdmin):
    incident_path = "postmortem__incident"
    list_display = ("postmortem", "occurred_at", "text", "included")
    list_filter = ("included",)
    list_select_related = ("postmortem__incident",)
    search_fields = ("text", "postmortem__incident__reference")
    readonly_fields = ("postmortem", "source_entry")


# --- The review procedure (data managers edit) ----------------------------------------------


@admin.register(ReviewAgendaItem)
class ReviewAgendaItemAdmin(NoRevertHistoryAdmin):
    """The post-mortem meeting's agenda (seed 004: 20 / 30 / 20 / 20 minutes)."""

    list_display = ("label", "minutes", "order", "is_active", "slug")
    list_editable = ("minutes", "order", "is_active")
    prepopulated_fields = {"slug": ("label",)}
    search_fields = ("label", "slug")

    def get_readonly_fields(self, request, obj=None):
        # Reviews store the slugs they ticked: renaming one would untick them.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "slug"] if obj is not None else readonly

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else self.prepopulated_fields


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(ReviewAgendaItemAdmin):
    """The follow-up tasks every review considers (seed 001), each a kind of action item."""

    list_display = ("label", "kind", "order", "is_active", "slug")
    list_editable = ("kind", "order", "is_active")
    list_filter = ("kind", "is_active")


@admin.register(ReviewReminder)
class ReviewReminderAdmin(NoRevertHistoryAdmin):
    """When reviews and action items remind and escalate, and whom."""

    list_display = ("slug", "subject", "offset", "direction", "window_share", "recipients",
                    "is_active")
    list_filter = ("subject", "direction", "is_active")
    fields = ("slug", "subject", ("offset", "direction"), "window_share", "recipients",
              "is_active")
    search_fields = ("slug",)
