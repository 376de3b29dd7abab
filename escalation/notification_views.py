"""Pages for notifications: the in-app inbox, personal preferences and the delivery health page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import local_mail, notifications
from .health import STALE_AFTER, delivery_health
from .models import Notification, NotificationPreference

INBOX_PAGE_SIZE = 25


class NotificationPreferenceForm(forms.ModelForm):
    class Meta:
        model = NotificationPreference
        fields = ["email", "weekly_summary", "monthly_summary"]
        labels = {
            "email": "Email me notifications",
            "weekly_summary": "Weekly management summary by email",
            "monthly_summary": "Monthly management summary by email",
        }


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@login_required
def inbox(request):
    page = Paginator(notifications.inbox_notifications(request.user), INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "escalation/notifications/inbox.html", {
        "page": page,
        "unread_count": notifications.inbox_unread_count(request.user),
    })


@login_required
def mail(request):
    """The local portal's sent e-mails: yours, or everyone's for a superuser."""
    if not local_mail.enabled():
        raise Http404("E-mails are only kept for reading in the local portal.")
    address = None if request.user.is_superuser else (request.user.email or "-")
    return render(request, "escalation/notifications/mail.html", {
        "mails": local_mail.local_mails(for_address=address),
        "everyone": address is None,
    })


@login_required
def open_notification(request, pk: int):
    """Follow a notification's link, marking it read on the way."""
    notification = get_object_or_404(
        notifications.inbox_notifications(request.user), pk=pk)
    if not notification.viewer_may_see:  # its link would name a restricted incident
        notifications.inbox_mark_read(user=request.user, notification_ids=[notification.pk])
        return redirect("notifications:inbox")
    notifications.inbox_mark_read(user=request.user, notification_ids=[notification.pk])
    allowed_hosts = {request.get_host(), settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]}
    if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts):
        return redirect(notification.url)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_read(request, pk: int):
    notifications.inbox_mark_read(user=request.user, notification_ids=[pk])
    return redirect(_safe_next(request) or "notifications:inbox")


@login_required
@require_POST
def mark_all_read(request):
    count = notifications.inbox_mark_all_read(user=request.user)
    if count:
        messages.success(request, f"Marked {count} notification(s) as read.")
    return redirect(_safe_next(request) or "notifications:inbox")


@login_required
def preferences(request):
    preference = notifications.notification_preference_for(request.user)
    form = NotificationPreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        notifications.notification_preference_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Your notification preferences are saved.")
        return redirect("notifications:preferences")
    return render(request, "escalation/notifications/preferences.html", {
        "form": form,
        "has_email": bool(request.user.email),
    })


@login_required
@permission_required("incidents.view_incident", raise_exception=True)
def health(request):
    """When the deadline sweep last ran and how deliveries are doing; JSON with ?format=json.
    Staff only: a signed-in account without a group has no business here."""
    output = request.GET.get("format", "html")
    if output not in {"html", "json"}:
        return JsonResponse({"error": "format must be 'html' or 'json'."}, status=400)
    report = delivery_health()
    if output == "json":
        return JsonResponse(report.as_json())
    return render(request, "escalation/notifications/health.html", {
        "report": report,
        "stale_after_seconds": int(STALE_AFTER.total_seconds()),
        "admin_url": _admin_changelist_url(request.user),
    })


def _admin_changelist_url(user) -> str | None:
    if not user.is_staff or not user.has_perm("escalation.view_notification"):
        return None
    try:
        return reverse("admin:escalation_notification_changelist")
    except NoReverseMatch:
        return None
