"""Benchmark alert intake over HTTP on PostgreSQL: sustained alerts per second, latency per
request (p50/p95/p99), and exact dedup counts afterwards.

It creates a throwaway database (dropped at the end unless --keep), migrates it, creates an
Alertmanager integration, starts gunicorn on 127.0.0.1:--port with --workers sync workers, and
drives it for --seconds with --clients concurrent senders. Each request is one Alertmanager v4
payload with --batch alerts (default one), each a new alert (--new share), a resolve of a known
one (--resolve share) or a repeat of a known one (the rest); --preload distinct alerts are
fired first (untimed) so repeats spread over a realistic set. New alerts open an incident each
(as a person would see them: declared, SLA clocks started, timeline written). Afterwards every
alert's count must equal the events sent for it, and there must be exactly one incident per
distinct alert.

    .venv/bin/python scripts/bench_intake.py --seconds 30
    .venv/bin/python scripts/bench_intake.py --seconds 30 --batch 20   # Alertmanager-like groups
    .venv/bin/python scripts/bench_intake.py --workers 6 --clients 24 --new 0.1 --resolve 0.1

Needs PostgreSQL at --server (default postgres://postgres@127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=16, help="concurrent senders")
    parser.add_argument("--new", type=float, default=0.05, help="share of new alerts")
    parser.add_argument("--resolve", type=float, default=0.10, help="share of resolves")
    parser.add_argument("--preload", type=int, default=500,
                        help="distinct alerts fired (untimed) before the run: the known set "
                             "repeats and resolves pick from, as in a monitored estate")
    parser.add_argument("--batch", type=int, default=1,
                        help="alerts per request (Alertmanager posts a group's alerts at once)")
    parser.add_argument("--port", type=int, default=8152)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="firebreak_bench_intake")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def recreate_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(args, var_dir: str) -> dict:
    return {**os.environ, "DATABASE_URL": f"{args.server}/{args.database}", "DEBUG": "false",
            "DJANGO_SETTINGS_MODULE": "config.settings.base", "FIREBREAK_VAR_DIR": var_dir,
            "ALLOWED_HOSTS": "127.0.0.1", "DATABASE_CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING"}


def payload(events: list[tuple[str, str]]) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    alerts = [{"status": status, "fingerprint": identity,
               "labels": {"alertname": f"Bench {identity}", "service": "bench",
                          "instance": identity},
               "annotations": {"summary": f"Benchmark alert {identity}"},
               "startsAt": now,
               "endsAt": now if status == "resolved" else "0001-01-01T00:00:00Z",
               "generatorURL": "http://prometheus.internal:9090/graph"}
              for identity, status in events]
    status = "firing" if any(s == "firing" for _, s in events) else "resolved"
    return json.dumps({"version": "4", "status": status, "groupKey": "", "receiver": "bench",
                       "alerts": alerts}).encode()


class Load:
    """Senders share the set of known alerts; every request sent is counted per identity."""

    def __init__(self, args, path: str, secret: str):
        self.args, self.path, self.secret = args, path, secret
        self.lock = threading.Lock()
        self.known: list[str] = []
        self.sent = Counter()
        self.latencies: list[float] = []
        self.statuses = Counter()
        self.next_id = 0

    def pick(self, rng: random.Random) -> tuple[str, str]:
        with self.lock:
            roll = rng.random()
            if not self.known or roll < self.args.new:
                self.next_id += 1
                identity = f"bench-{self.next_id:07d}"
                self.known.append(identity)
                return identity, "firing"
            identity = rng.choice(self.known)
            return identity, "resolved" if roll < self.args.new + self.args.resolve else "firing"

    def run(self, seed: int, until: float) -> None:
        rng = random.Random(seed)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.secret}"}
        while time.monotonic() < until:
            events = [self.pick(rng) for _ in range(self.args.batch)]
            body = payload(events)
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=30)
            try:
                connection.request("POST", self.path, body, headers)
                response = connection.getresponse()
                response.read()
                code = response.status
            except OSError:
                code = 0
            finally:
                connection.close()
            elapsed = time.perf_counter() - started
            with self.lock:
                self.statuses[code] += 1
                self.latencies.append(elapsed)
                if code == 200:
                    for identity, _ in events:
                        self.sent[identity] += 1


def preload(args, load: Load, path: str, secret: str) -> None:
    """Fire --preload distinct alerts in batches of 50 (not timed, not in the figures)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
    for start in range(0, args.preload, 50):
        events = []
        for _ in range(min(50, args.preload - start)):
            load.next_id += 1
            identity = f"bench-{load.next_id:07d}"
            load.known.append(identity)
            events.append((identity, "firing"))
        connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=300)
        connection.request("POST", path, payload(events), headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise SystemExit(f"preload refused: {response.status}")
        for identity, _ in events:
            load.sent[identity] += 1


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(master: int, args) -> tuple[list[int], list[int]]:
    """gunicorn's workers and the PostgreSQL backends serving the benchmark database."""
    import psycopg

    workers = [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as connection:
        backends = [row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [args.database])]
    return workers, backends


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def main() -> int:
    args = parse_args()
    var_dir = tempfile.mkdtemp(prefix="firebreak-bench-intake-")
    env = environment(args, var_dir)
    python = sys.executable
    gunicorn = str(Path(python).with_name("gunicorn"))
    recreate_database(args.server, args.database)
    server = None
    try:
        subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                       env=env, check=True)
        created = subprocess.run(
            [python, "manage.py", "integration", "create", "alertmanager", "Bench"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
        secret = created.split("Secret:", 1)[1].split()[0]
        endpoint = created.split("Endpoint:", 1)[1].split()[0]
        path = "/" + endpoint.split("://", 1)[1].split("/", 1)[1]
        subprocess.run([python, "manage.py", "shell", "-c",
                        "from incidents.intake.models import Integration; "
                        "Integration.objects.update(rate_limit_per_minute=10_000_000)"],
                       cwd=ROOT, env=env, check=True)
        server = subprocess.Popen(
            [gunicorn, "config.wsgi", "--workers", str(args.workers), "--bind",
             f"127.0.0.1:{args.port}", "--log-level", "warning", "--backlog", "2048",
             "--timeout", "120"],
            cwd=ROOT, env=env, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:  # until gunicorn answers
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).connect()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)

        # Warm up: gunicorn's socket answers before its workers have loaded Django.
        for _ in range(args.workers * 2):
            warm = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
            warm.request("GET", path)
            warm.getresponse().read()
            warm.close()
        load = Load(args, path, secret)
        preload(args, load, path, secret)
        load_before = os.getloadavg()
        workers, backends = server_pids(server.pid, args)
        cpu_before = cpu_seconds(workers), cpu_seconds(backends)
        started = time.monotonic()
        until = started + args.seconds
        threads = [threading.Thread(target=load.run, args=(seed, until))
                   for seed in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()
        workers_after, backends_after = server_pids(server.pid, args)
        # Backends opened during the run count from zero; ones that closed are lost (rare:
        # connections are kept for 600 s).
        web_cpu = cpu_seconds(workers_after) - cpu_before[0]
        db_cpu = cpu_seconds(backends_after) - cpu_before[1] * (set(backends) <= set(backends_after))

        ok = load.statuses[200] * args.batch
        print(f"{args.workers} gunicorn workers, {args.clients} senders, {args.batch} alerts "
              f"per request, {elapsed:.1f} s, "
              f"mix: {args.new:.0%} new / {args.resolve:.0%} resolve / "
              f"{1 - args.new - args.resolve:.0%} repeat")
        print(f"requests: {sum(load.statuses.values())}  by status: {dict(load.statuses)}")
        print(f"sustained: {ok / elapsed:.0f} alerts/s, {load.statuses[200] / elapsed:.0f} "
              "requests/s")
        print("latency per request: p50 {:.1f} ms, p95 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms"
              .format(*(1000 * percentile(load.latencies, q) for q in (0.5, 0.95, 0.99)),
                      1000 * max(load.latencies)))
        print(f"load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f}")
        if ok:
            per_alert = (web_cpu + db_cpu) / ok
            print(f"CPU per alert: {1000 * web_cpu / ok:.2f} ms gunicorn + "
                  f"{1000 * db_cpu / ok:.2f} ms PostgreSQL = {1000 * per_alert:.2f} ms, "
                  f"i.e. {2 / per_alert:.0f} alerts/s if both cores were ours")
        return check_counts(env, load)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if not args.keep:
            drop_database(args.server, args.database)
        shutil.rmtree(var_dir, ignore_errors=True)


def check_counts(env: dict, load: Load) -> int:
    """Exact dedup: each alert's count equals the 200-answered requests for it, and each
    distinct alert has exactly one incident."""
    os.environ.update({key: env[key] for key in ("DATABASE_URL", "DEBUG",
                                                 "DJANGO_SETTINGS_MODULE", "FIREBREAK_VAR_DIR")})
    import django

    django.setup()
    from incidents.intake.models import Alert
    from incidents.models import Incident

    counts = dict(Alert.objects.values_list("identity", "count"))
    wrong = {i: (counts.get(i), n) for i, n in load.sent.items() if counts.get(i) != n}
    incidents = Incident.objects.count()
    with_incident = Alert.objects.filter(incident__isnull=False).count()
    print(f"alerts: {len(counts)} rows for {len(load.sent)} identities sent; "
          f"counts wrong: {len(wrong)}; incidents: {incidents} "
          f"(alerts with an incident: {with_incident})")
    if wrong:
        print("first mismatches (stored, sent):", list(wrong.items())[:5])
    # A resolve can be a known alert's first event only if its first request failed.
    exact = not wrong and len(counts) == len(load.sent) and incidents == with_incident
    print("dedup exact" if exact else "DEDUP NOT EXACT")
    return 0 if exact and not set(load.statuses) - {200} else 1


if __name__ == "__main__":
    raise SystemExit(main())
