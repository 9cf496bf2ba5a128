"""The capacity figure: what one machine serves under a bounded mixed load.

`bench/run.py` calls `measure_capacity` at the end of a run (`--capacity`, on by default for
every size but S), on the run database it measured in, after its own gunicorn has stopped:

- 8 client processes (processes, not threads: 8 clients in one interpreter on 2 cores would
  measure the GIL), each with its own seeded RNG and its own keep-alive `http.client`
  connection (gunicorn's sync workers close it after each answer, so it reconnects as a
  proxy without upstream pooling would), send requests back to back for 60 s;
- the mix (MIX): 80% reads of lists and pages, 15% backlog moves, 5% writes. Each client
  owns its objects (a backlog, a product, a metric), so two clients never write the same row
  and no write should meet a 412; a product edit sends the ETag it read and, on a 412,
  re-reads and sends again (412s are counted apart, not as errors);
- two configurations: gunicorn as in production (gunicorn.conf.py, 2 workers, no worker for
  the background jobs), then 4 web workers and a Celery worker with 2 processes on the
  default queue, with a webhook endpoint subscribed to every event (a local receiver), so
  the events the writes and moves record are fanned out and delivered while the load runs;
- per configuration: requests/s, p50/p95/p99 latency, errors (any answer but 2xx and 412,
  or a broken connection), 412s, and CPU time per request: gunicorn (master and workers),
  the Celery worker (master and children), the PostgreSQL backends serving the run
  database, and the clients, each read from /proc/<pid>/stat before and after.

Pure parts (the mix's draw, the percentiles, the /proc parsing) are tested in
tests/docs/test_bench_capacity.py. Nothing here imports Django at module level: the runner
imports this module before it sets Django up.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import http.client
import json
import math
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2

from bench.worker import CeleryWorker

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
SECONDS = 60.0
WARMUP_SECONDS = 8.0
READINGS_PER_BATCH = 5
SOURCE = "capacity"
# The two configurations: (web workers, Celery worker processes).
CONFIGURATIONS = ((2, 0), (4, 2))

# What a client sends, with weights in percent: 80 reads, 15 moves, 5 writes.
MIX: tuple[tuple[str, int], ...] = (
    ("api_products", 14),  # GET /api/v1/products/?stage=...&ordering=name&page_size=100
    ("page_products", 14),  # GET /products/?stage=... (HTML, status badges)
    ("page_product", 12),  # GET /products/<slug>/ (HTML detail)
    ("page_backlog", 10),  # GET /units/<own unit>/backlog/ (HTML, first 100 items)
    ("api_backlog", 8),  # GET /api/v1/backlog-items/?unit=<own>&status=ready&page_size=100
    ("page_dashboard", 8),  # GET /dashboard/
    ("api_readings", 8),  # GET /api/v1/metric-readings/?page_size=100
    ("api_events", 6),  # GET /api/v1/events/?page_size=100
    ("backlog_move", 15),  # POST /api/v1/backlog-items/<own item>/move/ {"position": n}
    ("product_patch", 2),  # PATCH /api/v1/products/<own>/ with If-Match
    ("readings_bulk", 2),  # POST /api/v1/metric-readings/bulk/, 5 readings of its own metric
    ("backlog_create", 1),  # POST /api/v1/backlog-items/ in its own backlog
)
MOVES = frozenset({"backlog_move"})
WRITES = frozenset({"product_patch", "readings_bulk", "backlog_create"})
READS = frozenset(name for name, _ in MIX) - MOVES - WRITES
STAGES = ("maturity", "growth")


def log(message: str) -> None:
    print(f"[capacity {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- Pure parts -----------------------------------------------------------------------------


class Mix:
    """A weighted draw over request kinds from the client's own seeded RNG."""

    def __init__(self, mix: tuple[tuple[str, int], ...] = MIX):
        self.names = [name for name, _ in mix]
        self.cumulative: list[int] = []
        total = 0
        for _, weight in mix:
            if weight <= 0:
                raise ValueError("every weight of the mix must be positive")
            total += weight
            self.cumulative.append(total)
        self.total = total

    def choose(self, rng: random.Random) -> str:
        return self.names[bisect.bisect_right(self.cumulative, rng.random() * self.total)]

    def shares(self) -> dict[str, float]:
        """Reads, moves and writes as fractions of the whole."""
        weight = dict(zip(self.names, self.cumulative, strict=True))
        previous = 0
        per_kind = {}
        for name in self.names:
            per_kind[name] = weight[name] - previous
            previous = weight[name]
        return {
            group: sum(per_kind[n] for n in members if n in per_kind) / self.total
            for group, members in (("reads", READS), ("moves", MOVES), ("writes", WRITES))
        }


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (the smallest value with at least q% of them at or below
    it), as bench/run.py's p95; None for no values."""
    if not values:
        return None
    if not 0 < q <= 100:
        raise ValueError("q must be in (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclasses.dataclass(frozen=True)
class ProcStat:
    """The CPU fields of /proc/<pid>/stat, in clock ticks."""

    ppid: int
    utime: int
    stime: int
    cutime: int  # of children this process has waited for (e.g. recycled gunicorn workers)
    cstime: int

    @property
    def own(self) -> int:
        return self.utime + self.stime

    @property
    def with_children(self) -> int:
        return self.own + self.cutime + self.cstime


def parse_stat(text: str) -> ProcStat:
    """Fields 4 and 14-17 of a /proc/<pid>/stat line. The command name (field 2) sits in
    parentheses and may itself hold spaces and parentheses, so split after the last ')'."""
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    return ProcStat(
        ppid=int(rest[1]),
        utime=int(rest[11]),
        stime=int(rest[12]),
        cutime=int(rest[13]),
        cstime=int(rest[14]),
    )


def read_stat(pid: int, proc: Path = Path("/proc")) -> ProcStat | None:
    try:
        return parse_stat((proc / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None  # gone meanwhile


def tree_ticks(root: int, proc: Path = Path("/proc")) -> int:
    """CPU ticks of a process and its children: the root's own and waited-for children's
    time, plus what each live child has used so far. A child that exits (a gunicorn worker
    recycled after max_requests) moves its time from the second sum to the first once the
    root reaps it, so a before/after difference keeps it."""
    root_stat = read_stat(root, proc)
    if root_stat is None:
        return 0
    total = root_stat.with_children
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == root:
            continue
        stat = read_stat(int(entry.name), proc)
        if stat is not None and stat.ppid == root:
            total += stat.with_children
    return total


def ticks_ms(ticks: int) -> float:
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


class BackendSampler:
    """CPU of the PostgreSQL backends connected to one database, sampled every `every`
    seconds on a thread: for each backend, its time at the last sample minus its time when
    first seen (0 for one that started during the window). A backend that ends between two
    samples loses what it used since the last one; the persistent connections
    (CONN_MAX_AGE) make that rare: only a recycled gunicorn worker's backend ends."""

    def __init__(self, url: str, database: str, every: float = 0.5):
        self.conn = psycopg2.connect(url)
        self.conn.autocommit = True
        self.database = database
        self.every = every
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.started = False

    def sample(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            )
            pids = [row[0] for row in cur.fetchall()]
        for pid in pids:
            stat = read_stat(pid)
            if stat is None:
                continue
            self.first.setdefault(pid, stat.own if not self.started else 0)
            self.last[pid] = stat.own

    def _loop(self) -> None:
        while not self.stop_event.wait(self.every):
            self.sample()

    def start(self) -> None:
        self.sample()  # the baseline of every backend already there
        self.started = True
        self.thread.start()

    def stop(self) -> int:
        self.stop_event.set()
        self.thread.join()
        self.sample()
        self.conn.close()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


# --- The clients (each in a process of its own) ---------------------------------------------


@dataclasses.dataclass
class Plan:
    """What one client reads and owns."""

    index: int
    seed: str
    port: int
    token: str
    cookie: str
    detail_slugs: list[str]
    unit: int  # its backlog
    unit_size: int
    move_items: list[int]  # items of its backlog on a live component
    component: int  # the product its new items go to
    product: int  # the product it edits
    metric: str  # product-slug/metric-key, its readings
    reading_start: str  # ISO time of its first reading; one second apart after that


class LoadClient:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.conn = http.client.HTTPConnection("127.0.0.1", plan.port, timeout=120)
        self.api_headers = {
            "Authorization": f"Token {plan.token}",
            "Accept": "application/json",
            "X-Forwarded-Proto": "https",
        }
        self.json_headers = {**self.api_headers, "Content-Type": "application/json"}
        self.page_headers = {
            "Cookie": plan.cookie,
            "Accept": "text/html",
            "X-Forwarded-Proto": "https",
        }
        self.etag: str | None = None
        self.readings = 0
        self.created = 0
        self.samples: list[tuple[str, int, float]] = []  # (kind, status, seconds)
        self.error_bodies: list[str] = []

    def send(
        self, kind: str, method: str, path: str, headers: dict, body: Any = None
    ) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            status, payload = 0, repr(exc).encode()
        self.samples.append((kind, status, time.perf_counter() - started))
        if not (200 <= status < 300 or status == 412) and len(self.error_bodies) < 5:
            self.error_bodies.append(f"{kind} {method} {path} -> {status}: {payload[:300]!r}")
        return status, payload

    def read_product(self) -> None:
        status, body = self.send(
            "product_read", "GET", f"/api/v1/products/{self.plan.product}/", self.api_headers
        )
        if status == 200:
            self.etag = f'W/"{json.loads(body)["version"]}"'

    # One method per kind of MIX.

    def api_products(self) -> None:
        stage = self.rng.choice(STAGES)
        path = f"/api/v1/products/?stage={stage}&ordering=name&page_size=100"
        self.send("api_products", "GET", path, self.api_headers)

    def page_products(self) -> None:
        path = f"/products/?stage={self.rng.choice(STAGES)}"
        self.send("page_products", "GET", path, self.page_headers)

    def page_product(self) -> None:
        path = f"/products/{self.rng.choice(self.plan.detail_slugs)}/"
        self.send("page_product", "GET", path, self.page_headers)

    def page_backlog(self) -> None:
        self.send("page_backlog", "GET", f"/units/{self.plan.unit}/backlog/", self.page_headers)

    def api_backlog(self) -> None:
        path = f"/api/v1/backlog-items/?unit={self.plan.unit}&status=ready&page_size=100"
        self.send("api_backlog", "GET", path, self.api_headers)

    def page_dashboard(self) -> None:
        self.send("page_dashboard", "GET", "/dashboard/", self.page_headers)

    def api_readings(self) -> None:
        self.send("api_readings", "GET", "/api/v1/metric-readings/?page_size=100", self.api_headers)

    def api_events(self) -> None:
        self.send("api_events", "GET", "/api/v1/events/?page_size=100", self.api_headers)

    def backlog_move(self) -> None:
        item = self.rng.choice(self.plan.move_items)
        body = {"position": self.rng.randrange(self.plan.unit_size)}
        path = f"/api/v1/backlog-items/{item}/move/"
        self.send("backlog_move", "POST", path, self.json_headers, body)

    def product_patch(self) -> None:
        path = f"/api/v1/products/{self.plan.product}/"
        for _ in range(3):
            if self.etag is None:
                self.read_product()
            headers = {**self.json_headers, "If-Match": self.etag or "*"}
            edit = f"Capacity run, client {self.plan.index}, edit {self.rng.random()}"
            body = {"description": edit}
            status, payload = self.send("product_patch", "PATCH", path, headers, body)
            if status == 200:
                self.etag = f'W/"{json.loads(payload)["version"]}"'
                return
            self.etag = None
            if status != 412:
                return  # counted as an error

    def readings_bulk(self) -> None:
        start = dt.datetime.fromisoformat(self.plan.reading_start)
        readings = []
        for _ in range(READINGS_PER_BATCH):
            at = start + dt.timedelta(seconds=self.readings)
            self.readings += 1
            value = round(self.rng.uniform(90, 100), 2)
            readings.append(
                {"metric": self.plan.metric, "time": at.isoformat(), "value": value,
                 "source": SOURCE}
            )  # fmt: skip
        self.send(
            "readings_bulk", "POST", "/api/v1/metric-readings/bulk/", self.json_headers,
            {"readings": readings},
        )  # fmt: skip

    def backlog_create(self) -> None:
        self.created += 1
        body = {
            "product": self.plan.component,
            "title": f"Capacity run item {self.plan.index}-{self.created}",
            "position": "bottom",
        }
        self.send("backlog_create", "POST", "/api/v1/backlog-items/", self.json_headers, body)


def client_main(plan: Plan, seconds: float, ready, go, out) -> None:
    """One client process: get ready (read its product's ETag), wait for the start, send for
    `seconds`, report its samples and its own CPU time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the run
    client = LoadClient(plan)
    client.read_product()
    client.samples.clear()
    mix = Mix()
    ready.put(plan.index)
    go.wait()
    cpu = time.process_time()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        getattr(client, mix.choose(client.rng))()
    out.put(
        {
            "index": plan.index,
            "samples": client.samples,
            "cpu_seconds": time.process_time() - cpu,
            "error_bodies": client.error_bodies,
        }
    )


# --- One configuration ----------------------------------------------------------------------


def summarize(samples: list[tuple[str, int, float]], wall: float) -> dict[str, Any]:
    """Throughput, latency percentiles and error counts of a window's samples."""

    def stats(rows: list[tuple[str, int, float]]) -> dict[str, Any]:
        ms = [s * 1000 for _, _, s in rows]
        return {
            "requests": len(rows),
            "p50_ms": _round(percentile(ms, 50)),
            "p95_ms": _round(percentile(ms, 95)),
            "p99_ms": _round(percentile(ms, 99)),
            "errors": sum(1 for _, status, _ in rows if not ok(status) and status != 412),
            "precondition_failed": sum(1 for _, status, _ in rows if status == 412),
        }

    out = stats(samples)
    out["seconds"] = round(wall, 2)
    out["requests_per_second"] = round(len(samples) / wall, 1) if wall > 0 else None
    groups = {"reads": READS, "moves": MOVES, "writes": WRITES | {"product_read"}}
    out["groups"] = {g: stats([r for r in samples if r[0] in kinds]) for g, kinds in groups.items()}
    kinds = sorted({kind for kind, _, _ in samples}, key=_kind_order)
    out["kinds"] = {k: stats([r for r in samples if r[0] == k]) for k in kinds}
    return out


def ok(status: int) -> bool:
    return 200 <= status < 300


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _kind_order(kind: str) -> int:
    names = [name for name, _ in MIX] + ["product_read"]
    return names.index(kind) if kind in names else len(names)


def run_clients(plans: list[Plan], seconds: float, measure: Callable[[], Any] | None = None):
    """Start one process per plan, wait until all are ready, call `measure()` (the "before"
    snapshot), let them go, collect their reports. Returns (reports, wall seconds, before)."""
    ctx = multiprocessing.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=client_main, args=(plan, seconds, ready, go, out), daemon=True)
        for plan in plans
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    before = measure() if measure else None
    started = time.perf_counter()
    go.set()
    reports = [out.get(timeout=seconds + 300) for _ in procs]
    wall = time.perf_counter() - started
    for proc in procs:
        proc.join(timeout=30)
    return reports, wall, before


def capacity_worker(env: dict[str, str], concurrency: int, log_path: Path) -> CeleryWorker:
    """`celery -A portfolio worker` on the default queue with `concurrency` prefork
    processes, as the compose file's `worker` service runs it."""
    options = [
        f"--concurrency={concurrency}", "-n", "capacity@%h",
        "--without-gossip", "--without-mingle", "--loglevel=INFO",
    ]  # fmt: skip
    return CeleryWorker(env, options, log_path, "capacity")


RECEIVER = r"""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_port, flush=True)
s.serve_forever()
"""


def purge_broker(redis_url: str) -> None:
    """Drop what earlier configurations queued with no worker to take it (their webhook
    nudges), so the worker's CPU is this configuration's. It empties the default queue of
    that Redis database: the bench needs one of its own (docs/performance.md says so)."""
    import redis  # the broker's client; Celery depends on it

    client = redis.Redis.from_url(redis_url)
    client.delete("celery")
    client.close()


def subscribe_endpoint(db, port: int) -> int:
    """One active endpoint for every event, starting at the feed's current end, with the
    fan-out cursor moved there: the worker sends what this configuration records."""
    from webhooks.models import Endpoint, FanOutCursor

    with db.cursor() as cur:
        cur.execute("SELECT coalesce(max(position), 0) FROM portfolio_event")
        start = cur.fetchone()[0]
    FanOutCursor.objects.update_or_create(pk=1, defaults={"position": start})
    endpoint = Endpoint.objects.create(
        url=f"http://127.0.0.1:{port}/hook", event_types=["all"],
        secret="whsec_capacity-0123456789", start_position=start,
    )  # fmt: skip
    return endpoint.pk


def deliveries(db, endpoint: int) -> dict[str, int]:
    with db.cursor() as cur:
        cur.execute(
            "SELECT status, count(*) FROM webhooks_delivery WHERE endpoint_id = %s GROUP BY 1",
            [endpoint],
        )
        return dict(cur.fetchall())


def measure_configuration(
    *,
    start_server: Callable[[int, Path], Any],
    env: dict[str, str],
    db,
    db_url: str,
    database: str,
    plans: list[Plan],
    web_workers: int,
    celery_workers: int,
    seconds: float,
    results: Path,
) -> dict[str, Any]:
    worker = receiver = None
    endpoint = None
    server = start_server(web_workers, results / f"gunicorn-capacity-{web_workers}.log")
    try:
        if celery_workers:
            purge_broker(env["CELERY_BROKER_URL"])
            receiver = subprocess.Popen(
                [sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True
            )
            assert receiver.stdout is not None
            endpoint = subscribe_endpoint(db, int(receiver.stdout.readline()))
            worker = capacity_worker(
                env, celery_workers, results / f"celery-capacity-{celery_workers}.log"
            )
            worker.wait_ready()
        server.wait_ready()
        for plan in plans:
            plan.port = server.port
        label = f"{web_workers} web workers" + (
            f", {celery_workers} Celery worker processes" if celery_workers else ""
        )
        log(f"{label}: {WARMUP_SECONDS:.0f} s warm-up, {len(plans)} clients for {seconds:.0f} s")
        warm, _, _ = run_clients(plans, WARMUP_SECONDS)
        warm_errors = [b for r in warm for b in r["error_bodies"]]
        if warm_errors:
            raise SystemExit("capacity: the warm-up failed:\n" + "\n".join(warm_errors))
        sampler = BackendSampler(db_url, database)

        def snapshot() -> dict[str, Any]:
            sampler.start()
            return {
                "web": tree_ticks(server.proc.pid),
                "celery": tree_ticks(worker.proc.pid) if worker else 0,
                "load": os.getloadavg()[0],
                "deliveries": deliveries(db, endpoint) if endpoint else {},
            }

        for plan in plans:
            # Other draws than the warm-up's, and readings it did not send.
            plan.seed += "-measured"
            start = dt.datetime.fromisoformat(plan.reading_start)
            plan.reading_start = (start + dt.timedelta(minutes=5)).isoformat()
        reports, wall, before = run_clients(plans, seconds, snapshot)
        after_web = tree_ticks(server.proc.pid)
        after_celery = tree_ticks(worker.proc.pid) if worker else 0
        pg = sampler.stop()
        load_end = os.getloadavg()[0]
        sent = deliveries(db, endpoint) if endpoint else {}
    finally:
        server.stop()
        if worker:
            worker.stop()
        if receiver:
            receiver.kill()
            receiver.wait()
        if endpoint:
            from webhooks.models import Endpoint

            Endpoint.objects.filter(pk=endpoint).delete()

    samples = [s for r in reports for s in r["samples"]]
    result = summarize(samples, wall)
    n = max(1, result["requests"])
    cpu = {
        "web": ticks_ms(after_web - before["web"]),
        "postgres": ticks_ms(pg),
        "celery": ticks_ms(after_celery - before["celery"]),
    }
    cpu["server"] = sum(cpu.values())
    cpu["clients"] = sum(r["cpu_seconds"] for r in reports) * 1000
    result.update(
        web_workers=web_workers,
        celery_workers=celery_workers,
        clients=len(plans),
        cpu_ms_per_request={k: round(v / n, 2) for k, v in cpu.items()},
        cpu_seconds={k: round(v / 1000, 2) for k, v in cpu.items()},
        cores_busy=round(cpu["server"] / 1000 / wall, 2),
        # What one core fully given to the server side (web, worker, database) would serve:
        # the basis of the scaling estimate, steadier on a shared machine than requests/s.
        requests_per_core_second=round(1000 * n / cpu["server"], 1) if cpu["server"] else None,
        load_average=[round(before["load"], 2), round(load_end, 2)],
        error_samples=[b for r in reports for b in r["error_bodies"]][:10],
    )
    if endpoint:
        result["webhook_deliveries"] = {
            "delivered_during_window": sent.get("delivered", 0)
            - before["deliveries"].get("delivered", 0),
            "at_end": sent,
        }
    log(
        f"{label}: {result['requests']} requests, {result['requests_per_second']}/s, p50 "
        f"{result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, "
        f"{result['errors']} errors, {result['precondition_failed']} 412s; CPU ms/request "
        f"{result['cpu_ms_per_request']}; load {result['load_average']}"
    )
    for body in result["error_samples"]:
        log(f"error: {body}")
    return result


# --- Targets and the whole figure -----------------------------------------------------------


def make_plans(db, fixtures: Any, clients: int) -> list[Plan]:
    """One plan per client: its own backlog (the clients' backlogs are the `clients` largest
    with at least 20 items on live components, so a move locks only its client's backlog), a
    product of its own to edit and a metric of its own to record."""
    with db.cursor() as cur:
        cur.execute(
            """SELECT i.unit_id, count(*) AS n,
                      array_agg(i.id ORDER BY i.rank) FILTER (WHERE p.lifecycle_stage <> 'retired'),
                      min(i.product_id) FILTER (WHERE p.lifecycle_stage <> 'retired')
                 FROM backlog_backlogitem i JOIN products_product p ON p.id = i.product_id
                GROUP BY i.unit_id
               HAVING count(*) FILTER (WHERE p.lifecycle_stage <> 'retired') >= 20
                ORDER BY n DESC, i.unit_id LIMIT %s""",
            [clients],
        )
        units = cur.fetchall()
        cur.execute(
            "SELECT id FROM products_product WHERE lifecycle_stage = 'maturity' "
            "AND management_model = 'product' ORDER BY id LIMIT %s",
            [clients],
        )
        products = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT p.slug || '/' || m.key FROM metrics_metric m "
            "JOIN products_product p ON p.id = m.product_id "
            "WHERE p.lifecycle_stage <> 'retired' ORDER BY m.id DESC LIMIT %s",
            [clients],
        )
        metrics = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT slug FROM products_product WHERE lifecycle_stage <> 'retired' "
            "ORDER BY id LIMIT 200"
        )
        slugs = [row[0] for row in cur.fetchall()]
    if len(units) < clients or len(products) < clients or len(metrics) < clients:
        raise SystemExit(
            f"capacity: the portfolio has too few backlogs ({len(units)}), products "
            f"({len(products)}) or metrics ({len(metrics)}) for {clients} clients"
        )
    # Readings an hour back from now, one second apart per client: within the past, never
    # another client's (each has its own metric), new in every configuration.
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    return [
        Plan(
            index=k,
            seed=f"capacity-{k}",
            port=0,
            token=fixtures.token,
            cookie=fixtures.session_cookie,
            detail_slugs=slugs[k::clients],
            unit=unit,
            unit_size=n,
            move_items=items[:200],
            component=component,
            product=products[k],
            metric=metrics[k],
            reading_start=start.isoformat(),
        )
        for k, (unit, n, items, component) in enumerate(units)
    ]


def measure_capacity(
    *,
    start_server: Callable[[int, Path], Any],
    env: dict[str, str],
    db,
    db_url: str,
    database: str,
    fixtures: Any,
    results: Path,
    seconds: float = SECONDS,
    clients: int = CLIENTS,
) -> dict[str, Any]:
    """Both configurations, one after the other, on the run database. `start_server(workers,
    log_path)` starts gunicorn as the runner does (gunicorn.conf.py) with that many workers;
    `env` is the environment for the Celery worker (run database, bench settings, broker)."""
    env = {k: v for k, v in env.items() if k != "BENCH_COUNT_QUERIES"}
    env.setdefault("CELERY_BROKER_URL", env.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    # The receiver listens on 127.0.0.1, which the SSRF guard refuses unless allowed.
    env["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    plans = make_plans(db, fixtures, clients)
    mix = Mix()
    configurations = []
    for web_workers, celery_workers in CONFIGURATIONS:
        for k, plan in enumerate(plans):
            plan.seed = f"capacity-{k}-{web_workers}-{celery_workers}"
            # A fresh hour of readings per configuration: every batch stores new rows.
            start = dt.datetime.fromisoformat(plan.reading_start)
            plan.reading_start = (start + dt.timedelta(minutes=10)).isoformat()
        configurations.append(
            measure_configuration(
                start_server=start_server,
                env=env,
                db=db,
                db_url=db_url,
                database=database,
                plans=plans,
                web_workers=web_workers,
                celery_workers=celery_workers,
                seconds=seconds,
                results=results,
            )  # fmt: skip
        )
    failed = [c for c in configurations if c["errors"]]
    if failed:
        # As anywhere in the bench, a failed request is a bug, not a slow figure.
        raise SystemExit(
            "capacity: requests failed under load:\n"
            + "\n".join(body for c in failed for body in c["error_samples"])
        )
    return {
        "clients": clients,
        "seconds": seconds,
        "mix": dict(MIX),
        "shares": mix.shares(),
        "backlogs": [{"unit": p.unit, "items": p.unit_size} for p in plans],
        "configurations": configurations,
    }
