"""Benchmark the reports at scale on PostgreSQL: dashboard figures and the CSV export over
100,000 incidents (plus, with --xlsx / --pdf, the workbook and the PDF).

It creates a throwaway database (dropped at the end unless --keep), migrates it, bulk-inserts
incidents spread over the last year with SLA clocks, escalations and post-mortems, and times
the real views through Django's test client (full middleware, templates and queries).

    .venv/bin/python scripts/bench_reports.py                    # 100,000 incidents
    .venv/bin/python scripts/bench_reports.py --incidents 20000 --xlsx --pdf --keep

Needs PostgreSQL at --server (default postgres://postgres@127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.benchdb import drop_database, recreate_database, setup_django  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="firebreak_bench_reports")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="use the kept database as it is (no drop, no insert)")
    parser.add_argument("--xlsx", action="store_true", help="also time the XLSX export")
    parser.add_argument("--pdf", action="store_true", help="also time the PDF export")
    return parser.parse_args()


def time_xlsx(client, query) -> tuple[str, str]:
    """The XLSX export as a person gets it: sent at once up to REPORT_XLSX_DIRECT_MAX_ROWS
    incidents, else queued and built by a worker (here: in this process, right after the
    request, as a worker would); the time is until the file can be downloaded."""
    from django.urls import reverse

    from incidents.models import ReportExport
    from incidents.reports import background

    background.ask_worker = lambda export_id: None  # no broker here: this process builds it
    started = time.perf_counter()
    response = client.get(reverse("reports:export_xlsx"), query)
    if response.status_code == 302:
        export = ReportExport.objects.order_by("-requested_at").first()
        background.export_build(export.pk)
        export.refresh_from_db()
        response = client.get(reverse("reports:export_download", args=[export.pk]))
        how = "built by a worker"
    else:
        how = "sent at once"
    size = sum(len(chunk) for chunk in response.streaming_content)
    return ("XLSX export, 366 days (4 sheets)",
            f"{time.perf_counter() - started:.2f} s, {size / 1e6:.1f} MB, {how}")


def insert_incidents(count: int) -> None:
    """Bulk rows straight into the tables (no history, no signals): realistic shapes, fast."""
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from escalation.models import EscalationEvent, EscalationLevel, SlaClock
    from escalation.services import sla_outcomes_record
    from incidents.models import Incident, IncidentType, Service, SeverityLevel
    from postmortems.models import PostMortem

    rng = random.Random(20261122)
    severities = list(SeverityLevel.objects.order_by("rank"))
    weights = [2, 8, 40, 50][: len(severities)]
    services = Service.objects.bulk_create(
        [Service(name=f"Service {n:02d}", slug=f"service-{n:02d}") for n in range(1, 21)]
    )
    reporter = User.objects.create_user("bench-reporter")
    pm = User.objects.create_user("bench-pm", password="bench-password")
    pm.groups.add(Group.objects.get(name="Product manager"))
    levels = list(EscalationLevel.objects.order_by("number"))
    types = list(IncidentType.objects.all())
    now = timezone.now()
    start = now - timedelta(days=365)
    batch = 5000
    number = 0
    through = Incident.services.through
    while number < count:
        incidents = []
        for _ in range(min(batch, count - number)):
            number += 1
            severity = rng.choices(severities, weights)[0]
            declared = start + timedelta(seconds=rng.randrange(365 * 86400))
            detected = declared - timedelta(minutes=rng.randrange(0, 120))
            ack = declared + timedelta(minutes=rng.randrange(1, 600)) if rng.random() < 0.95 else None
            resolved = None
            if ack and rng.random() < 0.9:
                resolved = ack + timedelta(minutes=rng.randrange(10, 3000))
                if resolved > now:
                    resolved = None
            state = ("closed" if resolved and rng.random() < 0.7 else "resolved" if resolved
                     else "triaged" if ack else "reported")
            incidents.append(Incident(
                reference=f"BENCH-{number:07d}", title=f"Benchmark incident {number}",
                severity=severity, reporter=reporter, state=state, incident_type=rng.choice(types),
                detected_at=detected, declared_at=declared, acknowledged_at=ack,
                mitigated_at=resolved, resolved_at=resolved,
                closed_at=resolved if state == "closed" else None,
                customers_affected=rng.randrange(0, 5000) if rng.random() < 0.5 else None,
                revenue_impact_per_hour=(Decimal(rng.randrange(10, 5000))
                                         if rng.random() < 0.4 else None),
                is_customer_facing=rng.random() < 0.3,
            ))
        created = Incident.objects.bulk_create(incidents)
        through.objects.bulk_create([
            through(incident_id=incident.pk, service_id=service.pk)
            for incident in created for service in rng.sample(services, rng.choice((1, 1, 2)))
        ])
        clocks, events, reviews = [], [], []
        for incident in created:
            for kind, target, achieved in (
                ("response", incident.severity.response_target, incident.acknowledged_at),
                ("resolution", incident.severity.resolution_target, incident.resolved_at),
            ):
                due = incident.declared_at + target
                breached = due if (achieved is None and due < now) or (achieved and achieved > due) \
                    else None
                clocks.append(SlaClock(incident=incident, kind=kind, target=target,
                                       started_at=incident.declared_at, due_at=due,
                                       at_risk_at=due - target / 5, met_at=achieved,
                                       breached_at=breached))
            if levels and rng.random() < 0.1:
                events.append(EscalationEvent(incident=incident, level=rng.choice(levels),
                                              source="step", reason_category="time",
                                              at=incident.declared_at + timedelta(hours=1)))
            if incident.severity.postmortem_required and incident.resolved_at:
                due_at = incident.resolved_at + (incident.severity.postmortem_due_within
                                                 or timedelta(days=2))
                published = due_at - timedelta(hours=rng.randrange(-24, 24)) \
                    if rng.random() < 0.8 else None
                reviews.append(PostMortem(incident=incident, title=incident.title, due_at=due_at,
                                          state="published" if published else "drafting",
                                          published_at=published))
        # With their stored outcomes, as the clock services write them.
        sla_outcomes_record(SlaClock.objects.bulk_create(clocks))
        EscalationEvent.objects.bulk_create(events)
        PostMortem.objects.bulk_create(reviews)
        print(f"  inserted {number:,} incidents", end="\r", flush=True)
    print()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(label: str, func, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - started)
    return best, result


def run_benchmarks(args) -> list[tuple[str, str]]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from incidents.models import Incident
    from incidents.reports import metrics
    from incidents.reports.periods import ReportPeriod

    today = timezone.localdate()
    year = ReportPeriod(today - timedelta(days=365), today)
    month = ReportPeriod(today - timedelta(days=29), today)
    total = Incident.objects.count()
    in_year = metrics.incidents_declared(year, metrics.ReportFilters()).count()
    in_month = metrics.incidents_declared(month, metrics.ReportFilters()).count()
    results = [("Incidents in the database", f"{total:,}"),
               ("Incidents in the 366-day period / last 30 days", f"{in_year:,} / {in_month:,}")]

    def figures(period):
        summary = metrics.report_summary(period)
        metrics.weekly_trends(period, now=summary.generated_at)
        return summary

    seconds, _ = timed("metrics year", lambda: figures(year))
    results.append(("Dashboard figures, 366 days (report_summary + weekly_trends)", f"{seconds:.2f} s"))
    seconds, _ = timed("metrics month", lambda: figures(month))
    results.append(("Dashboard figures, last 30 days", f"{seconds:.2f} s"))

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(username="bench-pm"))
    query = year.as_query()

    def page():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("reports:dashboard"), query)
        assert response.status_code == 200, response.status_code
        return len(queries)

    seconds, queries = timed("dashboard page", page)
    results.append(("Dashboard page, 366 days (HTTP, rendered)", f"{seconds:.2f} s, {queries} queries"))

    def csv_export():
        response = client.get(reverse("reports:export_csv"), query)
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        return size, lines - 1

    seconds, (size, rows) = timed("csv", csv_export, repeat=2)
    # A second pass under tracemalloc (which slows Python down several times) for the peak.
    tracemalloc.start()
    csv_export()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results.append(("CSV export, 366 days (streamed)",
                    f"{seconds:.2f} s, {rows:,} rows, {size / 1e6:.1f} MB; "
                    f"peak Python memory while streaming {peak / 1e6:.1f} MB"))

    if args.xlsx:
        results.append(time_xlsx(client, query))
    if args.pdf:
        started = time.perf_counter()
        response = client.get(reverse("reports:export_pdf"), query)
        results.append(("PDF report, 366 days (first 500 incidents listed)",
                        f"{time.perf_counter() - started:.2f} s, {len(response.content) / 1e6:.1f} MB"))
    return results


def main() -> None:
    args = parse_args()
    if not args.reuse:
        print(f"Creating database {args.database} ...")
        recreate_database(args.server, args.database)
    setup_django(args.server, args.database)
    if not args.reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(f"Inserting {args.incidents:,} incidents ...")
        started = time.perf_counter()
        insert_incidents(args.incidents)
        print(f"  done in {time.perf_counter() - started:.0f} s")
    try:
        results = run_benchmarks(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(args.server, args.database)
    print()
    print("| Measure | Result |")
    print("|---|---|")
    for label, value in results:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
