"""Admin for the notification outbox, webhook endpoints and preferences, and the health warning.

Imported by escalation/admin.py. Outbox rows are written by the machinery only: the admin shows
them with their delivery attempts and offers "retry now"; it never edits them by hand."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from incidents.admin_history import (
    NoRevertHistoryAdmin,
    TabularInline,
    VisibleIncidentsAdminMixin,
)

from . import delivery
from .health import delivery_health
from .models import DeliveryAttempt, Notification, NotificationPreference, WebhookEndpoint
from .webhook_targets import UnsafeWebhookTarget, check_webhook_url, mask_url


def warn_when_delivery_unhealthy(request) -> None:
    """A warning on admin pages while the sweep is stale or deliveries are failing."""
    if not request.user.is_active or not request.user.is_staff:
        return
    report = delivery_health()
    if report.is_healthy:
        return
    try:
        link = reverse("notifications:health")
    except Exception:  # noqa: BLE001 - the page is optional; the warning is not
        link = ""
    text = " ".join(report.problems)
    if link:
        messages.warning(request, format_html('{} <a href="{}">Delivery health</a>', text, link))
    else:
        messages.warning(request, text)


def _wrap_admin_index(site: admin.AdminSite) -> None:
    # Wraps the index view rather than overriding templates/admin/index.html (which another area
    # owns): the warning appears as an ordinary admin message on the admin home page.
    if getattr(site.index, "_firebreak_health_warning", False):
        return
    original_index = site.index

    def index(request, extra_context=None):
        warn_when_delivery_unhealthy(request)
        return original_index(request, extra_context)

    index._firebreak_health_warning = True
    site.index = index


_wrap_admin_index(admin.site)


class DeliveryAttemptInline(TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["attempted_at", "succeeded", "status_code", "error"]
    readonly_fields = fields
    ordering = ["-attempted_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(VisibleIncidentsAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "channel", "destination", "title", "reason", "status",
                    "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status", "channel", "webhook", "created_at"]
    search_fields = ["title", "reason", "recipient__username", "recipient__email",
                     "to_address", "incident__reference", "=idempotency_id"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient", "webhook"]
    ordering = ["-created_at", "-pk"]
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now"]
    readonly_fields = ["idempotency_id", "dedup_key", "channel", "recipient", "webhook",
                       "to_address", "to_name",
                       "incident", "content_type", "object_id", "reason", "title", "body", "url",
                       "status", "attempts", "next_attempt_at", "last_error", "created_at",
                       "sent_at", "read_at"]
    fieldsets = [
        (None, {"fields": ["title", "body", "url", "reason", "incident"]}),
        ("Destination", {"fields": ["channel", "recipient", "webhook", "to_address",
                                    "to_name"]}),
        ("Delivery", {"fields": ["status", "attempts", "next_attempt_at", "sent_at", "read_at",
                                 "last_error"]}),
        ("Identity", {"classes": ["collapse"],
                      "fields": ["idempotency_id", "dedup_key", "content_type", "object_id",
                                 "created_at"]}),
    ]

    @admin.display(description="To")
    def destination(self, obj: Notification):
        return obj.recipient or obj.webhook or obj.to_address

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewing only; the "retry now" action below checks its own permission.
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm("escalation.change_notification")

    @admin.action(description="Retry now (undelivered only, fresh attempts)",
                  permissions=["retry"])
    def retry_now(self, request, queryset):
        count = delivery.notifications_retry_now(
            notification_ids=queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{count} notification(s) queued for delivery now.",
                          messages.SUCCESS if count else messages.WARNING)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            warn_when_delivery_unhealthy(request)
        return super().changelist_view(request, extra_context)


class WebhookEndpointForm(forms.ModelForm):
    """The URL (for Slack and Teams, the credential itself) and the signing secret are
    write-only: never rendered back into the page; empty on a change keeps the current value."""

    url = forms.URLField(
        max_length=500, assume_scheme="https", required=False,
        widget=forms.URLInput(attrs={"autocomplete": "off", "size": 60}),
        help_text="The incoming-webhook URL (http:// or https://), to a public address.")
    secret = forms.CharField(
        max_length=200, required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Signs generic JSON payloads (X-Webhook-Signature).")

    class Meta:
        model = WebhookEndpoint
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["url"] = self.initial["secret"] = ""
        if self.instance.pk and "url" in self.fields:  # absent on a past version's page
            self.fields["url"].help_text = (
                f"Now {mask_url(self.instance.url)} (hidden: it is a credential). Leave empty "
                "to keep it.")
            if self.instance.secret:
                self.fields["secret"].help_text = "A secret is set. Leave empty to keep it."

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url:
            if self.instance.pk:
                return self.instance.url
            raise forms.ValidationError("This field is required.", code="required")
        try:
            check_webhook_url(url)
        except UnsafeWebhookTarget as exc:
            raise forms.ValidationError(str(exc)) from None
        return url

    def clean_secret(self):
        return self.cleaned_data["secret"] or (self.instance.secret if self.instance.pk else "")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("format") == WebhookEndpoint.Format.JSON and not cleaned.get("secret"):
            self.add_error("secret", "Generic JSON webhooks need a secret so receivers can "
                                     "verify the X-Webhook-Signature header.")
        return cleaned

    def changed_credentials(self) -> list[str]:
        return [name for name in ("url", "secret") if self.data.get(name)]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(NoRevertHistoryAdmin):
    form = WebhookEndpointForm
    fields = ["name", "format", "url", "secret", "is_active", "min_severity_rank"]
    list_display = ["name", "format", "masked_url", "is_active", "min_severity_rank",
                    "deliveries"]
    list_filter = ["format", "is_active"]
    search_fields = ["name"]
    actions = ["send_test_message"]

    def get_fields(self, request, obj=None):
        if getattr(request, "_viewing_past_version", False):
            # History keeps neither (see the model); the current values are not shown either.
            return ["name", "format", "masked_url", "secret_status", "is_active",
                    "min_severity_rank"]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "masked_url", "secret_status"]

    def save_model(self, request, obj, form, change):
        changed = form.changed_credentials()
        if changed:
            obj._change_reason = "Changed " + " and ".join(
                f"the URL (now {mask_url(obj.url)})" if name == "url" else "the secret"
                for name in changed)
        super().save_model(request, obj, form, change)

    @admin.display(description="URL")
    def masked_url(self, obj: WebhookEndpoint):
        return mask_url(obj.url)

    @admin.display(description="Secret")
    def secret_status(self, obj: WebhookEndpoint):
        return "set" if obj.secret else "not set"

    @admin.action(description="Send a test message", permissions=["change"])
    def send_test_message(self, request, queryset):
        for endpoint in queryset:
            delivery.webhook_send_test(endpoint=endpoint, by=request.user)
        self.message_user(
            request, f"Test message queued for {queryset.count()} webhook(s); see Deliveries "
                     "for the outcome in a few seconds.", messages.SUCCESS)

    @admin.display(description="Deliveries")
    def deliveries(self, obj: WebhookEndpoint):
        url = reverse("admin:escalation_notification_changelist") + f"?webhook__id__exact={obj.pk}"
        return format_html('<a href="{}">Show</a>', url)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(NoRevertHistoryAdmin):
    list_display = ["user", "email", "weekly_summary", "monthly_summary"]
    list_filter = ["email", "weekly_summary", "monthly_summary"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
