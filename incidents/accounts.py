"""Signing in: the person's address for the login lockout (django-axes), and the account pages
every user has (password change; reset by e-mail) wired in config/urls.py."""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str:
    """The address a login attempt came from. Behind LOGIN_TRUSTED_PROXY_COUNT proxies, the
    entry that many places from the right of X-Forwarded-For (the ones left of it could be
    typed by the client, so they are never trusted)."""
    proxies = settings.LOGIN_TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in
                     request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
