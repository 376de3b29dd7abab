"""Benchmark of the deadline sweep: with many open incidents and some deadlines due, how long one
sweep takes and how long from due time to notification queued and sent.

Run against a throwaway PostgreSQL database (it migrates it and fills it with fake incidents):

    createdb -h 127.0.0.1 -U postgres firebreak_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/firebreak_bench \\
    EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend \\
        .venv/bin/python scripts/bench_sweep.py --incidents 100000 --due 1000

`--incidents` open incidents each get response and resolution SLA clocks with timers far in the
future; `--due` of them have their response timer due now. The script prints the EXPLAIN of the
sweep's claim query, the sweep's duration, and due-to-queued / due-to-sent delays. Run it with
10000 and 100000 incidents to see that the cost follows due deadlines, not incidents. Re-running
adds to the same database (`--incidents 0` reuses the incidents already there and makes another
`--due` timers due); use --reset to start from an empty one."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.urls import get_resolver  # noqa: E402
from django.utils import timezone  # noqa: E402

from escalation.deadlines import BATCH_SIZE, deadlines_sweep  # noqa: E402
from escalation.models import PENDING, Deadline, Notification, SlaClock  # noqa: E402
from incidents.models import Incident, IncidentType, SeverityLevel  # noqa: E402

BATCH = 5000


def log(message: str) -> None:
    print(message, flush=True)


def reset() -> None:
    with connection.cursor() as cursor:
        for model in (Notification, Deadline, SlaClock, Incident):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")


def fill(incidents: int) -> None:
    """Create `incidents` open P1 incidents with clocks and pending timers a year away."""
    User = get_user_model()
    reporter, _ = User.objects.get_or_create(username="bench-reporter",
                                             defaults={"email": "bench@example.com"})
    severity = SeverityLevel.objects.get(code="P1")
    incident_type_id = IncidentType.default_pk()  # given, so bulk creation asks only once
    content_type = ContentType.objects.get_for_model(Incident)
    now = timezone.now()
    far = now + timedelta(days=365)
    existing = Incident.objects.count()
    made = 0
    while made < incidents:
        size = min(BATCH, incidents - made)
        with transaction.atomic():
            batch = Incident.objects.bulk_create([
                Incident(reference=f"BENCH-{existing + made + i:07d}", title="Benchmark incident",
                         severity=severity, incident_type_id=incident_type_id,
                         reporter=reporter, state="investigating",
                         declared_at=now - timedelta(hours=1), detected_at=now - timedelta(hours=1))
                for i in range(size)
            ])
            clocks = SlaClock.objects.bulk_create([
                SlaClock(incident=incident, kind=kind, target=timedelta(hours=4),
                         started_at=now, due_at=far, at_risk_at=far)
                for incident in batch for kind in ("response", "resolution")
            ])
            Deadline.objects.bulk_create([
                Deadline(kind=f"sla.{clock.kind}", key=f"sla.{clock.kind}",
                         incident_id=clock.incident_id, content_type=content_type,
                         object_id=clock.incident_id, due_at=far,
                         payload={"clock": clock.pk})
                for clock in clocks
            ])
        made += size
        log(f"  {existing + made} incidents")


def make_due(due: int) -> None:
    """Make `due` response timers (and their clocks) due now, just before the sweep, so the
    measured delays start at the due time."""
    now = timezone.now()
    far = now + timedelta(days=300)
    clock_ids = list(SlaClock.objects.filter(kind="response", met_at__isnull=True,
                                             breached_at__isnull=True, due_at__gt=far)
                     .order_by("-id").values_list("id", flat=True)[:due])
    SlaClock.objects.filter(id__in=clock_ids).update(due_at=now, at_risk_at=now)
    updated = (Deadline.objects.filter(PENDING, kind="sla.response", payload__clock__in=clock_ids)
               .update(due_at=now))
    log(f"  {updated} response timers due now")


def explain() -> str:
    query = (Deadline.objects.select_for_update(skip_locked=True)
             .filter(PENDING, due_at__lte=timezone.now()).order_by("due_at")[:BATCH_SIZE])
    with transaction.atomic():
        return query.explain(analyze=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--reset", action="store_true", help="empty the benchmark tables first")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: set DATABASE_URL to a throwaway database.")
    log(f"Database {settings.DATABASES['default']['NAME']}: migrating")
    call_command("migrate", verbosity=0)
    if args.reset:
        reset()
    log(f"Filling: {args.incidents} open incidents, {args.due} deadlines due")
    started = time.monotonic()
    fill(args.incidents)
    log(f"  filled in {time.monotonic() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    make_due(args.due)
    log(f"Open incidents: {Incident.objects.open().count()}, pending deadlines: "
        f"{Deadline.objects.filter(PENDING).count()}, due now: "
        f"{Deadline.objects.filter(PENDING, due_at__lte=timezone.now()).count()}")
    log("EXPLAIN ANALYZE of the sweep's claim query:")
    log("  " + explain().replace("\n", "\n  "))

    # A running worker has its URLconf loaded (notification links are reversed): load it now
    # so that the one-off import is not counted as sweep time.
    get_resolver().url_patterns
    sweep_started_at = timezone.now()
    started = time.monotonic()
    fired = deadlines_sweep()
    sweep_seconds = time.monotonic() - started
    log(f"One sweep: {fired} deadlines fired in {sweep_seconds:.2f} s "
        f"({sweep_seconds / max(fired, 1) * 1000:.1f} ms per deadline)")

    rows = list(Notification.objects.filter(created_at__gte=sweep_started_at,
                                            reason="sla.response.breached")
                .values_list("created_at", "incident_id"))
    due_by_incident = dict(SlaClock.objects.filter(kind="response",
                                                   breached_at__gte=sweep_started_at)
                           .values_list("incident_id", "due_at"))
    queued = [(created - due_by_incident[incident]).total_seconds()
              for created, incident in rows if incident in due_by_incident]
    if queued:
        log(f"Due -> queued: {len(queued)} notifications, median {statistics.median(queued):.2f} s,"
            f" max {max(queued):.2f} s (plus up to one beat interval, 5 s, in production)")

    started = time.monotonic()
    try:
        from escalation.delivery import deliver_due
    except ImportError:
        log("Delivery module not installed; skipping the send measurement.")
        return
    run = deliver_due(time_budget=600)
    deliver_seconds = time.monotonic() - started
    sent = list(Notification.objects.filter(created_at__gte=sweep_started_at,
                                            reason="sla.response.breached",
                                            sent_at__isnull=False)
                .values_list("sent_at", "incident_id"))
    delays = [(sent_at - due_by_incident[incident]).total_seconds()
              for sent_at, incident in sent if incident in due_by_incident]
    log(f"Delivery ({settings.EMAIL_BACKEND}): {run.as_dict()} in {deliver_seconds:.2f} s")
    if delays:
        log(f"Due -> sent: {len(delays)} notifications, median {statistics.median(delays):.2f} s, "
            f"max {max(delays):.2f} s")


if __name__ == "__main__":
    main()
