"""Benchmark of notification delivery: how fast worker processes drain a backlog of pending
e-mails into a local SMTP sink, and whether the rate per message holds as the backlog grows.

Run against a throwaway PostgreSQL database (it migrates it and empties its outbox tables):

    createdb -h 127.0.0.1 -U postgres firebreak_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/firebreak_bench \\
        .venv/bin/python scripts/bench_delivery.py --emails 10000 --workers 2

It queues `--emails` pending e-mail notifications, starts an SMTP sink on 127.0.0.1
(`--port`), forks `--workers` processes that each call `deliver_due()` until nothing is left
(as Celery workers would), and prints the drain rate, how many messages the sink received and
how many Message-IDs it saw twice. Run it with 100 and 10000 to compare the rate per message."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socketserver
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
os.environ.setdefault("EMAIL_HOST", "127.0.0.1")


class SmtpSink(socketserver.ThreadingTCPServer):
    """The least SMTP a client needs; keeps every Message-ID it received."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int):
        self.message_ids: list[str] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), SmtpHandler)


class SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        self.reply("220 bench sink")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 bench sink")
            elif command == "DATA":
                self.reply("354 go ahead")
                message_id = ""
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    if data.lower().startswith(b"message-id:"):
                        message_id = data.split(b":", 1)[1].strip().decode()
                with self.server.lock:
                    self.server.message_ids.append(message_id)
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.reply("250 ok")


def queue_emails(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.utils import timezone

    from escalation.models import Notification

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE escalation_deliveryattempt, escalation_notification")
    User = get_user_model()
    people = [User.objects.get_or_create(username=f"bench-{i}",
                                         defaults={"email": f"bench-{i}@example.com"})[0]
              for i in range(100)]
    content_type = ContentType.objects.get_for_model(User)
    now = timezone.now()
    Notification.objects.bulk_create([
        Notification(dedup_key=f"bench:{n}", channel=Notification.Channel.EMAIL,
                     recipient=people[n % len(people)], content_type=content_type,
                     object_id=people[0].pk, reason="bench", title=f"Benchmark message {n}",
                     body="A benchmark message.", created_at=now, next_attempt_at=now)
        for n in range(count)], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE escalation_notification")


def drain(worker: int) -> None:
    from escalation.delivery import deliver_due

    sent = 0
    while True:
        run = deliver_due(time_budget=50)
        sent += run.sent
        if run.sent == 0 and run.retrying == 0 and run.failed == 0:
            break
    print(f"  worker {worker}: sent {sent}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8111, help="SMTP sink port on 127.0.0.1")
    args = parser.parse_args()
    os.environ["EMAIL_PORT"] = str(args.port)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections

    from escalation.models import Notification

    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL to a throwaway database.")
    print(f"Database {settings.DATABASES['default']['NAME']}: migrating", flush=True)
    call_command("migrate", verbosity=0)
    queue_emails(args.emails)
    print(f"{Notification.objects.filter(status='pending').count()} e-mails pending; "
          f"{args.workers} workers, SMTP sink on 127.0.0.1:{args.port}", flush=True)
    sink = SmtpSink(args.port)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    connections.close_all()  # each forked worker opens its own
    started = time.monotonic()
    workers = [multiprocessing.get_context("fork").Process(target=drain, args=(i,))
               for i in range(args.workers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    sink.shutdown()
    sent = Notification.objects.filter(status="sent").count()
    pending = Notification.objects.exclude(status="sent").count()
    repeats = sum(n - 1 for n in Counter(sink.message_ids).values() if n > 1)
    print(f"Drained {sent} e-mails in {elapsed:.2f} s: {sent / elapsed:.0f} per second "
          f"({elapsed / max(sent, 1) * 1000:.2f} ms per message); not sent: {pending}; "
          f"sink received {len(sink.message_ids)}, repeated Message-IDs: {repeats}")
    print(f"Load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
