"""Request hardening that applies to every page, the admin included."""

from __future__ import annotations

from django.http import Http404


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
