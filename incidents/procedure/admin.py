"""The admin's view of procedures: the active one and how it got so (every applied file),
the shipped presets, a preview of what switching to one would change, and the switch itself
(with a reason, recorded in every changed row's history)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ..admin_history import BoundedDatesAdminMixin, ViewOnlyAdminMixin
from ..models import ProcedureRevision
from .files import ProcedureError
from .presets import preset_load, preset_named, presets


class SwitchProcedureForm(forms.Form):
    reason = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"size": 80}),
        help_text="Why the procedure changes; recorded in the history of every changed entry.",
    )


@admin.register(ProcedureRevision)
class ProcedureRevisionAdmin(ViewOnlyAdminMixin, BoundedDatesAdminMixin, admin.ModelAdmin):
    list_display = ("name", "preset", "applied_at", "applied_by", "reason")
    list_select_related = ("applied_by",)
    fields = ("name", "preset", "applied_at", "applied_by", "reason", "digest", "changes")
    change_list_template = "admin/incidents/procedurerevision/change_list.html"
    show_full_result_count = False

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preset_view)
        return [path("preset/<slug:slug>/", preview, name="incidents_procedure_preset"),
                *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "active_procedure": ProcedureRevision.active(),
            "presets": presets(),
            "may_switch": request.user.has_perm("incidents.switch_procedure"),
        }
        return super().changelist_view(request, extra_context)

    def preset_view(self, request, slug: str):
        if not request.user.has_perm("incidents.switch_procedure"):
            raise PermissionDenied
        try:
            preset = preset_named(slug)
        except LookupError:
            raise Http404("No such preset.") from None
        form = SwitchProcedureForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = preset_load(slug, by=request.user, reason=form.cleaned_data["reason"])
            except ProcedureError as exc:
                for error in exc.errors[:20]:
                    messages.error(request, error)
            else:
                messages.success(request, f"The active procedure is now “{preset.name}”: "
                                          f"{len(result.changed)} entries changed.")
                return HttpResponseRedirect(
                    reverse("admin:incidents_procedurerevision_changelist"))
        plan, errors = [], []
        try:
            plan = preset_load(slug, reason="Preview", dry_run=True).changed
        except ProcedureError as exc:
            errors = exc.errors
        context = {
            **self.admin_site.each_context(request),
            "title": f"Switch to “{preset.name}”",
            "opts": self.model._meta,
            "preset": preset,
            "plan": plan,
            "errors": errors,
            "form": form,
            "active_procedure": ProcedureRevision.active(),
        }
        return TemplateResponse(request, "admin/incidents/procedure_preset.html", context)
