"""Real processes for the integration tests: Celery workers and beats over Redis, on the test's
own PostgreSQL database, with a local SMTP sink and webhook receiver standing in for the world.

Rows the test writes must be committed for the workers to see them, so these tests use
`transactional_db`. Every process runs in its own session (process group) and is killed with
its children when the test ends, whatever happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require_service

from .sinks import SmtpSink, WebhookReceiver

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CELERY = str(Path(sys.executable).with_name("celery"))
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("INTEGRATION_REDIS_DB", "5"))  # our own db: flushed freely
SECRET = "integration-secret"


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.2, explain=None):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds
    (saying what `explain()` returns, if given, to help whoever reads the failure)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain else ""
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}.{detail}")
        time.sleep(interval)


class CeleryProcess:
    def __init__(self, name: str, args: list[str], env: dict, log_path: Path):
        self.name, self.args, self.env, self.log_path = name, args, env, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> CeleryProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed when the process is reaped
        self.proc = subprocess.Popen(
            [CELERY, "-A", "config", *self.args], cwd=BASE_DIR, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a prefork worker's pool processes too)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def stop(self) -> None:
        # No warm shutdown: what the test checks is already in the database, and a crash is
        # exactly what the machinery must survive. Kills the pool processes of the group too.
        self.kill(signal.SIGKILL)


class CeleryStack:
    """Starts workers and beats that share the test's database and a Redis db of our own."""

    def __init__(self, env: dict, tmp_path: Path):
        self.env, self.tmp_path = env, tmp_path
        self.processes: list[CeleryProcess] = []

    def _start(self, name: str, args: list[str]) -> CeleryProcess:
        process = CeleryProcess(name, args, self.env, self.tmp_path / f"{name}.log").start()
        self.processes.append(process)
        return process

    def worker(self, name: str, *, wait: bool = True) -> CeleryProcess:
        process = self._start(name, [
            "worker", "--loglevel=INFO", "--pool=prefork", "--concurrency=2",
            f"--hostname={name}@%h", "--without-gossip", "--without-mingle",
            "--without-heartbeat",
        ])
        if wait:
            self.wait_ready(process)
        return process

    def wait_ready(self, process: CeleryProcess) -> None:
        def ready():
            if not process.alive:
                pytest.fail(f"{process.name} exited:\n{process.log()[-3000:]}")
            return " ready." in process.log()

        wait_until(ready, timeout=40, what=f"{process.name} to be ready")

    def beat(self, name: str) -> CeleryProcess:
        return self._start(name, [
            "beat", "--loglevel=INFO", f"--schedule={self.tmp_path / name}-schedule",
        ])

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"==== {p.name} ====\n{p.log()[-4000:]}" for p in self.processes)


@pytest.fixture
def broker_url():
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    client.flushdb()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client.flushdb()
    client.close()


@pytest.fixture
def live_db(postgres, transactional_db, django_db_serialized_rollback):
    """Committed rows on PostgreSQL (the workers read them); seeded rows restored afterwards."""
    settings = postgres.settings_dict
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def smtp_sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def webhook_receiver():
    with WebhookReceiver(secret=SECRET) as receiver:
        yield receiver


@pytest.fixture
def celery_env(live_db, broker_url, smtp_sink, tmp_path):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "CELERY_", "EMAIL_", "NOTIFICATION_", "WEBHOOK_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": live_db,
        "DATABASE_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "FIREBREAK_VAR_DIR": str(tmp_path / "var"),
        # The webhook receiver listens on the loopback address.
        "WEBHOOK_ALLOWED_INTERNAL_HOSTS": "127.0.0.1",
        # Short timings so a crash test recovers in seconds; the lease stays above the timeout.
        "NOTIFICATION_SEND_TIMEOUT": "3",
        "NOTIFICATION_DELIVERY_LEASE_SECONDS": "5",
        "PYTHONUNBUFFERED": "1",
    })
    return env


@pytest.fixture
def celery_stack(celery_env, tmp_path, request):
    stack = CeleryStack(celery_env, tmp_path)
    yield stack
    stack.stop_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(stack.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
