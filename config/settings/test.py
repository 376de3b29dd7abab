"""Test settings. The database is PostgreSQL whenever one answers (always in CI, where a
missing server is an error) and SQLite otherwise, so the suite runs anywhere but exercises
PostgreSQL wherever it can. In CI (CI=true) Redis must answer too: the integration tests run
real workers over it, and a missing service fails the run here, before any test, in words.

TEST_POSTGRES_URL picks the server and database name; Django creates and drops
`test_<name>` on it, so concurrent runs with different names do not collide."""

import atexit
import os
import shutil
import socket
import tempfile
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, POSTGRESQL_ENGINE, STORAGES, database_from_url, env_bool

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
CI = env_bool("CI", False)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


if not os.environ.get("DATABASE_URL"):
    _postgres = urlsplit(POSTGRES_URL)
    _postgres_at = (_postgres.hostname or "127.0.0.1", _postgres.port or 5432)
    if _port_open(*_postgres_at):
        DATABASES["default"] = database_from_url(POSTGRES_URL)
        # Named once here, as Django would name it: a process that sets the test database up
        # and then forks for more runs (mutmut's fork server) would otherwise name it from the
        # already switched name, `test_test_<name>`, and migrate a second database.
        DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}"}
    elif CI:
        raise ImproperlyConfigured(
            "CI=true but PostgreSQL does not answer on {}:{}.".format(*_postgres_at)
        )
    else:
        DATABASES["default"] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "var" / "test.sqlite3",
            "OPTIONS": {"timeout": 20},
        }

if CI:
    if DATABASES["default"]["ENGINE"] != POSTGRESQL_ENGINE:
        raise ImproperlyConfigured(
            "CI=true but the test database is not PostgreSQL; unset DATABASE_URL or point it at "
            "PostgreSQL."
        )
    if not _port_open("127.0.0.1", 6379):
        raise ImproperlyConfigured("CI=true but Redis does not answer on 127.0.0.1:6379.")

# The suite's webhook receivers listen on the loopback address (tests of the refusal override it).
WEBHOOK_ALLOWED_INTERNAL_HOSTS = ["127.0.0.1"]
# Tests travel in time (time-machine) far beyond an idle timeout, and pin each page's queries:
# sessions neither expire nor are re-saved on every request here; tests of the idle timeout
# switch the production behaviour back on (tests/security/test_login.py).
SESSION_COOKIE_AGE = 60 * 60 * 24 * 365 * 20
SESSION_SAVE_EVERY_REQUEST = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = False


def _test_exports_dir() -> str:
    folder = tempfile.mkdtemp(prefix="firebreak-test-exports-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Each test process writes background exports to a folder of its own, removed at exit.
    "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": _test_exports_dir()}},
}
# Tests run with DEBUG off and without collectstatic: let whitenoise look files up as they are
# requested (from the finders) instead of indexing a STATIC_ROOT that does not exist.
WHITENOISE_AUTOREFRESH = True
