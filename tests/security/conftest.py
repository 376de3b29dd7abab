"""Fixtures for the security tests: logged-in clients per role."""

from __future__ import annotations

import pytest
from django.test import Client

from incidents import guards


@pytest.fixture
def core_guards_only():
    with guards.only_own_guards():
        yield


@pytest.fixture
def client_for():
    """client_for(user) -> a test client logged in as `user`."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
