"""The local portal of `./firebreak start`: no debug pages, a quiet terminal that ends with the
logins and the address, and e-mails kept in files and readable in the portal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail as django_mail
from django.core.mail import EmailMessage, get_connection
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def local_settings(**env) -> dict:
    """Settings values as the local portal's processes see them (a fresh interpreter)."""
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            "print(json.dumps({'DEBUG': s.DEBUG, 'EMAIL_BACKEND': s.EMAIL_BACKEND, "
            "'ROOT': s.LOGGING['root']['level'], "
            "'SERVER': s.LOGGING.get('loggers', {}).get('django.server', {}).get('level')}))")
    environment = {key: value for key, value in os.environ.items()
                   if key not in {"DEBUG", "LOG_LEVEL", "EMAIL_BACKEND", "FIREBREAK_LOCAL"}}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings.base", **env)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment,
                         capture_output=True, text=True, check=True)
    import json

    return json.loads(out.stdout)


def test_start_turns_debug_off_and_local_mode_on():
    script = (ROOT / "firebreak").read_text()
    start = script[script.index("cmd_start() {"):script.index("# --- test")]
    assert 'export DEBUG="${DEBUG:-false}" FIREBREAK_LOCAL=true' in start
    # --quiet is Celery's own option (before the command): the worker refuses it as its own.
    assert re.search(r"celery -A config --quiet worker -B --loglevel \"\$\{LOG_LEVEL:-WARNING\}\"",
                     start)
    # The logins and the address are printed after everything else has started.
    assert start.index('"$logins"') > start.index("wait_for_http")
    assert start.index("Firebreak is running at") > start.index('"$logins"')


def test_the_local_portal_keeps_mail_in_files_and_the_terminal_quiet():
    values = local_settings(DEBUG="false", FIREBREAK_LOCAL="true")
    assert values == {"DEBUG": False, "EMAIL_BACKEND":
                      "django.core.mail.backends.filebased.EmailBackend",
                      "ROOT": "WARNING", "SERVER": "WARNING"}


def test_outside_local_mode_nothing_changes():
    values = local_settings(DEBUG="true")
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert values["ROOT"] == "INFO" and values["SERVER"] is None


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def local_mail(settings, tmp_path):
    settings.FIREBREAK_LOCAL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path

    def send(subject: str, to: str, body: str = "Body text") -> None:
        connection = get_connection(settings.EMAIL_BACKEND, file_path=str(tmp_path))
        EmailMessage(subject, body, "firebreak@localhost", [to],
                     connection=connection).send()

    return send


@pytest.mark.django_db
def test_people_read_their_own_local_mails_in_the_portal(local_mail, responder, make_user):
    local_mail("INC-2026-0001 needs you", responder.email, "Please join the war room.")
    local_mail("Someone else's mail", "other@example.com")
    html = client_for(responder).get("/notifications/mail/").content.decode()
    assert "INC-2026-0001 needs you" in html and "Please join the war room." in html
    assert "Someone else&#x27;s mail" not in html and "Someone else's mail" not in html
    admin = make_user(username="root", is_superuser=True, is_staff=True)
    everyone = client_for(admin).get("/notifications/mail/").content.decode()
    assert "Someone else&#x27;s mail" in everyone


@pytest.mark.django_db
def test_the_mail_page_does_not_exist_outside_the_local_portal(responder, settings):
    settings.FIREBREAK_LOCAL = False
    assert client_for(responder).get("/notifications/mail/").status_code == 404
    assert django_mail.outbox == []


@pytest.mark.django_db
def test_demo_data_loads_in_the_local_portal_with_debug_off(settings):
    from django.core.management import call_command

    settings.DEBUG, settings.FIREBREAK_LOCAL = False, True
    call_command("seed_demo", verbosity=0)
    settings.FIREBREAK_LOCAL = False
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="real deployment"):
        call_command("seed_demo", verbosity=0)
