"""Managers configure integrations and triage rules here; alerts are a read-only record.

An integration's secret is shown once, in the message after it is created or rotated: only
its hash is stored."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from incidents.admin_history import NoRevertHistoryAdmin, ViewOnlyAdminMixin

from . import preview, services
from .models import Alert, Integration, RuleCondition, TriageRule


def endpoint_url(request, integration: Integration) -> str:
    if integration.kind == Integration.Kind.PAGERDUTY:
        return request.build_absolute_uri(reverse("intake:pagerduty_enqueue"))
    return request.build_absolute_uri(reverse("intake:receive",
                                              kwargs={"public_id": integration.public_id}))


@admin.register(Integration)
class IntegrationAdmin(NoRevertHistoryAdmin):
    list_display = ["name", "kind", "is_enabled", "default_severity", "secret_display",
                    "secret_rotated_at"]
    list_filter = ["kind", "is_enabled"]
    list_select_related = ["default_severity"]
    search_fields = ["name"]
    filter_horizontal = ["default_services"]
    readonly_fields = ["endpoint", "secret_display", "secret_rotated_at", "created_at"]
    fields = ["name", "kind", "is_enabled", "endpoint", "secret_display", "secret_rotated_at",
              "default_severity", "default_type", "default_services", "when_all_resolved",
              "group_by", "group_window", "flap_window", "rate_limit_per_minute",
              "field_mapping", "created_at"]
    actions = ["rotate_secret"]

    @admin.display(description="Secret")
    def secret_display(self, obj):
        return f"{obj.secret_hint}… (shown once when created or rotated)" if obj.pk else "–"

    @admin.display(description="Endpoint")
    def endpoint(self, obj):
        if not obj.pk:
            return "Shown after saving."
        return format_html("<code>{}</code>", endpoint_url(self._request, obj))

    def get_form(self, request, obj=None, **kwargs):
        self._request = request
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        secret = None if change else services.integration_prepare(obj)
        super().save_model(request, obj, form, change)
        if secret:
            self._show_secret(request, obj, secret, "created")

    def _show_secret(self, request, obj, secret: str, what: str) -> None:
        messages.warning(request, format_html(
            "Integration “{}” {}. Its secret is <code>{}</code> — copy it now, it is not shown "
            "again. Send it as <code>Authorization: Bearer …</code> to <code>{}</code>{}.",
            obj.name, what, secret, endpoint_url(request, obj),
            " as the routing_key" if obj.kind == Integration.Kind.PAGERDUTY
            else f", or post to {endpoint_url(request, obj)}{secret}/",
        ))

    @admin.action(description="Rotate the secret (the old one stops working at once)",
                  permissions=["change"])
    def rotate_secret(self, request, queryset):
        for integration in queryset:
            secret = services.integration_rotate_secret(integration, by=request.user)
            self._show_secret(request, integration, secret, "has a new secret")


@admin.register(Alert)
class AlertAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "integration", "state", "count", "last_seen_at", "incident",
                    "rule", "is_suppressed"]
    list_filter = ["state", "is_suppressed", "integration"]
    list_select_related = ["integration", "incident", "rule"]
    search_fields = ["title", "identity"]
    show_full_result_count = False  # no count(*) over every alert on each page
    raw_id_fields = ["incident", "group", "rule"]


class RuleConditionInline(admin.TabularInline):
    model = RuleCondition
    extra = 1
    fields = ["field", "operator", "value"]


@admin.register(TriageRule)
class TriageRuleAdmin(NoRevertHistoryAdmin):
    list_display = ["order", "name", "is_active", "integration", "set_severity", "suppress",
                    "continue_after_match"]
    list_display_links = ["name"]
    list_editable = ["order", "is_active"]
    list_filter = ["is_active", "integration", "suppress"]
    list_select_related = ["integration", "set_severity"]
    filter_horizontal = ["set_services", "page_roles", "restrict_to_groups"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RuleConditionInline]
    change_list_template = "admin/intake/triagerule/change_list.html"
    fieldsets = [
        (None, {"fields": ["order", "name", "slug", "is_active", "integration",
                           "continue_after_match"]}),
        ("Actions", {"fields": ["suppress", "set_severity", "set_type", "set_services",
                                "title_template", "page_rota", "page_group", "page_roles",
                                "restrict", "restrict_to_groups"]}),
    ]

    def get_urls(self):
        return [path("preview/", self.admin_site.admin_view(self.preview_view),
                     name="intake_triagerule_preview"), *super().get_urls()]

    def preview_view(self, request):
        """Paste a sample payload, optionally draft conditions, and see what the rules do,
        before saving anything."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = preview.PreviewForm(request.POST or None)
        results = form.results() if request.method == "POST" and form.is_valid() else None
        return TemplateResponse(request, "admin/intake/triagerule/preview.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Test triage rules against a sample payload", "form": form,
            "results": results,
        })
