"""Mass-breach benchmark with real processes: how late timers act and notifications leave when
~4,000 timers of 1,000 incidents fall due within five minutes.

Run against a throwaway PostgreSQL database and a Redis database of your own:

    createdb -h 127.0.0.1 -U postgres firebreak_mass
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/firebreak_mass \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python scripts/bench_mass_breach.py --incidents 1000 --window 300

It empties the incident tables, creates `--incidents` open P1 incidents (with a reporter and an
incident manager who get e-mails, and a webhook endpoint), and gives each four timers due at
random moments in the next `--window` seconds: its SLA at-risk warning, its response SLA, an
escalation step and a generic reminder. Then it starts `--workers` Celery workers and one beat
over Redis, a local SMTP sink and webhook receiver (`--smtp-port`, `--webhook-port` on
127.0.0.1), waits until every timer fired and every message left, and prints p50/p99 of
due -> queued (outbox row created) and due -> delivered (e-mail or webhook accepted), and the
counts of timers missed, messages doubled (same Message-ID / X-Webhook-Id twice) and lost."""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from bench_delivery import SmtpSink  # noqa: E402


class WebhookReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int):
        self.ids: list[str] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), WebhookHandler)


class WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.ids.append(self.headers.get("X-Webhook-Id", ""))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def setup(incidents: int, window: float, webhook_port: int) -> tuple:
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from escalation.models import (
        Deadline,
        EscalationLevel,
        EscalationStep,
        Heartbeat,
        Notification,
        SlaClock,
        WebhookEndpoint,
    )
    from escalation.reminders import REMINDER
    from incidents.models import Incident, SeverityLevel

    with connection.cursor() as cursor:
        for model in (Notification, Deadline, SlaClock, Incident, Heartbeat):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    User = get_user_model()
    reporter, _ = User.objects.get_or_create(username="mass-reporter",
                                             defaults={"email": "reporter@example.com"})
    manager, _ = User.objects.get_or_create(username="mass-manager",
                                            defaults={"email": "manager@example.com"})
    for level in EscalationLevel.objects.all():
        person, _ = User.objects.get_or_create(username=f"mass-level{level.number}",
                                               defaults={"email": f"l{level.number}@example.com"})
        level.users.add(person)
    WebhookEndpoint.objects.update(is_active=False)
    WebhookEndpoint.objects.update_or_create(
        name="Mass breach receiver", defaults={
            "url": f"http://127.0.0.1:{webhook_port}/hook", "format": "json",
            "secret": "bench", "is_active": True, "min_severity_rank": 3})
    severity = SeverityLevel.objects.get(code="P1")
    step = (EscalationStep.objects.filter(policy__severity=severity, anchor="start")
            .order_by("delay").first())
    incident_type = ContentType.objects.get_for_model(Incident)
    now = timezone.now()
    start = now + timedelta(seconds=60)  # time for the processes to start
    rng = random.Random(42)

    def moment():
        return start + timedelta(seconds=rng.uniform(0, window))

    with transaction.atomic():
        made = Incident.objects.bulk_create([
            Incident(reference=f"MASS-{i:05d}", title=f"Mass breach {i}", severity=severity,
                     reporter=reporter, incident_manager=manager, state="investigating",
                     declared_at=now - timedelta(hours=1), detected_at=now - timedelta(hours=1))
            for i in range(incidents)])
        clocks, timers = [], []
        for incident in made:
            at_risk, due = sorted((moment(), moment()))
            clocks.append(SlaClock(incident=incident, kind="response", target=severity
                                   .response_target, started_at=now - timedelta(hours=1),
                                   due_at=due, at_risk_at=at_risk))
        SlaClock.objects.bulk_create(clocks)
        for clock in clocks:
            incident = clock.incident
            common = {"incident": incident, "content_type": incident_type,
                      "object_id": incident.pk}
            timers += [
                Deadline(kind="sla.at_risk", key="sla.response.at_risk", due_at=clock.at_risk_at,
                         payload={"clock": clock.pk}, **common),
                Deadline(kind="sla.response", key="sla.response", due_at=clock.due_at,
                         payload={"clock": clock.pk}, **common),
                Deadline(kind=REMINDER, key="mass.reminder", due_at=moment(), payload={
                    "reason": "mass.reminder", "title": f"Check {incident.reference}",
                    "recipient_ids": [manager.pk], "webhooks": False}, **common),
            ]
            if step is not None:
                timers.append(Deadline(kind="escalation.step", key=f"escalation.step.{step.pk}",
                                       due_at=moment(), payload={"step": step.pk}, **common))
        Deadline.objects.bulk_create(timers)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return start, len(timers)


def start_processes(workers: int, env: dict, logs: Path) -> list[subprocess.Popen]:
    celery = str(Path(sys.executable).with_name("celery"))
    commands = [[celery, "-A", "config", "worker", "--loglevel=WARNING", "--pool=prefork",
                 "--concurrency=1", f"--hostname=mass{i}@%h", "--without-gossip",
                 "--without-mingle", "--without-heartbeat"] for i in range(workers)]
    commands.append([celery, "-A", "config", "beat", "--loglevel=WARNING",
                     f"--schedule={logs / 'beat-schedule'}"])
    processes = []
    for n, command in enumerate(commands):
        with open(logs / f"process-{n}.log", "ab") as log:
            processes.append(subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log,
                                              stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL,
                                              start_new_session=True))
    return processes


def stop_processes(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def measure(sink: SmtpSink, receiver: WebhookReceiver, timers_made: int) -> dict:
    from escalation.models import PENDING, Deadline, EscalationEvent, Notification, SlaClock

    clocks = {c.pk: c for c in SlaClock.objects.all()}
    events = dict(EscalationEvent.objects.values_list("pk", "at"))
    timer_due = dict(Deadline.objects.filter(kind="reminder").values_list("pk", "due_at"))

    def due_of(n) -> object | None:
        if n.reason == "sla.response.breached":
            return clocks[n.object_id].due_at
        if n.reason == "sla.response.at_risk":
            return clocks[n.object_id].at_risk_at
        if n.reason == "escalation":
            return events[n.object_id]
        if n.reason == "mass.reminder":
            return timer_due[int(n.dedup_key.split("@deadline")[1].split(":")[0])]
        return None

    queued, delivered = [], []
    outbox = list(Notification.objects.all())
    for n in outbox:
        due = due_of(n)
        if due is None:
            continue
        queued.append((n.created_at - due).total_seconds())
        if n.channel != "inapp" and n.sent_at:
            delivered.append((n.sent_at - due).total_seconds())
    fired = Deadline.objects.filter(fired_at__isnull=False, kind__in=[
        "sla.at_risk", "sla.response", "reminder", "escalation.step"])
    lateness = [(d.fired_at - d.due_at).total_seconds() for d in fired]
    outward = [n for n in outbox if n.channel != "inapp"]
    sent_ids = {str(n.idempotency_id) for n in outward if n.status == "sent"}
    received = Counter([m.strip("<>").split("@")[0] for m in sink.message_ids] + receiver.ids)
    return {
        "timers made": timers_made,
        "timers fired": len(lateness),
        "missed (still pending)": Deadline.objects.filter(PENDING, kind__in=[
            "sla.at_risk", "sla.response", "reminder", "escalation.step"]).count(),
        "outbox rows": len(outbox),
        "e-mails and webhooks": len(outward),
        "doubled (received twice)": sum(n - 1 for n in received.values() if n > 1),
        "lost (not sent, or sent but never received)":
            sum(1 for n in outward if n.status != "sent")
            + len(sent_ids - set(received)),
        "due->fired p50/p99/max s": (percentile(lateness, .5), percentile(lateness, .99),
                                     max(lateness, default=float("nan"))),
        "due->queued p50/p99/max s": (percentile(queued, .5), percentile(queued, .99),
                                      max(queued, default=float("nan"))),
        "due->delivered p50/p99/max s": (percentile(delivered, .5),
                                         percentile(delivered, .99),
                                         max(delivered, default=float("nan"))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--window", type=float, default=300, help="seconds the timers span")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--smtp-port", type=int, default=8113)
    parser.add_argument("--webhook-port", type=int, default=8112)
    args = parser.parse_args()
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        sys.exit("Set CELERY_BROKER_URL to a Redis database of your own, e.g. "
                 "redis://127.0.0.1:6379/7 (it is flushed).")
    os.environ.update({"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                       "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(args.smtp_port)})

    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from escalation.models import PENDING, Deadline, Notification

    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL to a throwaway database.")
    redis.Redis.from_url(broker).flushdb()
    print(f"Database {settings.DATABASES['default']['NAME']}: migrating", flush=True)
    call_command("migrate", verbosity=0)
    start, timers_made = setup(args.incidents, args.window, args.webhook_port)
    print(f"{args.incidents} incidents, {timers_made} timers due between "
          f"{start:%H:%M:%S} and +{args.window:.0f} s (UTC)", flush=True)
    sink, receiver = SmtpSink(args.smtp_port), WebhookReceiver(args.webhook_port)
    for server in (sink, receiver):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    logs = Path(tempfile.mkdtemp(prefix="mass-breach-"))
    processes = start_processes(args.workers, dict(os.environ), logs)
    load = []
    try:
        give_up = time.monotonic() + 60 + args.window + 600
        while time.monotonic() < give_up:
            time.sleep(5)
            load.append(os.getloadavg()[0])
            pending_timers = Deadline.objects.filter(PENDING, due_at__lte=start + timedelta(
                seconds=args.window)).count()
            unsent = Notification.objects.filter(status="pending").count()
            print(f"  {time.strftime('%H:%M:%S')} timers left {pending_timers}, "
                  f"messages unsent {unsent}, load {load[-1]:.1f}", flush=True)
            if (pending_timers == 0 and unsent == 0
                    and time.time() > start.timestamp() + args.window):
                break
    finally:
        stop_processes(processes)
        sink.shutdown()
        receiver.shutdown()
    print(f"Logs of the Celery processes: {logs}")
    print(json.dumps(measure(sink, receiver, timers_made), indent=2, default=str))
    print(f"Load average (1 min) during the run: min {min(load):.1f}, "
          f"median {statistics.median(load):.1f}, max {max(load):.1f}")


if __name__ == "__main__":
    main()
