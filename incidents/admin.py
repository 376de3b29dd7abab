"""Admin registrations. The war room's models register in incidents/warroom/admin.py."""

from .warroom import admin as warroom_admin  # noqa: F401
