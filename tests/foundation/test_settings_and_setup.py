"""The deployment surface: production settings pass Django's deploy checks, CI refuses to run
without its services, migrations are complete and apply from zero on PostgreSQL, and the
set-up commands are wired as the README says."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command

from incidents.demo_history import HISTORY

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "kq3-8vX_2mR9tLw6ZpB4nHc7Yd1Fs5Gj0Ue2Ai8Ko3Mx6Qv9Wr4Tb7Ny1Cz5Ph",
    "DATABASE_URL": "postgres://firebreak@127.0.0.1:5432/firebreak",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "firebreak.example.org",
}


def run(args: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CI"}}
    return subprocess.run(args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
                          timeout=timeout)


def test_production_settings_pass_the_deploy_checks_without_a_warning():
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL",
                                     "ALLOWED_HOSTS"])
def test_production_settings_name_a_missing_variable(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run([sys.executable, "manage.py", "check"], env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable for production." in result.stderr


def _load_test_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); print('configured')"
    return run([sys.executable, "-c", code],
               {"DJANGO_SETTINGS_MODULE": "config.settings.test", **env}, timeout=60)


def test_ci_refuses_to_run_without_postgresql():
    result = _load_test_settings({
        "CI": "true", "TEST_POSTGRES_URL": "postgres://postgres@127.0.0.1:1/nowhere",
    })
    assert result.returncode != 0
    assert "CI=true but PostgreSQL does not answer on 127.0.0.1:1" in result.stderr


def test_ci_refuses_to_run_on_sqlite():
    result = _load_test_settings({"CI": "true", "DATABASE_URL": "sqlite:///ci.sqlite3"})
    assert result.returncode != 0
    assert "CI=true but the test database is not PostgreSQL" in result.stderr


def test_without_ci_the_suite_falls_back_to_sqlite_when_postgresql_is_absent():
    result = _load_test_settings({
        "TEST_POSTGRES_URL": "postgres://postgres@127.0.0.1:1/nowhere",
    })
    assert result.returncode == 0, result.stderr
    assert "configured" in result.stdout


@pytest.mark.django_db
def test_the_models_and_migrations_agree():
    # Exits with status 1 (SystemExit) when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_migrations_apply_from_zero_on_postgresql_and_the_demo_loads_twice(postgres, settings,
                                                                           tmp_path):
    db = settings.DATABASES["default"]
    name = f"{db['NAME']}_fromzero_{uuid.uuid4().hex[:8]}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{name}",
        "FIREBREAK_VAR_DIR": str(tmp_path),
        "DEBUG": "true",
    }
    with postgres._nodb_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        migrated = run([sys.executable, "manage.py", "migrate", "--noinput"], env, timeout=300)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        pending = run([sys.executable, "manage.py", "migrate", "--check"], env)
        assert pending.returncode == 0, pending.stdout + pending.stderr
        seeded = run([sys.executable, "manage.py", "seed_demo"], env, timeout=300)
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        # The second load and the count share one process: each start-up costs seconds.
        seed_again_and_count = (
            "from django.core.management import call_command; "
            "from incidents.models import Incident, SeverityLevel; "
            "from django.contrib.auth.models import User, Group; "
            "call_command('seed_demo', verbosity=0); "
            "print(SeverityLevel.objects.count(), Group.objects.count(), "
            "User.objects.count(), Incident.objects.count())"
        )
        shown = run([sys.executable, "manage.py", "shell", "-c", seed_again_and_count], env,
                    timeout=300)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        severities, groups, users, incidents = map(int, shown.stdout.split()[-4:])
        assert severities == 4
        assert groups >= 4
        assert users == 6
        assert incidents == 8 + len(HISTORY)  # today's demo and three months of history
    finally:
        with postgres._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_firebreak_script_is_valid_bash_and_lists_its_commands():
    assert subprocess.run(["bash", "-n", str(ROOT / "firebreak")]).returncode == 0
    shown = subprocess.run([str(ROOT / "firebreak"), "--help"], capture_output=True, text=True)
    assert shown.returncode == 0
    for command in ("start", "test", "deploy", "web", "worker", "beat"):
        assert f"./firebreak {command}" in shown.stdout
    unknown = subprocess.run([str(ROOT / "firebreak"), "explode"], capture_output=True, text=True)
    assert unknown.returncode == 2


def test_ci_runs_exactly_the_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for line in script.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[0] == "set -euo pipefail"
    assert commands[-1] == "./firebreak test"
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    assert os.access(ROOT / "firebreak", os.X_OK)
