"""Benchmark the portal's pages at scale against a framework floor, served by gunicorn.

It builds (or reuses) a data set of realistic shape with bulk inserts: N incidents over a
year (about 2% still open, the rest resolved or closed), ten timeline entries, two SLA clocks
and five deadlines per incident, published status updates for the open and the recently
resolved ones, and one incident with 2,000 timeline entries. Then it serves the
portal with gunicorn (DEBUG off) and requests each product page and its floor interleaved, in
random order. A floor is a bare login-required view (anonymous for /status/) making one
`select_related` query and rendering the same number of rows with a plain template; its
"chrome" variant renders those rows inside the portal's own base template (navigation,
context processors), which every portal page pays before its own work. The floors live in
this script's own URL configuration, not in the product.

    .venv/bin/python scripts/bench_pages.py --incidents 10000
    .venv/bin/python scripts/bench_pages.py --incidents 100000 --json var/bench-100k.json

Each row of the table: p50 and p95 of the server time (measured around the WSGI application,
so the middleware and the rendering count, the network does not), queries and SQL time per
request, bytes, the floor's p50 and p95, product / floor, the chrome floor's p95 and product /
chrome. The data set is kept in
--database (default firebreak_bench_pages_<N>) and reused when it holds the same N.

Needs PostgreSQL at --server (default postgres://postgres@127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.benchdb import django_environment, ensure_database, recreate_database  # noqa: E402

DATASET_VERSION = 1
BIG_TIMELINE = 2_000
ENTRIES_PER_INCIDENT = 10
DEADLINES_PER_INCIDENT = 5
PASSWORD = "bench-password"
COMPONENTS = ["checkout", "search", "login", "card payments", "invoicing", "the mobile app",
              "the public API", "order export", "the warehouse sync", "e-mail delivery",
              "the data warehouse", "single sign-on", "the CDN", "webhooks", "billing",
              "the partner portal", "push notifications", "the recommendation engine",
              "customer support chat", "the status dashboard"]
SYMPTOMS = ["returns errors", "is slow", "times out", "is down", "shows stale data",
            "drops requests", "fails for some customers", "has a growing backlog",
            "rejects valid input", "leaks memory", "is degraded in one region",
            "sends duplicates", "loses sessions", "double charges", "returns 502"]


# --- Served by gunicorn: the product's URLs plus the floors, with timing headers -------------


def _floor_views():
    from django.contrib.auth.decorators import login_required
    from django.http import HttpResponse
    from django.template import engines

    from incidents.models import Incident, Service, TimelineEntry

    template = engines["django"].from_string(
        "<!doctype html><html><head><title>floor</title></head><body><table>"
        "{% for row in rows %}<tr><td>{{ row.0 }}</td><td>{{ row.1 }}</td><td>{{ row.2 }}</td>"
        "<td>{{ row.3 }}</td></tr>{% endfor %}</table></body></html>")

    # The same rows inside the portal's own page (base.html: navigation, context processors,
    # the CSP nonce): what any page of the portal costs before its own work, asked with ?chrome.
    chrome = engines["django"].from_string(
        '{% extends "base.html" %}{% block content %}<table>'
        "{% for row in rows %}<tr><td>{{ row.0 }}</td><td>{{ row.1 }}</td><td>{{ row.2 }}</td>"
        "<td>{{ row.3 }}</td></tr>{% endfor %}</table>{% endblock %}")

    def render(request, rows):  # no request: no context processors, a plain template
        if "chrome" in request.GET:
            return HttpResponse(chrome.render({"rows": rows}, request))
        return HttpResponse(template.render({"rows": rows}))

    @login_required
    def incidents(request, n):
        rows = [(i.reference, i.title, i.severity.code, i.incident_manager)
                for i in Incident.objects.select_related("severity", "incident_manager")
                .order_by("-declared_at", "-id")[:n]]
        return render(request, rows)

    @login_required
    def timeline(request, n):
        rows = [(e.occurred_at, e.incident.reference, e.author, e.text)
                for e in TimelineEntry.objects.select_related("incident", "author")
                .order_by("-occurred_at", "-id")[:n]]
        return render(request, rows)

    @login_required
    def incident_timeline(request, reference, n):
        rows = [(e.occurred_at, e.incident.title, e.author, e.text)
                for e in TimelineEntry.objects.select_related("incident", "author")
                .filter(incident__reference=reference).order_by("-occurred_at", "-id")[:n]]
        return render(request, rows)

    def public(request, n):
        rows = [(s.name, s.slug, s.description, s.is_public)
                for s in Service.objects.select_related("team").filter(is_public=True)[:n]]
        return render(request, rows)

    return incidents, timeline, incident_timeline, public


def _timing_app(django_app):
    """Times each request around the whole Django application (body included) and reports
    the time, the number of queries and their time in response headers."""
    from django.db import connection

    def app(environ, start_response):
        sql = {"count": 0, "seconds": 0.0}

        def measure(execute, sql_text, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql_text, params, many, context)
            finally:
                sql["count"] += 1
                sql["seconds"] += time.perf_counter() - started

        captured = {}

        def keep(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        started = time.perf_counter()
        with connection.execute_wrapper(measure):
            result = django_app(environ, keep)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        elapsed = time.perf_counter() - started
        headers = [*captured["headers"],
                   ("X-Bench-Server-Ms", f"{elapsed * 1000:.3f}"),
                   ("X-Bench-Queries", str(sql["count"])),
                   ("X-Bench-Sql-Ms", f"{sql['seconds'] * 1000:.3f}")]
        start_response(captured["status"], headers)
        return [body]

    return app


application = None
urlpatterns = []
if os.environ.get("BENCH_PAGES_SERVE"):
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = __name__
    from django.urls import path

    from config.urls import urlpatterns as _product

    _incidents, _timeline, _incident_timeline, _public = _floor_views()
    urlpatterns = [
        path("_floor/incidents/<int:n>/", _incidents),
        path("_floor/timeline/<int:n>/", _timeline),
        path("_floor/timeline/<str:reference>/<int:n>/", _incident_timeline),
        path("_floor/public/<int:n>/", _public),
        *_product,
    ]
    from django.core.wsgi import get_wsgi_application

    application = _timing_app(get_wsgi_application())


# --- The data set ----------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", help="default: firebreak_bench_pages_<incidents>")
    parser.add_argument("--rebuild", action="store_true", help="build the data set again")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--only", default="", help="comma-separated page keys to run")
    parser.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--build-only", action="store_true", help="build the data set, stop")
    parser.add_argument("--flood", type=int, default=0, metavar="CLIENTS",
                        help="also hit /status/ with this many concurrent anonymous clients")
    parser.add_argument("--flood-seconds", type=float, default=20)
    return parser.parse_args()


def dataset_size() -> int | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_pages_dataset')")
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute("SELECT incidents FROM bench_pages_dataset WHERE version = %s",
                       [DATASET_VERSION])
        row = cursor.fetchone()
    return row[0] if row else None


def copy_rows(table: str, columns: list[str], rows) -> int:
    """COPY rows into `table` (ten times faster than INSERT for a million timeline rows)."""
    from django.db import connection

    written = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
    return written


def build_dataset(count: int, seed: int) -> None:
    from decimal import Decimal

    from django.contrib.auth.models import Group, User
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone

    from incidents.models import Incident, IncidentType, Service, SeverityLevel, TimelineEntry

    rng = random.Random(seed)
    now = timezone.now()
    start = now - timedelta(days=365)
    severities = list(SeverityLevel.objects.order_by("rank"))
    weights = [2, 8, 40, 50][: len(severities)]
    types = list(IncidentType.objects.all())
    services = Service.objects.bulk_create(
        [Service(name=f"Service {n:02d}", slug=f"service-{n:02d}", is_public=n <= 12,
                 description=f"The service number {n}") for n in range(1, 31)])
    people = User.objects.bulk_create(
        [User(username=f"bench-person-{n:03d}", first_name=f"Person{n:03d}", last_name="Bench")
         for n in range(200)])
    managers = people[:40]
    staff = User.objects.create_user("bench-manager", password=PASSWORD, is_staff=True,
                                     first_name="Bench", last_name="Manager")
    staff.groups.add(*Group.objects.filter(name__in=["Manager", "Incident manager",
                                                     "Product manager"]))
    kinds = [kind for kind, _ in TimelineEntry.Kind.choices]
    open_states = ["reported", "triaged", "investigating", "mitigated"]
    through = Incident.services.through
    batch, number = 5_000, 0
    incident_ids: list[tuple[int, object, bool]] = []
    while number < count:
        rows = []
        for _ in range(min(batch, count - number)):
            number += 1
            severity = rng.choices(severities, weights)[0]
            declared = start + timedelta(seconds=rng.randrange(365 * 86400))
            detected = declared - timedelta(minutes=rng.randrange(0, 120))
            is_open = rng.random() < 0.02 or declared > now - timedelta(hours=6)
            ack = declared + timedelta(minutes=rng.randrange(1, 240))
            resolved = None if is_open else min(ack + timedelta(minutes=rng.randrange(10, 3000)),
                                                now)
            state = (rng.choice(open_states) if is_open
                     else "closed" if resolved < now - timedelta(days=3) and rng.random() < 0.8
                     else "resolved")
            rows.append(Incident(
                reference=f"BENCH-{number:07d}",
                title=f"{rng.choice(COMPONENTS)} {rng.choice(SYMPTOMS)}".capitalize(),
                description="Customers see errors; the on-call engineer is looking into it.",
                severity=severity, reporter=rng.choice(people), state=state,
                incident_type=rng.choice(types),
                incident_manager=rng.choice(managers) if state != "reported" else None,
                detected_at=detected, declared_at=declared,
                acknowledged_at=ack if state != "reported" else None,
                mitigated_at=resolved, resolved_at=resolved,
                closed_at=resolved if state == "closed" else None,
                customers_affected=rng.randrange(0, 5000) if rng.random() < 0.5 else None,
                revenue_impact_per_hour=(Decimal(rng.randrange(10, 5000))
                                         if rng.random() < 0.4 else None),
                is_customer_facing=rng.random() < 0.3,
                is_restricted=rng.random() < 0.01,
            ))
        created = Incident.objects.bulk_create(rows)
        through.objects.bulk_create([
            through(incident_id=incident.pk, service_id=service.pk)
            for incident in created for service in rng.sample(services, rng.choice((1, 1, 2)))])
        incident_ids += [(i.pk, i.declared_at, i.resolved_at, i.severity) for i in created]
        print(f"  {number:,} incidents", end="\r", flush=True)
    print()

    big = Incident.objects.create(
        reference="BENCH-BIG", title="Benchmark incident with a long war room",
        severity=severities[0], reporter=people[0], incident_manager=managers[0],
        state="investigating", declared_at=now - timedelta(days=2),
        detected_at=now - timedelta(days=2), acknowledged_at=now - timedelta(days=2))
    through.objects.create(incident_id=big.pk, service_id=services[0].pk)

    def timeline_rows():
        for pk, declared, resolved, _ in incident_ids:
            end = resolved or now
            span = max((end - declared).total_seconds(), 60)
            for k in range(ENTRIES_PER_INCIDENT):
                at = declared + timedelta(seconds=span * k / ENTRIES_PER_INCIDENT)
                yield (pk, kinds[k % len(kinds)] if k else "declared", at, at,
                       rng.choice(people).pk if k % 3 else None,
                       f"Entry {k} of the war room: checked the dashboards and the logs.",
                       k % 7 == 0, "{}")
        for k in range(BIG_TIMELINE):
            at = big.declared_at + timedelta(minutes=k)
            yield (big.pk, "note", at, at, rng.choice(people).pk,
                   f"Long war room note {k}: " + "still investigating the root cause. " * 3,
                   k % 50 == 0, "{}")

    columns = ["incident_id", "kind", "occurred_at", "created_at", "author_id", "text",
               "is_key_event", "data"]
    written = copy_rows("incidents_timelineentry", columns, timeline_rows())
    print(f"  {written:,} timeline entries")

    def clock_rows():
        for pk, declared, resolved, severity in incident_ids:
            for kind, target in (("response", severity.response_target or timedelta(hours=1)),
                                 ("resolution", severity.resolution_target or timedelta(days=1))):
                due = declared + target
                met = (declared + target / 2) if kind == "response" else resolved
                breached = due if (met is None and due < now) or (met and met > due) else None
                yield (pk, kind, "24x7", target, declared, due, due - target / 5, met, breached)

    columns = ["incident_id", "kind", "clock", "target", "started_at", "due_at", "at_risk_at",
               "met_at", "breached_at"]
    try:
        written = copy_rows("escalation_slaclock", columns, clock_rows())
        print(f"  {written:,} SLA clocks")
        # Their stored outcomes, as the clock services would have written them: the
        # migration's batched fill from the clocks.
        from importlib import import_module
        from types import SimpleNamespace

        from django.apps import apps

        fill = import_module("escalation.migrations.0017_sla_outcome_fill").fill
        fill(apps, SimpleNamespace(connection=connection))
    except Exception as exc:  # noqa: BLE001 - the clock table's shape is another area's
        print(f"  SLA clocks skipped: {exc}")

    incident_type = ContentType.objects.get_for_model(Incident).pk

    def deadline_rows():
        for pk, declared, resolved, _ in incident_ids:
            for k in range(DEADLINES_PER_INCIDENT):
                due = declared + timedelta(hours=k + 1)
                fired = due if due < now else None
                cancelled = resolved if fired is None and resolved else None
                yield (f"bench.step{k}", f"bench:{k}", pk, incident_type, pk, due, fired,
                       cancelled, "{}", 0, "", declared)

    columns = ["kind", "key", "incident_id", "content_type_id", "object_id", "due_at",
               "fired_at", "cancelled_at", "payload", "attempts", "last_error", "created_at"]
    try:
        with transaction.atomic():
            written = copy_rows("escalation_deadline", columns, deadline_rows())
        print(f"  {written:,} deadlines")
    except Exception as exc:  # noqa: BLE001
        print(f"  deadlines skipped: {exc}")

    # Published updates for what the status page shows: the open and the recently resolved.
    from incidents.models import StatusUpdate

    recent = Incident.objects.filter(resolved_at__gte=now - timedelta(days=7))
    shown = list(Incident.objects.filter(state__in=open_states, is_restricted=False)[:40]) \
        + list(recent[:60])
    StatusUpdate.objects.bulk_create(
        StatusUpdate(incident=incident, audience_id="customer", stage="update",
                     subject=f"We are looking into {incident.title.split(':')[-1].strip()}",
                     body="Some customers may see errors. Next update within the hour.",
                     sent_by=staff, sent_at=incident.declared_at + timedelta(minutes=30),
                     is_public=True)
        for incident in shown)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_pages_dataset "
                       "(version int, incidents int, built_at timestamptz)")
        cursor.execute("DELETE FROM bench_pages_dataset")
        cursor.execute("INSERT INTO bench_pages_dataset VALUES (%s, %s, now())",
                       [DATASET_VERSION, count])
    connection.close()
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as raw:
        raw.execute("VACUUM ANALYZE")


def prepare(args) -> None:
    """Runs in this process: the data set, then the session cookie and the page URLs."""
    os.environ.update(django_environment(args.server, args.database))
    ensure_database(args.server, args.database)
    import django

    django.setup()
    from django.core.management import call_command

    size = None
    if not args.rebuild:
        try:
            size = dataset_size()
        except Exception:  # noqa: BLE001 - an empty database
            size = None
    if size != args.incidents:
        from django.db import connections

        connections.close_all()
        print(f"Building a data set of {args.incidents:,} incidents in {args.database} ...")
        recreate_database(args.server, args.database)
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        build_dataset(args.incidents, args.seed)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    else:
        call_command("migrate", verbosity=0)  # the branch's own indexes, if it adds any
        print(f"Reusing the data set of {size:,} incidents in {args.database}.")


def pages() -> list[dict]:
    """(key, label, product path, floor path, logged in) for each page in the issue's table."""
    from django.conf import settings
    from django.utils import timezone

    from incidents.admin import IncidentAdmin
    from incidents.models import Incident

    big = Incident.objects.get(reference="BENCH-BIG")
    # The list pages by keyset: the oldest page is the one "Older" from its newest incident.
    oldest = list(Incident.objects.order_by("declared_at", "pk")
                  .values_list("pk", flat=True)[: settings.INCIDENTS_PAGE_SIZE + 1])
    today = timezone.localdate()
    year = f"date_from={today - timedelta(days=365)}&date_to={today}"
    size = settings.INCIDENTS_PAGE_SIZE
    return [
        {"key": "list", "label": "incident list, page 1", "path": "/incidents/",
         "floor": f"/_floor/incidents/{size}/"},
        {"key": "list-last", "label": "incident list, last page",
         "path": f"/incidents/?before={oldest[-1]}", "floor": f"/_floor/incidents/{size}/"},
        {"key": "list-search", "label": "incident list, search",
         "path": "/incidents/?q=payment", "floor": f"/_floor/incidents/{size}/"},
        {"key": "dashboard", "label": "staff dashboard", "path": "/",
         "floor": f"/_floor/incidents/{size}/"},
        {"key": "reports", "label": "reports, default 30 days", "path": "/reports/",
         "floor": f"/_floor/incidents/{size}/"},
        {"key": "reports-year", "label": "reports, full year", "path": f"/reports/?{year}",
         "floor": f"/_floor/incidents/{size}/"},
        {"key": "admin-incidents", "label": "admin incident changelist",
         "path": "/admin/incidents/incident/",
         "floor": f"/_floor/incidents/{IncidentAdmin.list_per_page}/"},
        {"key": "admin-timeline", "label": "admin timeline changelist",
         "path": "/admin/incidents/timelineentry/", "floor": "/_floor/timeline/100/"},
        {"key": "admin-big", "label": f"admin incident change page, {BIG_TIMELINE:,} entries",
         "path": f"/admin/incidents/incident/{big.pk}/change/",
         "floor": "/_floor/timeline/BENCH-BIG/50/"},
        {"key": "incident-big", "label": f"incident page, {BIG_TIMELINE:,} entries",
         "path": f"/incidents/{big.reference}/", "floor": "/_floor/timeline/BENCH-BIG/50/"},
        {"key": "status", "label": "public /status/ (anonymous)", "path": "/status/",
         "floor": "/_floor/public/12/", "anonymous": True},
    ]


def session_cookie() -> str:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username="bench-manager"))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


# --- Serving and measuring -------------------------------------------------------------------


def start_gunicorn(args) -> tuple[subprocess.Popen, int]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # a free port, handed to gunicorn as an open socket
    listener.listen(128)
    port = listener.getsockname()[1]
    env = {**os.environ, **django_environment(args.server, args.database),
           "BENCH_PAGES_SERVE": "1", "PYTHONPATH": f"{ROOT}:{ROOT / 'scripts'}"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "bench_pages:application", "--bind", f"fd://{listener.fileno()}",
         "--workers", str(args.workers), "--worker-class", "sync", "--timeout", "120",
         "--log-level", "warning", "--chdir", str(ROOT)],
        env=env, pass_fds=[listener.fileno()], start_new_session=True)
    listener.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            fetch(port, "/_floor/public/1/", "")
            return process, port
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("gunicorn did not answer within a minute")


def fetch(port: int, path: str, cookie: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Host": "127.0.0.1"}
    if cookie:
        headers["Cookie"] = cookie
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    wall = time.perf_counter() - started
    connection.close()
    return {"status": response.status, "bytes": len(body), "wall_ms": wall * 1000,
            "server_ms": float(response.getheader("X-Bench-Server-Ms") or "nan"),
            "queries": int(response.getheader("X-Bench-Queries") or -1),
            "sql_ms": float(response.getheader("X-Bench-Sql-Ms") or "nan")}


def flood(port: int, clients: int, seconds: float) -> dict:
    """`clients` threads requesting /status/ back to back for `seconds`, as visitors do
    during an outage: throughput and the time each visitor waited (queueing included)."""
    import threading

    walls: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def visitor():
        while time.monotonic() < stop:
            try:
                result = fetch(port, "/status/", "")
                ok = result["status"] == 200
            except OSError:
                ok, result = False, None
            with lock:
                if ok:
                    walls.append(result["wall_ms"])
                else:
                    errors[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=visitor, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(walls),
            "requests_per_second": round(len(walls) / elapsed, 1),
            "wall_p50_ms": round(statistics.median(walls), 1) if walls else None,
            "wall_p95_ms": round(percentile(walls, 0.95), 1) if walls else None,
            "errors": errors[0]}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def measure(args, port: int, cookie: str, table: list[dict]) -> list[dict]:
    rng = random.Random(args.seed)
    jobs = []
    for page in table:
        for target in ("product", "floor", "chrome"):
            jobs += [(page, target)] * (args.warmup + args.requests)
    rng.shuffle(jobs)
    seen: dict[tuple[str, str], int] = {}
    samples: dict[tuple[str, str], list[dict]] = {}
    for done, (page, target) in enumerate(jobs, 1):
        path = {"product": page["path"], "floor": page["floor"],
                "chrome": f"{page['floor']}?chrome"}[target]
        result = fetch(port, path, "" if page.get("anonymous") else cookie)
        if result["status"] != 200:
            raise SystemExit(f"{path} answered {result['status']}")
        key = (page["key"], target)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > args.warmup:  # the first requests of each warm its worker's caches
            samples.setdefault(key, []).append(result)
        if done % 50 == 0 or done == len(jobs):
            print(f"  {done}/{len(jobs)} requests", end="\r", flush=True)
    print()
    rows = []
    for page in table:
        product, floor = samples[(page["key"], "product")], samples[(page["key"], "floor")]
        server = [s["server_ms"] for s in product]
        floor_server = [s["server_ms"] for s in floor]
        row = {
            "key": page["key"], "page": page["label"], "path": page["path"],
            "p50_ms": round(statistics.median(server), 1),
            "p95_ms": round(percentile(server, 0.95), 1),
            "queries": max(s["queries"] for s in product),
            "sql_ms": round(statistics.median(s["sql_ms"] for s in product), 1),
            "bytes": max(s["bytes"] for s in product),
            "floor_p50_ms": round(statistics.median(floor_server), 1),
            "floor_p95_ms": round(percentile(floor_server, 0.95), 1),
        }
        row["ratio_p50"] = round(row["p50_ms"] / row["floor_p50_ms"], 1)
        row["ratio_p95"] = round(row["p95_ms"] / row["floor_p95_ms"], 1)
        chrome = [s["server_ms"] for s in samples[(page["key"], "chrome")]]
        row["chrome_p95_ms"] = round(percentile(chrome, 0.95), 1)
        row["ratio_chrome_p95"] = round(row["p95_ms"] / row["chrome_p95_ms"], 1)
        rows.append(row)
    return rows


def print_table(rows: list[dict], incidents: int) -> None:
    print(f"\n{incidents:,} incidents; server time per request (ms), product / floor "
          "(and / the same rows in the portal's own page, 'chrome'):\n")
    print("| page | p50 | p95 | queries | SQL ms | KB | floor p50 | floor p95 | ratio p50 "
          "| ratio p95 | chrome p95 | p95 / chrome p95 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['page']} | {r['p50_ms']} | {r['p95_ms']} | {r['queries']} | {r['sql_ms']} "
              f"| {r['bytes'] / 1024:.0f} | {r['floor_p50_ms']} | {r['floor_p95_ms']} "
              f"| {r['ratio_p50']}x | {r['ratio_p95']}x | {r['chrome_p95_ms']} "
              f"| {r['ratio_chrome_p95']}x |")


def main() -> None:
    args = parse_args()
    args.database = args.database or f"firebreak_bench_pages_{args.incidents}"
    prepare(args)
    if args.build_only:
        return
    table = pages()
    if args.only:
        wanted = set(args.only.split(","))
        table = [page for page in table if page["key"] in wanted]
    cookie = session_cookie()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incidents_timelineentry")
        entries = cursor.fetchone()[0]
    from django.db import connections

    connections.close_all()
    process, port = start_gunicorn(args)
    try:
        print(f"Serving on 127.0.0.1:{port} with {args.workers} gunicorn workers; "
              f"{len(table)} pages x (product, floor, chrome) x {args.warmup}+{args.requests} "
              "requests")
        rows = measure(args, port, cookie, table)
        flood_result = flood(port, args.flood, args.flood_seconds) if args.flood else None
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    print_table(rows, args.incidents)
    if flood_result:
        print(f"\n/status/ under {flood_result['clients']} concurrent anonymous clients for "
              f"{flood_result['seconds']:.0f} s: {flood_result['requests_per_second']:.0f} "
              f"requests/s, wall p50 {flood_result['wall_p50_ms']} ms, p95 "
              f"{flood_result['wall_p95_ms']} ms, {flood_result['errors']} errors")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "incidents": args.incidents, "timeline_entries": entries,
            "requests_per_page": args.requests, "workers": args.workers, "pages": rows,
            "status_flood": flood_result,
        }, indent=2) + "\n")
        print(f"\nWrote {args.json}")


if __name__ == "__main__":
    main()
