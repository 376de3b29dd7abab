"""Request hardening that applies to every page, the admin included: paths that name nothing,
and the security headers of every response."""

from __future__ import annotations

import secrets

from django.http import Http404
from django.utils.cache import add_never_cache_headers

# Scripts and styles come from the portal's own static files; the few inline scripts carry the
# request's nonce (templates: {{ csp_nonce }}). No inline event handlers, style attributes or
# eval anywhere (htmx is configured accordingly in base.html).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Nothing in the portal uses these browser features.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer",
    "microphone", "payment", "usb", "interest-cohort",
))


class RejectControlCharactersInPathMiddleware:
    """A path with a NUL or another control character names nothing here: 404.

    Without this, `/incidents/INC-1%00/` reaches a lookup by reference, which PostgreSQL
    refuses with an error (a string literal cannot contain NUL), i.e. a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any(ord(char) < 32 or ord(char) == 127 for char in request.path):
            raise Http404("No such page.")
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Content-Security-Policy with a per-request nonce, Permissions-Policy, and no caching of
    anything shown to a signed-in user (a shared or back-buttoned browser must not show an
    incident after logout)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        response.headers.setdefault(
            "Content-Security-Policy", CONTENT_SECURITY_POLICY.format(nonce=request.csp_nonce))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


def csp_nonce(request) -> dict:
    """Template context: the nonce inline <script> tags carry."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
