"""`FIREBREAK_PROCEDURE=NAME ./firebreak start`, run for real: a portal of its own on that preset
(its own database file), serving pages and ending its output with the logins and the address; a
restart on the same preset keeps what is there instead of loading the preset again.

The script is run with the virtualenv running these tests (FIREBREAK_VENV) and every file it
writes under a temporary FIREBREAK_VAR_DIR, so a developer's own portal and data stay untouched.
"""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRESET = "issue-response"
START_TIMEOUT = 300  # migrations from zero on SQLite and the demo data, on a busy CI machine


def installed_for_this_checkout() -> bool:
    """`./firebreak start` reinstalls when pyproject.toml changed since the venv's install."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = Path(sys.prefix, ".firebreak-installed")
    return stamp.exists() and stamp.read_text().split()[0] == digest


@pytest.fixture
def start_environment(tmp_path):
    if not installed_for_this_checkout():
        message = ("the test virtualenv was not installed by `./firebreak test` for this "
                   "pyproject.toml; `./firebreak start` would reinstall it")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {key: value for key, value in os.environ.items()
                   if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL",
                                  "DEBUG", "FIREBREAK_LOCAL", "SITE_URL"}}
    environment.update(FIREBREAK_PROCEDURE=PRESET, FIREBREAK_VENV=sys.prefix,
                       FIREBREAK_VAR_DIR=str(tmp_path), FIREBREAK_PORT=str(port),
                       FIREBREAK_WORKERS="1")
    return environment


def interruptible() -> None:
    """In the script's process, before bash starts: Ctrl-C back to its default. The suite may
    itself run with SIGINT ignored (a non-interactive shell starts a background job so, as a CI
    runner may start `.ci/run`: `bash -c 'sleep 5 & grep SigIgn /proc/$!/status'` shows it),
    children inherit that, and bash can neither trap nor reset a signal ignored when it started
    (seen in CI: 60 s after Ctrl-C the script was still looping, its trap never run)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class StartedPortal:
    """`./firebreak start` in the background, its output read line by line as it comes."""

    def __init__(self, environment: dict):
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            ["bash", str(ROOT / "firebreak"), "start"], cwd=ROOT, env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            preexec_fn=interruptible)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not any(text in line for line in self.lines):
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"no {text!r} within {START_TIMEOUT} s:\n" + "\n".join(self.lines))
            if line is None:
                pytest.fail(f"./firebreak start ended before {text!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)

    def output(self) -> str:
        """Everything printed so far."""
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return "\n".join(self.lines)
            if line is not None:
                self.lines.append(line)

    def stop(self) -> int:
        """Ctrl-C, as a user stops it: the script stops the web server and the worker."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                # What was still running, for the failure message: the script's own
                # processes are its session's (start_new_session).
                still = subprocess.run(["ps", "-s", str(self.process.pid), "-o",
                                        "pid,pgid,stat,etime,wchan:20,args"],
                                       capture_output=True, text=True).stdout
                # The web server and the worker lead process groups of their own.
                subprocess.run(["pkill", "-KILL", "-s", str(self.process.pid)])
                self.process.wait()
                self._reader.join(10)  # everything it printed before it was killed
                self._queue.put(f"[test] still running 60 s after Ctrl-C; killed:\n{still}")
        return self.process.returncode


def sweep_has_run(database: Path) -> bool:
    """The embedded beat sent the deadline sweep and the worker ran it (its heartbeat row)."""
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM escalation_heartbeat "
                                  "WHERE name = 'deadlines_sweep'").fetchone()[0] > 0


def wait_until(condition, what: str, portal: StartedPortal) -> None:
    """Checks `condition` until the deadline, between checks waiting on the portal itself: a
    portal that stops fails at once instead of after the deadline."""
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {START_TIMEOUT} s:\n{portal.output()}")
        try:
            portal.process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the portal stopped before {what}:\n{portal.output()}")


def manage(environment: dict, *args: str) -> str:
    """A management command against the preset portal's own database."""
    env = dict(environment, DJANGO_SETTINGS_MODULE="config.settings.base",
               DATABASE_URL=f"sqlite:///{environment['FIREBREAK_VAR_DIR']}/procedure-{PRESET}.sqlite3")
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True).stdout


def test_a_preset_portal_starts_on_its_own_database_and_a_restart_keeps_it(start_environment):
    address = f"http://127.0.0.1:{start_environment['FIREBREAK_PORT']}/"
    database = Path(start_environment["FIREBREAK_VAR_DIR"], f"procedure-{PRESET}.sqlite3")
    first = StartedPortal(start_environment)
    try:
        first.wait_for("Firebreak is running at")
        login_page = urllib.request.urlopen(address + "accounts/login/", timeout=10)
        assert login_page.status == 200
        # The worker with its embedded beat keeps the clocks: the sweep runs every 5 s.
        wait_until(lambda: sweep_has_run(database), "the deadline sweep", first)
    finally:
        # Ctrl-C: the script stops its children and ends as an interrupted program does.
        assert first.stop() in (130, -signal.SIGINT), first.output()

    def where(text: str) -> int:
        return next(i for i, line in enumerate(first.lines) if text in line)

    assert where(f"Switching to the procedure preset {PRESET}") < where("Loading demo data")
    # The logins, then the address, come after everything else has started: they stay on screen.
    assert where("Starting a Celery worker") < where("Demo logins") < where(
        f"Firebreak is running at {address}")
    assert database.exists()
    assert f"* {PRESET}" in manage(start_environment, "procedure", "presets")

    # A manager renames a severity; a restart must keep it (the preset is not loaded again).
    manage(start_environment, "shell", "--no-imports", "-c",
           "from incidents.models import SeverityLevel; "
           "SeverityLevel.objects.filter(code='P1').update(name='Major outage')")
    second = StartedPortal(start_environment)
    try:
        second.wait_for("Firebreak is running at")
    finally:
        second.stop()

    assert any(f"The preset {PRESET} is already the active procedure" in line
               for line in second.lines), second.output()
    names = manage(start_environment, "shell", "--no-imports", "-c",
                   "from incidents.models import SeverityLevel; "
                   "print(SeverityLevel.objects.get(code='P1').name)")
    assert names.strip() == "Major outage"
