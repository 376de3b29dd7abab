"""Admin for reviews and action items. States move only through the services (pages or the
actions here), so the FSM fields are read-only and history cannot be reverted."""

from __future__ import annotations

from django.contrib import admin, messages

from incidents.admin import ReadOnlyHistoryAdmin
from incidents.admin_history import (
    NoRevertHistoryAdmin,
    TabularInline,
    VisibleIncidentsAdminMixin,
)
from incidents.errors import ActionRefused

from . import services
from .models import (
    ActionItem,
    FollowUpTask,
    ReportSection,
    PostMortem,
    PostMortemTimelineItem,
    ReviewAgendaItem,
    ReviewReminder,
)


class TimelineItemInline(TabularInline):
    """Shown for reference; the review's timeline is edited on its page (the rules apply)."""

    model = PostMortemTimelineItem
    fields = ("occurred_at", "text", "included", "source_entry")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class ActionItemInline(TabularInline):
    """Shown for reference; each item changes on its own admin page, through the services."""

    model = ActionItem
    fields = ("title", "owner", "due_date", "priority", "kind", "state")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


# Which section (services.SECTION_FIELDS) each editable review field belongs to.
SECTION_OF = {field: section for section, fields in services.SECTION_FIELDS.items()
              for field in fields}


@admin.register(PostMortem)
class PostMortemAdmin(VisibleIncidentsAdminMixin, ReadOnlyHistoryAdmin):
    """Edits go through postmortem_update, section by section, so the admin follows the same
    rules as the review page: a review in review or published cannot change (only its owner and
    due time, for reviewers), and every change is versioned and recorded."""

    list_display = ("incident", "title", "state", "is_required", "owner", "due_at", "waived",
                    "published_at")
    list_filter = ("state", "is_required", "waived", "incident__severity")
    search_fields = ("incident__reference", "title", "summary", "root_cause")
    list_select_related = ("incident", "owner")
    date_hierarchy = "created_at"
    autocomplete_fields = ("owner", "attendees")
    filter_horizontal = ("services_affected",)
    inlines = [TimelineItemInline, ActionItemInline]
    actions = ["publish_selected"]

    def has_add_permission(self, request):
        return False  # reviews are scheduled from their incident (page or resolve)

    def get_readonly_fields(self, request, obj=None):
        editable = {name for name, section in SECTION_OF.items()
                    if obj is None or obj.is_editable and not obj.waived or section == "planning"}
        readonly = [field.name for field in [*self.model._meta.fields, *self.model._meta.many_to_many]
                    if field.name not in editable]
        return [*readonly, *(name for name in super().get_readonly_fields(request, obj)
                             if name not in readonly)]

    def save_model(self, request, obj, form, change):
        stored = PostMortem.objects.get(pk=obj.pk)  # `obj` already carries the form's values
        changes: dict[str, dict] = {}
        for name in form.changed_data:
            if name in SECTION_OF and not self._same(stored, name, form.cleaned_data[name]):
                changes.setdefault(SECTION_OF[name], {})[name] = form.cleaned_data[name]
        for section in sorted(changes, key=lambda s: s != "planning"):
            services.postmortem_update(obj, by=request.user, section=section, **changes[section])

    @staticmethod
    def _same(stored: PostMortem, name: str, value) -> bool:
        """Whether `value` is what the review holds (the form reports widgets' round trips,
        e.g. an empty JSON list, as changes)."""
        if name in services.M2M_FIELDS:
            return {item.pk for item in value} == set(
                getattr(stored, name).values_list("pk", flat=True))
        return getattr(stored, name) == value

    def save_related(self, request, form, formsets, change):
        """Many-to-many fields were saved by postmortem_update; the inlines are read-only, so
        their formsets are only collected (commit=False) for the admin's change message."""
        for formset in formsets:
            formset.save(commit=False)

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
class ActionItemAdmin(VisibleIncidentsAdminMixin, ReadOnlyHistoryAdmin):
    """Edits go through action_item_update: a done or declined item is a record (reopen it
    first), and a new owner or due date moves its reminders."""

    incident_path = "postmortem__incident"
    list_display = ("title", "postmortem", "owner", "due_date", "priority", "kind", "state")
    list_filter = ("state", "kind", "priority", "due_date")
    search_fields = ("title", "description", "postmortem__incident__reference",
                     "owner__username", "owner__last_name")
    list_select_related = ("postmortem__incident", "owner")
    autocomplete_fields = ("owner",)
    actions = ["mark_done"]

    def has_add_permission(self, request):
        return False  # action items are created on their review's page

    def get_readonly_fields(self, request, obj=None):
        editable = set(services.ACTION_ITEM_FIELDS) if obj is None or obj.is_unfinished else set()
        readonly = [field.name for field in self.model._meta.fields if field.name not in editable]
        return [*readonly, *(name for name in super().get_readonly_fields(request, obj)
                             if name not in readonly)]

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data
                   if name in services.ACTION_ITEM_FIELDS}
        if changes:
            services.action_item_update(obj, by=request.user, **changes)

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
class PostMortemTimelineItemAdmin(VisibleIncidentsAdminMixin, ReadOnlyHistoryAdmin):
    """A line changes through postmortem_timeline_edit, so only a review being drafted changes."""

    incident_path = "postmortem__incident"
    list_display = ("postmortem", "occurred_at", "text", "included")
    list_filter = ("included",)
    list_select_related = ("postmortem__incident",)
    search_fields = ("text", "postmortem__incident__reference")
    readonly_fields = ("postmortem", "source_entry")

    def has_add_permission(self, request):
        return False  # lines are added on the review's timeline page

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.postmortem.is_editable:
            readonly += [name for name in ("occurred_at", "text", "included")
                         if name not in readonly]
        return readonly

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data
                   if name in ("occurred_at", "text", "included")}
        if changes:
            services.postmortem_timeline_edit(obj.postmortem, by=request.user,
                                              updates={obj.pk: changes})

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


@admin.register(ReportSection)
class ReportSectionAdmin(NoRevertHistoryAdmin):
    """The published review's report layout: title and headings in the document's order."""

    list_display = ("heading", "part", "order", "is_active")
    list_editable = ("order", "is_active")
    list_filter = ("is_active",)
    fields = ("part", "heading", "order", "is_active")


@admin.register(ReviewReminder)
class ReviewReminderAdmin(NoRevertHistoryAdmin):
    """When reviews and action items remind and escalate, and whom."""

    list_display = ("slug", "subject", "offset", "direction", "window_share", "recipients",
                    "is_active")
    list_filter = ("subject", "direction", "is_active")
    fields = ("slug", "subject", ("offset", "direction"), "window_share", "recipients",
              "is_active")
    search_fields = ("slug",)
