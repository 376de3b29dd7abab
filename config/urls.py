from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from incidents.admin_history import view_on_site

urlpatterns = [
    # Before the admin's own: its "view on site" redirect must honour incident visibility.
    path("admin/r/<path:content_type_id>/<path:object_id>/",
         admin.site.admin_view(view_on_site)),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Every user changes their own password; a forgotten one is reset by e-mail.
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(),
         name="password_change_done"),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(),
         name="password_reset"),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/",
         auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("escalation/", include("escalation.urls")),
    path("notifications/", include("escalation.notification_urls")),
    path("reviews/", include("postmortems.urls")),
    path("reports/", include("incidents.reports.urls")),
    path("status/", include("incidents.statuspage.urls")),
    path("war-room/", include("incidents.warroom.urls")),
    # Alert intake: /intake/<id>/, PagerDuty's /v2/enqueue, and the staff alerts page.
    path("", include("incidents.intake.urls")),
    path("", include("incidents.urls")),
]
