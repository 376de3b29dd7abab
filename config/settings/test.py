"""Test settings. The database is PostgreSQL whenever one answers (always in CI, where a
missing server is an error) and SQLite otherwise, so the suite runs anywhere but exercises
PostgreSQL wherever it can."""

import os
import socket

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, env_bool

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
CI = env_bool("CI", False)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


if not os.environ.get("DATABASE_URL"):
    import dj_database_url

    if _port_open("127.0.0.1", 5432):
        DATABASES["default"] = dj_database_url.parse(POSTGRES_URL)
    elif CI:
        raise ImproperlyConfigured("CI=true but PostgreSQL does not answer on 127.0.0.1:5432.")
    else:
        DATABASES["default"] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "var" / "test.sqlite3",
            "OPTIONS": {"timeout": 20},
        }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
