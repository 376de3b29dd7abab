"""The admin base for every model with history: past versions can be viewed, never restored.

A revert would write an old state past the services (and, for FSM models, past the state
machine, the timers and the timeline), so the revert POST is refused, not just hidden.

Every admin form (inlines too: use `TabularInline` from here) bounds its dates to the range in
`incidents.validation`, so a typo like year 0001 is a form error, not a row that breaks lists."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from .people import display_name
from .templatetags.firebreak import datetime_full
from .validation import bound_field_dates


class ReadableHistoryHelper(HistoricalRecordContextHelper):
    """History diffs as the portal shows values: local date and time with the zone, people by
    name, and a dash for an empty field (not "Deleted user (pk=None)")."""

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        if value is None or value == "" or (isinstance(value, DeletedObject) and value.pk is None):
            return "—"
        if isinstance(value, datetime):
            return datetime_full(value)
        if isinstance(value, get_user_model()):
            return display_name(value)
        if isinstance(value, list):
            return [display_name(item) if isinstance(item, get_user_model()) else item
                    for item in value]
        return value


class BoundedDatesAdminMixin:
    """Date and date-time fields refuse values outside the portal's sane range."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return bound_field_dates(super().formfield_for_dbfield(db_field, request, **kwargs))


class TabularInline(BoundedDatesAdminMixin, admin.TabularInline):
    """The inline base for every area (bounded dates like the admin pages around it)."""


class NoRevertHistoryAdmin(BoundedDatesAdminMixin, SimpleHistoryAdmin):
    # Links typed without a scheme are taken as https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    history_refused_message = (
        "History is a read-only record: a past version cannot be restored. "
        "Make the change again through the normal form or actions."
    )

    def revert_disabled(self, request, obj=None):
        return True

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryHelper(self.model, historical_record)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            self.message_user(request, self.history_refused_message, messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(reverse(
                f"admin:{opts.app_label}_{opts.model_name}_history", args=[unquote(object_id)]
            ))
        request._viewing_past_version = True
        return super().history_form_view(request, object_id, version_id, extra_context)

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        # simple-history's past-version view reads the `prepopulated_fields` attribute directly,
        # and prepopulating a field that is read-only there fails (KeyError 'slug'): keep them
        # for the add and change pages, which ask get_prepopulated_fields.
        self._prepopulate, self.prepopulated_fields = self.prepopulated_fields, {}

    def get_prepopulated_fields(self, request, obj=None):
        return dict(self._prepopulate)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if getattr(request, "_viewing_past_version", False):
            opts = self.model._meta
            readonly += [
                f.name for f in [*opts.fields, *opts.many_to_many]
                if f.editable and not f.primary_key and f.name not in readonly
            ]
        return readonly


class ViewOnlyAdminMixin:
    """For records only the services and the sweep write: listed and filterable, never added,
    edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VisibleIncidentsAdminMixin:
    """For admins of incidents (`incident_path = ""`) or of rows about one (e.g. "incident",
    "postmortem__incident"): the changelist, search, filters, autocomplete, change page, actions
    and history show only what the user may see (incidents.selectors.visible_incidents). The
    history views are checked too: simple-history otherwise falls back to the history rows."""

    incident_path = "incident"

    def get_queryset(self, request):
        from .selectors import restrict_to_visible, visible_incidents

        queryset = super().get_queryset(request)
        if not self.incident_path:
            return visible_incidents(request.user, queryset)
        return restrict_to_visible(queryset, request.user, via=self.incident_path)

    def _require_visible(self, request, object_id) -> None:
        from django.http import Http404

        try:
            visible = self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        except (ValueError, TypeError):  # a malformed id is as unknown as a hidden one
            visible = False
        if not visible:
            raise Http404("No such object.")

    def history_view(self, request, object_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


def view_on_site(request, content_type_id, object_id):
    """The admin's "view on site" redirect (admin/r/<type>/<id>/), which Django answers for any
    object without asking the model's admin; a row the user's admin hides is not found."""
    from django.contrib import admin
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.contenttypes.views import shortcut
    from django.http import Http404

    try:
        model = ContentType.objects.get_for_id(int(content_type_id)).model_class()
    except (ValueError, ContentType.DoesNotExist):
        raise Http404("No such object.") from None
    model_admin = admin.site._registry.get(model)
    if isinstance(model_admin, VisibleIncidentsAdminMixin):
        model_admin._require_visible(request, object_id)
    return shortcut(request, content_type_id, object_id)
