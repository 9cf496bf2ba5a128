"""The benchmark runner: `scripts/bench.sh SIZE` (what `make bench` calls) ends up here.

    .venv/bin/python -m bench.run --size M

1. Builds the synthetic portfolio (bench/generate.py) in `portfolio_bench_<size>`, migrated
   and generated once per size and code version (a hash of the generator and the migrations,
   kept in the database's comment); a later run reuses it. That database is a template: each
   run measures in `portfolio_bench_<size>_run`, a fresh copy (CREATE DATABASE ... TEMPLATE),
   so the upserts of one run never leak into the next.
2. Starts gunicorn with the project's gunicorn.conf.py (2 sync workers, preload, gc.freeze)
   and bench.settings (production settings plus the X-Query-Count middleware), on a free
   local port.
3. Measures each figure beside its reference in the same loop, alternating which goes first,
   so drift on a shared machine hits both: medians (and p95) over many runs, ratios between
   them, and the query count each request ran on the server.
4. Prints one table and writes bench/results/latest.json (+ <size>.json and <size>.md).

Exit status: 0 when every figure was measured, whether or not its target is met; non-zero
when something broke (a request failed, a response was wrong, the server did not start).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import http.client
import io
import json
import math
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from bench.capacity import measure_capacity
from bench.worker import CeleryWorker

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_BASE_URL = "postgres://postgres@127.0.0.1:5432/"
SETTINGS = "bench.settings"

API_QUERY = "stage=maturity&ordering=name&page_size=100"
PAGE_QUERY = "stage=maturity"
PAGE_SIZE = 50  # products.views.PAGE_SIZE
UPSERT_ROWS = 10_000
UPSERT_SOURCE = "bench"


# --- Small helpers --------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def code_version() -> str:
    """The generator and every migration: change either and the portfolio is rebuilt."""
    digest = hashlib.sha256()
    files = [ROOT / "bench" / "generate.py", *sorted(ROOT.glob("*/migrations/[0-9]*.py"))]
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def admin_connection(base_url: str):
    conn = psycopg2.connect(database_url(base_url, "postgres"))
    conn.autocommit = True
    return conn


def run(cmd: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"bench: {' '.join(cmd)} failed with exit code {result.returncode}")
    return result.stdout


# --- The portfolio database -----------------------------------------------------------------


def ensure_template(base_url: str, size: str, python: str, regenerate: bool) -> dict[str, Any]:
    """The generated portfolio for `size` (a template database), built only when needed."""
    # BENCH_DB_PREFIX keeps a branch's run apart from another's on a shared server.
    name = f"{os.environ.get('BENCH_DB_PREFIX', 'portfolio_bench')}_{size.lower()}"
    version = code_version()
    admin = admin_connection(base_url)
    with admin.cursor() as cur:
        cur.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        )
        row = cur.fetchone()
    meta = None
    if row and row[0]:
        try:
            meta = json.loads(row[0])
        except ValueError:
            meta = None
    if meta and meta.get("version") == version and not regenerate:
        log(f"reusing {name} (generated {meta['generated_at']}, code version {version})")
        admin.close()
        return {**meta, "database": name, "cached": True}

    log(f"building {name}: migrate, then generate size {size}")
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": database_url(base_url, name)}
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env.pop("BENCH_COUNT_QUERIES", None)
    started = time.perf_counter()
    run([python, "manage.py", "migrate", "--noinput", "-v", "0"], env)
    migrate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    generated = json.loads(run([python, "-m", "bench.generate", size], env))
    generate_seconds = time.perf_counter() - started
    meta = {
        "version": version,
        "size": size,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "migrate_seconds": round(migrate_seconds, 2),
        # The generator's own clock (build the rows, COPY them, VACUUM ANALYZE) and the wall
        # clock of the whole step including interpreter and Django start-up.
        "generate_seconds": generated["seconds"],
        "generate_wall_seconds": round(generate_seconds, 2),
        # Where the generator's time went: building the rows in Python, then each write step.
        "generate_steps": {"build rows": generated["build_seconds"], **generated["write_steps"]},
        "rows": generated["rows"],
        "shape": generated["shape"],
    }
    with admin.cursor() as cur:
        cur.execute(f'COMMENT ON DATABASE "{name}" IS %s', [json.dumps(meta)])
    admin.close()
    log(f"generated {name} in {generate_seconds:.1f} s (migrate {migrate_seconds:.1f} s)")
    return {**meta, "database": name, "cached": False}


CLONE_FILE_COPY_BYTES = 1 << 30


def clone(base_url: str, template: str) -> tuple[str, str]:
    """A fresh copy of the template. Past 1 GiB (XL is several) the files are copied as they
    are (STRATEGY FILE_COPY: two checkpoints) instead of through the WAL, block by block, which
    would write the whole database a second time."""
    name = f"{template}_run"
    admin = admin_connection(base_url)
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute("SELECT pg_database_size(%s)", [template])
        big = cur.fetchone()[0] > CLONE_FILE_COPY_BYTES
        strategy = " STRATEGY FILE_COPY" if big else ""
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    admin.close()
    return name, version


# --- Fixtures inside the run database (through Django, a handful of rows) ----------------


@dataclasses.dataclass
class Fixtures:
    token: str
    session_cookie: str
    detail_slug: str
    slice_q: str
    owner_emails: list[str]
    team_slugs: list[str]
    baseline_products: int


def make_fixtures() -> Fixtures:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.db.models import Count

    from accounts.services import api_token_create
    from portfolio.permissions import LEADERS_GROUP
    from products.models import Person, Product, Team

    user = get_user_model().objects.create_user(
        "bench-leader", "bench-leader@bench.example", "bench-pass-2026"
    )
    user.groups.add(Group.objects.get(name=LEADERS_GROUP))  # a leader, not a superuser
    token = api_token_create(actor=user, name="Bench")[1]
    # A logged-in session, as the login form would leave it.
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    # The password backend: the lockout backend first in the list only guards, it signs no one in.
    session[BACKEND_SESSION_KEY] = "accounts.backends.PasswordBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    # The detail page of a rich product: in retirement (so with a migration plan), in a
    # cluster, with the most dependents; the first by id among equals.
    detail = (
        Product.objects.filter(lifecycle_stage="retirement", unit__kind="cluster")
        .annotate(n=Count("dependents"))
        .order_by("-n", "id")
        .values_list("slug", flat=True)
        .first()
    )
    one = Product.objects.filter(lifecycle_stage="maturity").order_by("id").first()
    owners = list(Person.objects.accountable().order_by("id").values_list("email", flat=True)[:200])
    teams = list(Team.objects.order_by("id").values_list("slug", flat=True))
    fixtures = Fixtures(
        token=token,
        session_cookie=f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
        detail_slug=detail,
        slice_q=one.slug,
        owner_emails=owners,
        team_slugs=teams,
        baseline_products=Product.objects.count(),
    )
    connection.close()
    return fixtures


# --- gunicorn -------------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 2):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        conf = ROOT / "gunicorn.conf.py"
        cmd = [gunicorn, "--workers", str(workers)]
        if conf.exists():
            cmd += ["--config", str(conf)]
        cmd += ["--bind", f"127.0.0.1:{self.port}", "portfolio.wsgi:application"]
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_TIMEOUT": "600",  # a 10,000-row upsert on a busy 2-core machine
            "GUNICORN_LOG_LEVEL": "warning",
        }
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: gunicorn exited ({self.proc.returncode}); see its log")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/accounts/login/", headers={"X-Forwarded-Proto": "https"})
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("bench: gunicorn did not answer in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Client:
    """http.client against the local gunicorn. Its sync workers close each connection after
    the response, so every request opens a new local TCP connection (as it would through
    a proxy that does not pool upstream connections)."""

    def __init__(self, port: int, fixtures: Fixtures):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
        self.api_headers = {
            "Authorization": f"Token {fixtures.token}",
            "Accept": "application/json",
            "X-Forwarded-Proto": "https",
        }
        self.page_headers = {
            "Cookie": fixtures.session_cookie,
            "Accept": "text/html",
            "X-Forwarded-Proto": "https",
        }

    def send(
        self, method: str, path: str, headers: dict, body: bytes | None = None
    ) -> tuple[int, float, str | None, bytes]:
        """(status, seconds, X-Query-Count, body) of one request, whatever the status."""
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, elapsed, response.getheader("X-Query-Count"), data

    def request(
        self, method: str, path: str, headers: dict, body: bytes | None = None
    ) -> tuple[float, int, bytes]:
        """(seconds, server-side query count, body) of one request; fails on any non-200."""
        status, elapsed, queries, data = self.send(method, path, headers, body)
        if status != 200:
            raise SystemExit(f"bench: {method} {path} answered {status}: {data[:600]!r}")
        if queries is None:
            raise SystemExit("bench: no X-Query-Count header; is BENCH_COUNT_QUERIES=1 set?")
        return elapsed, int(queries), data

    def api(self, path: str, body: bytes | None = None) -> tuple[float, int, bytes]:
        if body is None:
            return self.request("GET", path, self.api_headers)
        headers = {**self.api_headers, "Content-Type": "application/json"}
        return self.request("POST", path, headers, body)

    def page(self, path: str) -> tuple[float, int, bytes]:
        return self.request("GET", path, self.page_headers)


# --- The raw SQL references -------------------------------------------------------------------

# The same rows the API answers: every product column the serializer reads, the joins to unit,
# cluster, owner (and the owner's login, for `accountable`) and team, the external ids and the
# dependency slugs, with the same filter, order and limit. Only the pagination count is left
# out: it is a second statement, not part of the rows.
API_SQL = """
SELECT p.id, p.name, p.slug, p.kind, p.description, p.user_groups, p.user_count,
       p.key_use_cases, p.business_capabilities, p.criticality, p.strategic,
       p.under_significant_change, p.lifecycle_stage, p.stage_changed_at, p.management_model,
       p.project_end_date, p.created_at, p.updated_at, p.unit_id,
       u.kind, c.slug, o.id, o.name, o.active, au.is_active, t.slug,
       ARRAY(SELECT d.slug FROM products_product_dependencies pd
             JOIN products_product d ON d.id = pd.to_product_id
             WHERE pd.from_product_id = p.id ORDER BY d.slug) AS dependencies,
       ARRAY(SELECT e.source || ':' || e.external_id FROM products_externalid e
             WHERE e.product_id = p.id ORDER BY e.source) AS external_ids
FROM products_product p
LEFT JOIN products_ownershipunit u ON u.id = p.unit_id
LEFT JOIN products_cluster c ON c.id = u.cluster_id
LEFT JOIN products_person o ON o.id = u.owner_id
LEFT JOIN auth_user au ON au.id = o.user_id
LEFT JOIN products_team t ON t.id = p.team_id
WHERE p.lifecycle_stage = %s
ORDER BY p.name, p.id
LIMIT %s
"""

# What a row of the product list page shows: name and link, kind, stage, cluster, owner
# (with the accountable flags), team, managed-as, criticality and the metric health badge (the
# worst status of the product's metrics, by the rules of metrics/status.py: 0 green, 1 no
# data, 2 stale, 3 amber, 4 red; NULL without metrics).
PAGE_SQL = """
SELECT p.id, p.name, p.slug, p.kind, p.lifecycle_stage, p.strategic, p.management_model,
       p.criticality, u.kind, c.name, c.slug, o.id, o.name, o.active, au.is_active,
       t.name, t.slug,
       (SELECT max(CASE
            WHEN m.last_read_at IS NULL THEN 1
            WHEN m.last_read_at < %(now)s - m.expected_interval * COALESCE(
                (SELECT s.stale_interval_multiple FROM portfolio_portfoliosettings s
                  WHERE s.id = 1), 2) THEN 2
            WHEN (m.better = 'higher' AND m.last_value < m.critical)
              OR (m.better = 'lower' AND m.last_value > m.critical) THEN 4
            WHEN (m.better = 'higher' AND m.last_value < COALESCE(m.warning, m.target))
              OR (m.better = 'lower' AND m.last_value > COALESCE(m.warning, m.target)) THEN 3
            ELSE 0 END)
          FROM metrics_metric m WHERE m.product_id = p.id) AS health
FROM products_product p
LEFT JOIN products_ownershipunit u ON u.id = p.unit_id
LEFT JOIN products_cluster c ON c.id = u.cluster_id
LEFT JOIN products_person o ON o.id = u.owner_id
LEFT JOIN auth_user au ON au.id = o.user_id
LEFT JOIN products_team t ON t.id = p.team_id
WHERE p.lifecycle_stage = %(stage)s
ORDER BY p.name, p.id
LIMIT %(limit)s
"""


def page_sql_params(limit: int) -> dict[str, Any]:
    return {"now": dt.datetime.now(dt.UTC), "stage": "maturity", "limit": limit}


def timed_sql(conn, sql: str, params: list | dict) -> tuple[float, int]:
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return time.perf_counter() - started, len(rows)


# --- Measurements -----------------------------------------------------------------------------


@dataclasses.dataclass
class Series:
    seconds: list[float] = dataclasses.field(default_factory=list)
    queries: list[int] = dataclasses.field(default_factory=list)
    rows: list[int] = dataclasses.field(default_factory=list)

    def add(self, seconds: float, queries: int | None = None, rows: int | None = None) -> None:
        self.seconds.append(seconds)
        if queries is not None:
            self.queries.append(queries)
        if rows is not None:
            self.rows.append(rows)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        return p95(self.seconds) * 1000

    @property
    def query_count(self) -> int | None:
        """The steady-state count of the measured requests (the most common one).

        A request may run a few more queries once, e.g. the list page refilling its cached
        filter options in a fresh gunicorn worker; the log says when counts differ.
        """
        if not self.queries:
            return None
        if len(set(self.queries)) != 1:
            counts = {q: self.queries.count(q) for q in sorted(set(self.queries))}
            log(f"query counts vary between runs: {counts}; reporting the most common")
        return statistics.mode(self.queries)


def measure_reads(client: Client, db, fixtures: Fixtures, iterations: int) -> dict[str, Series]:
    api_path = f"/api/v1/products/?{API_QUERY}"
    api_slice = f"/api/v1/products/?{API_QUERY}&q={fixtures.slice_q}"
    page_path = f"/products/?{PAGE_QUERY}"
    page_slice = f"/products/?{PAGE_QUERY}&q={fixtures.slice_q}"
    detail_path = f"/products/{fixtures.detail_slug}/"

    series = {
        k: Series()
        for k in ("api", "api_sql", "page", "page_sql", "detail", "api_slice", "page_slice")
    }

    def api():
        elapsed, queries, body = client.api(api_path)
        series["api"].add(elapsed, queries, len(json.loads(body)["results"]))

    def api_sql():
        elapsed, n = timed_sql(db, API_SQL, ["maturity", 100])
        series["api_sql"].add(elapsed, 1, n)

    def page():
        elapsed, queries, body = client.page(page_path)
        series["page"].add(elapsed, queries, body.count(b'<td><a href="/products/'))

    def page_sql():
        elapsed, n = timed_sql(db, PAGE_SQL, page_sql_params(PAGE_SIZE))
        series["page_sql"].add(elapsed, 1, n)

    def detail():
        elapsed, queries, _ = client.page(detail_path)
        series["detail"].add(elapsed, queries)

    def api_small():
        elapsed, queries, body = client.api(api_slice)
        series["api_slice"].add(elapsed, queries, len(json.loads(body)["results"]))

    def page_small():
        elapsed, queries, body = client.page(page_slice)
        series["page_slice"].add(elapsed, queries, body.count(b'<td><a href="/products/'))

    steps = [api, api_sql, page, page_sql, detail, api_small, page_small]
    log(f"warming up (both workers), then {iterations} interleaved rounds of {len(steps)} steps")
    for _ in range(4):
        for step in steps:
            step()
    for s in series.values():
        s.seconds.clear()
        s.queries.clear()
        s.rows.clear()
    for i in range(iterations):
        # Alternate the order, so neither side of a ratio always runs first.
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    return series


def measure_in_process(db, fixtures: Fixtures, iterations: int) -> dict[str, Series]:
    """The two list requests through Django's test client in this process (no HTTP, no
    gunicorn), beside the same raw SQL: what the Django work alone costs."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client as DjangoClient

    https = {"HTTP_X_FORWARDED_PROTO": "https"}
    api = DjangoClient(**https, HTTP_AUTHORIZATION=f"Token {fixtures.token}")
    page = DjangoClient(**https)
    page.cookies[settings.SESSION_COOKIE_NAME] = fixtures.session_cookie.split("=", 1)[1]
    series = {k: Series() for k in ("api", "api_sql", "page", "page_sql")}

    def get(client, key: str, path: str) -> None:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"bench: in-process GET {path} answered {response.status_code}")
        series[key].add(elapsed, int(response["X-Query-Count"]))

    def sql(key: str, text: str, limit: int) -> None:
        params = page_sql_params(limit) if text is PAGE_SQL else ["maturity", limit]
        elapsed, n = timed_sql(db, text, params)
        series[key].add(elapsed, 1, n)

    steps = [
        lambda: get(api, "api", f"/api/v1/products/?{API_QUERY}"),
        lambda: sql("api_sql", API_SQL, 100),
        lambda: get(page, "page", f"/products/?{PAGE_QUERY}"),
        lambda: sql("page_sql", PAGE_SQL, PAGE_SIZE),
    ]
    for step in steps * 3:
        step()
    for s in series.values():
        s.seconds.clear()
        s.queries.clear()
        s.rows.clear()
    log(f"in-process (Django test client): {iterations} interleaved rounds")
    for i in range(iterations):
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    connection.close()
    return series


def in_process_figures(s: dict[str, Series]) -> list[dict[str, Any]]:
    note = "secondary: Django test client in the runner's process, no HTTP and no gunicorn"
    return [
        figure(
            "API product list, page of 100, in-process",
            s["api"].median_ms,
            "ms",
            reference="raw SQL, same rows",
            reference_value=s["api_sql"].median_ms,
            p95=round(s["api"].p95_ms, 2),
            queries=s["api"].query_count,
            samples=len(s["api"].seconds),
            note=note,
        ),
        figure(
            f"Product list page (HTML) with status badges, {PAGE_SIZE} rows, in-process",
            s["page"].median_ms,
            "ms",
            reference="raw SQL, same rows",
            reference_value=s["page_sql"].median_ms,
            p95=round(s["page"].p95_ms, 2),
            queries=s["page"].query_count,
            samples=len(s["page"].seconds),
            note=note,
        ),
    ]


def upsert_rows(fixtures: Fixtures, *, full: bool = False) -> list[dict[str, Any]]:
    """10,000 rows as a CMDB sync would send them (deterministic).

    The measured batch is lean (about 200 bytes a row) so that it fits the 2.5 MB request
    body limit of Django's default DATA_UPLOAD_MAX_MEMORY_SIZE; `full` adds the descriptive
    fields a real sync would also carry (about 400 bytes a row), for the body-limit probe.
    """
    from bench.generate import DOMAINS, QUALIFIERS, THINGS

    rng = random.Random("bench-upsert")
    rows = []
    for i in range(1, UPSERT_ROWS + 1):
        domain = rng.choice(DOMAINS)
        project = rng.random() < 0.1
        row: dict[str, Any] = {
            "external_id": {"source": UPSERT_SOURCE, "id": f"X-{i}"},
            "name": f"{rng.choice(QUALIFIERS)} {domain} {rng.choice(THINGS)} {i}",
            "kind": rng.choice(["system", "service", "platform", "integration", "infrastructure"]),
            "criticality": rng.choice(["low", "medium", "high", "critical"]),
            "lifecycle_stage": rng.choice(["introduction", "growth", "maturity"]),
        }
        if project:
            row["management_model"] = "project"
            row["project_end_date"] = f"2026-{rng.randint(1, 12):02d}-15"
        if rng.random() < 0.8:
            row["team"] = rng.choice(fixtures.team_slugs)
        if rng.random() < 0.7:
            row["owner"] = rng.choice(fixtures.owner_emails)
        if full:
            row["description"] = f"Imported from the CMDB. Serves the {domain} department."
            row["user_count"] = rng.randint(5, 20_000)
            row["user_groups"] = "Staff\nManagers"
            row["key_use_cases"] = f"Record {domain.lower()} requests\nReport monthly"
        rows.append(row)
    return rows


def copy_reference_text(rows: list[dict[str, Any]], team_ids: dict[str, int]) -> str:
    """The same rows in COPY's text format for the comparable table (built before timing)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    lines = []
    for row in rows:
        slug = "-".join(row["name"].lower().split())
        lines.append(
            "\t".join(
                [
                    row["name"],
                    slug,
                    row["kind"],
                    "",  # description
                    "",  # user_groups
                    "\\N",  # user_count
                    "",
                    "",
                    row["criticality"],
                    "f",
                    "f",
                    row["lifecycle_stage"],
                    now,
                    row.get("management_model", "product"),
                    row.get("project_end_date", "\\N"),
                    now,
                    now,
                    str(team_ids[row["team"]]) if "team" in row else "\\N",
                    "\\N",
                    "1",  # version: a new product's first
                ]
            )
        )
    return "\n".join(lines) + "\n"


COPY_COLUMNS = (
    "name, slug, kind, description, user_groups, user_count, key_use_cases, "
    "business_capabilities, criticality, strategic, under_significant_change, lifecycle_stage, "
    "stage_changed_at, management_model, project_end_date, created_at, updated_at, team_id, "
    "unit_id, version"
)

# Every table a create writes, with how its rows name the product; the "floor" reference
# COPYs exactly those rows into look-alike tables (same indexes, no foreign keys, no trigger).
# The unit's history is not among them: a unit created with its product gets no "+" row of its
# own (the product's records both; products.selectors.unit_created). The product.created
# events are: the endpoint writes one per product, with its API body.
WRITTEN_TABLES = {
    "products_product": "id IN {ids}",
    "products_historicalproduct": "id IN {ids}",
    "products_ownershipunit": "product_id IN {ids}",
    "products_externalid": "product_id IN {ids}",
    "products_lifecycletransition": "product_id IN {ids}",
    "portfolio_event": "type = 'product.created' AND object_type = 'product' "
    "AND object_id IN {ids}",
}

CLEANUP_SQL = """
CREATE TEMP TABLE bench_ids ON COMMIT DROP AS
    SELECT product_id AS id FROM products_externalid WHERE source = %(source)s;
DELETE FROM portfolio_event
 WHERE object_type = 'product' AND object_id IN (SELECT id FROM bench_ids);
DELETE FROM products_lifecycletransition WHERE product_id IN (SELECT id FROM bench_ids);
DELETE FROM products_externalid WHERE product_id IN (SELECT id FROM bench_ids);
DELETE FROM products_product_dependencies WHERE from_product_id IN (SELECT id FROM bench_ids);
DELETE FROM products_historicalproduct WHERE id IN (SELECT id FROM bench_ids);
DELETE FROM products_historicalownershipunit WHERE product_id IN (SELECT id FROM bench_ids);
DELETE FROM products_ownershipunit WHERE product_id IN (SELECT id FROM bench_ids);
DELETE FROM products_product WHERE id IN (SELECT id FROM bench_ids);
"""


def measure_upserts(client: Client, db, fixtures: Fixtures, reps: int) -> dict[str, Series]:
    rows = upsert_rows(fixtures)
    body = json.dumps({"rows": rows}, separators=(",", ":")).encode()
    full_body = json.dumps({"rows": upsert_rows(fixtures, full=True)}, separators=(",", ":"))
    with db.cursor() as cur:
        cur.execute("SELECT slug, id FROM products_team")
        team_ids = dict(cur.fetchall())
        cur.execute("DROP TABLE IF EXISTS bench_copy_product")
        # Same columns, defaults, constraints and indexes (unique slug and its pattern index).
        cur.execute("CREATE TABLE bench_copy_product (LIKE products_product INCLUDING ALL)")
    copy_text = copy_reference_text(rows, team_ids)
    path = "/api/v1/products/bulk-upsert/"
    series = {k: Series() for k in ("create", "resend", "copy", "floor", "probe")}
    captured: dict[str, str] = {}

    def create():
        elapsed, queries, data = client.api(path, body)
        answer = json.loads(data)
        if answer["created"] != UPSERT_ROWS:
            raise SystemExit(f"bench: first send created {answer['created']}, not {UPSERT_ROWS}")
        series["create"].add(elapsed, queries)

    def history_rows() -> int:
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM products_historicalproduct")
            return cur.fetchone()[0]

    def resend():
        before = history_rows()
        elapsed, queries, data = client.api(path, body)
        answer = json.loads(data)
        if answer["unchanged"] != UPSERT_ROWS or history_rows() != before:
            raise SystemExit(
                f"bench: re-send was not idempotent: {answer['created']} created, "
                f"{answer['updated']} updated, {answer['unchanged']} unchanged"
            )
        series["resend"].add(elapsed, queries)

    def capture():
        """The rows the first send wrote, table by table (once, untimed), for the floor."""
        if captured:
            return
        with db.cursor() as cur:
            ids = f"(SELECT product_id FROM products_externalid WHERE source = '{UPSERT_SOURCE}')"
            for table, where in WRITTEN_TABLES.items():
                buf = io.StringIO()
                cur.copy_expert(
                    f"COPY (SELECT * FROM {table} WHERE {where.format(ids=ids)}) TO STDOUT", buf
                )
                captured[table] = buf.getvalue()
                cur.execute(f"DROP TABLE IF EXISTS bench_floor_{table}")
                cur.execute(f"CREATE TABLE bench_floor_{table} (LIKE {table} INCLUDING ALL)")

    def floor():
        with db.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(f"bench_floor_{t}" for t in captured))
        db.autocommit = False
        started = time.perf_counter()
        with db.cursor() as cur:
            for table, text in captured.items():
                cur.copy_expert(f"COPY bench_floor_{table} FROM STDIN", io.StringIO(text))
        db.commit()
        series["floor"].add(time.perf_counter() - started, len(captured))
        db.autocommit = True

    def cleanup():
        db.autocommit = False
        with db.cursor() as cur:
            cur.execute(CLEANUP_SQL, {"source": UPSERT_SOURCE})
            cur.execute("SELECT count(*) FROM products_product")
            left = cur.fetchone()[0]
        db.commit()
        db.autocommit = True
        if left != fixtures.baseline_products:
            raise SystemExit(
                f"bench: cleanup left {left} products, not {fixtures.baseline_products}"
            )
        with db.cursor() as cur:
            for table in (
                "products_product",
                "products_ownershipunit",
                "products_externalid",
                "products_lifecycletransition",
                "products_historicalproduct",
                "products_historicalownershipunit",
            ):
                cur.execute(f"VACUUM ANALYZE {table}")

    def copy():
        with db.cursor() as cur:
            cur.execute("TRUNCATE bench_copy_product")
        db.autocommit = False
        started = time.perf_counter()
        with db.cursor() as cur:
            cur.copy_expert(
                f"COPY bench_copy_product ({COPY_COLUMNS}) FROM STDIN", io.StringIO(copy_text)
            )
        db.commit()
        series["copy"].add(time.perf_counter() - started, 1)
        db.autocommit = True

    # The body-limit probe: the same 10,000 rows with the descriptive fields a real sync sends.
    headers = {**client.api_headers, "Content-Type": "application/json"}
    status, elapsed, _, data = client.send("POST", path, headers, full_body.encode())
    series["probe"].add(elapsed, rows=len(full_body))
    series["probe"].queries.append(status)
    log(f"full batch probe ({len(full_body) / 1e6:.1f} MB): HTTP {status}")
    if status == 200:
        cleanup()
    elif status != 400:
        raise SystemExit(f"bench: full batch probe answered {status}: {data[:600]!r}")

    log(f"bulk upsert: {reps} rounds of first send, re-send and COPY ({len(body) / 1e6:.1f} MB)")
    for i in range(reps):
        started = time.perf_counter()
        if i % 2 == 0:
            order = [create, resend, capture, cleanup, copy, floor]
        else:
            order = [copy, floor, create, resend, cleanup]
        for step in order:
            step()
        log(
            f"  round {i + 1}/{reps}: create {series['create'].seconds[-1]:.2f} s, "
            f"re-send {series['resend'].seconds[-1]:.2f} s, "
            f"COPY {series['copy'].seconds[-1]:.3f} s, "
            f"COPY of all it writes {series['floor'].seconds[-1]:.3f} s "
            f"({time.perf_counter() - started:.0f} s with cleanup)"
        )
    with db.cursor() as cur:
        cur.execute("DROP TABLE bench_copy_product")
        for table in captured:
            cur.execute(f"DROP TABLE bench_floor_{table}")
    return series


# --- The catalogue import: the same rows as a file -------------------------------------------

IMPORT_PATH = "/api/v1/imports/"
BULK_PATH = "/api/v1/products/bulk-upsert/"
IMPORT_COLUMNS = (
    "name",
    "kind",
    "criticality",
    "lifecycle_stage",
    "management_model",
    "project_end_date",
    "team",
    "owner.email",
    "external_ids",
)


def import_file(rows: list[dict[str, Any]]) -> bytes:
    """The bulk upsert's rows as a catalogue import CSV (the product export's columns)."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(IMPORT_COLUMNS)
    for row in rows:
        ext = row["external_id"]
        values = {
            **row,
            "owner.email": row.get("owner"),
            "external_ids": f"{ext['source']}:{ext['id']}",
        }
        writer.writerow(["" if values.get(c) is None else values[c] for c in IMPORT_COLUMNS])
    return out.getvalue().encode("utf-8")


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "bench-" + hashlib.sha256(data).hexdigest()[:24]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    return (
        head + data + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def remove_upserted(db, fixtures: Fixtures) -> None:
    """Delete what a bulk upsert or an import of the bench rows wrote (and the stored
    uploads), then vacuum, so the next step starts from the same tables."""
    db.autocommit = False
    with db.cursor() as cur:
        cur.execute(CLEANUP_SQL, {"source": UPSERT_SOURCE})
        cur.execute("DELETE FROM products_importupload")
        cur.execute("SELECT count(*) FROM products_product")
        left = cur.fetchone()[0]
    db.commit()
    db.autocommit = True
    if left != fixtures.baseline_products:
        raise SystemExit(f"bench: cleanup left {left} products, not {fixtures.baseline_products}")
    with db.cursor() as cur:
        for table in WRITTEN_TABLES:
            cur.execute(f"VACUUM ANALYZE {table}")


def measure_import(client: Client, db, fixtures: Fixtures, reps: int) -> dict[str, Series]:
    """Each round: the bulk upsert's 10,000 rows as a CSV file through the import API (the
    preview, then the confirm) and the same rows through the bulk upsert API, alternating
    which goes first; both create every row, and what they wrote is deleted in between."""
    rows = upsert_rows(fixtures)
    body = json.dumps({"rows": rows}, separators=(",", ":")).encode()
    form, content_type = multipart("file", "bench.csv", import_file(rows))
    series = {k: Series() for k in ("preview", "confirm", "import", "upsert")}

    def upsert():
        elapsed, queries, data = client.api(BULK_PATH, body)
        if json.loads(data)["created"] != UPSERT_ROWS:
            raise SystemExit("bench: the bulk upsert did not create every row")
        series["upsert"].add(elapsed, queries)
        remove_upserted(db, fixtures)

    def imported():
        headers = {**client.api_headers, "Content-Type": content_type}
        status, preview_s, queries, data = client.send("POST", IMPORT_PATH, headers, form)
        if status != 201:
            raise SystemExit(f"bench: the import preview answered {status}: {data[:600]!r}")
        preview = json.loads(data)
        if preview["counts"]["create"] != UPSERT_ROWS:
            raise SystemExit(f"bench: the import preview planned {preview['counts']}")
        confirm = json.dumps({"fingerprint": preview["fingerprint"]}).encode()
        confirm_s, confirm_q, data = client.api(f"{IMPORT_PATH}{preview['id']}/confirm/", confirm)
        if json.loads(data)["result"]["created"] != UPSERT_ROWS:
            raise SystemExit("bench: the import did not create every row")
        series["preview"].add(preview_s, int(queries or 0))
        series["confirm"].add(confirm_s, confirm_q)
        series["import"].add(preview_s + confirm_s)
        remove_upserted(db, fixtures)

    log(f"import: {reps} rounds of a {len(form) / 1e6:.1f} MB CSV vs the bulk upsert")
    for i in range(reps):
        for step in (imported, upsert) if i % 2 == 0 else (upsert, imported):
            step()
        log(
            f"  round {i + 1}/{reps}: preview {series['preview'].seconds[-1]:.2f} s, "
            f"confirm {series['confirm'].seconds[-1]:.2f} s, "
            f"bulk upsert {series['upsert'].seconds[-1]:.2f} s"
        )
    return series


def import_figures(s: dict[str, Series]) -> list[dict[str, Any]]:
    seconds = statistics.median(s["import"].seconds)
    upsert_seconds = statistics.median(s["upsert"].seconds)
    return [
        figure(
            f"Import {UPSERT_ROWS:,}-row CSV via API (preview + confirm, creates)",
            UPSERT_ROWS / seconds,
            "rows/s",
            reference="bulk upsert of the same rows via API (creates)",
            reference_value=UPSERT_ROWS / upsert_seconds,
            target=(">=", 0.2),
            seconds=round(seconds, 3),
            preview_seconds=round(statistics.median(s["preview"].seconds), 3),
            confirm_seconds=round(statistics.median(s["confirm"].seconds), 3),
            reference_seconds=round(upsert_seconds, 3),
            queries=s["confirm"].query_count,
            samples=len(s["import"].seconds),
        )
    ]


# --- Metrics: bulk ingest of readings, the one-year chart --------------------------------------

INGEST_PATH = "/api/v1/metric-readings/bulk/"
INGEST_ROWS = 10_000
INGEST_METRICS = 200  # a monitoring push: 200 metrics, 50 readings each
INGEST_SOURCE = "bench-ingest"
READINGS_TABLE = "metrics_reading"
READING_COLUMNS = "metric_id, taken_at, value, source, created_at, updated_at"


@dataclasses.dataclass
class IngestBatch:
    body: bytes
    copy_text: str


def ingest_batch(metrics: list[tuple[int, str]], round_no: int) -> IngestBatch:
    """10,000 readings no other round has: 50 five-minute steps per metric on a day of their
    own after the generator's "today" (still in the past, so none is refused as future)."""
    from bench.generate import TODAY

    rng = random.Random(f"bench-ingest-{round_no}")
    per_metric = INGEST_ROWS // len(metrics)
    base = TODAY + dt.timedelta(days=1 + round_no)
    now = dt.datetime.now(dt.UTC).isoformat()
    readings, lines = [], []
    for step in range(per_metric):
        at = (base + dt.timedelta(minutes=5 * step)).isoformat()
        for metric_id, ref in metrics:
            value = round(rng.uniform(0, 500), 2)
            readings.append({"metric": ref, "time": at, "value": value, "source": INGEST_SOURCE})
            lines.append(f"{metric_id}\t{at}\t{value!r}\t{INGEST_SOURCE}\t{now}\t{now}\n")
    body = json.dumps({"readings": readings}, separators=(",", ":")).encode()
    return IngestBatch(body, "".join(lines))


def ingest_metrics(db) -> list[tuple[int, str]]:
    """The first INGEST_METRICS metrics by id (not the chart's), named as a monitoring tool
    would name them: product-slug/metric-key."""
    from bench.generate import CHART_KEY

    with db.cursor() as cur:
        cur.execute(
            "SELECT m.id, p.slug || '/' || m.key FROM metrics_metric m "
            "JOIN products_product p ON p.id = m.product_id WHERE m.key <> %s "
            "ORDER BY m.id LIMIT %s",
            [CHART_KEY, INGEST_METRICS],
        )
        return cur.fetchall()


def measure_ingest(client: Client, db, reps: int) -> tuple[dict[str, Series], str | None]:
    """Each round: a new batch through the API (creates), the same batch again (all
    unchanged), and a raw COPY of the same rows into the readings table, alternating which
    goes first. Rows written are deleted (and the table vacuumed) before the next step, so
    every step meets the table as the generator left it."""
    metrics = ingest_metrics(db)
    if len(metrics) < INGEST_METRICS:
        return {}, f"not measured: only {len(metrics)} metrics in the portfolio"
    headers = {**client.api_headers, "Content-Type": "application/json"}
    series = {k: Series() for k in ("ingest", "resend", "copy")}
    with db.cursor() as cur:
        cur.execute(f"SELECT COALESCE(max(id), 0), count(*) FROM {READINGS_TABLE}")
        mark, baseline = cur.fetchone()

    def cleanup() -> None:
        with db.cursor() as cur:
            cur.execute(f"DELETE FROM {READINGS_TABLE} WHERE id > %s", [mark])
            cur.execute("DELETE FROM metrics_rolluppending")  # what the trigger marked
            cur.execute(f"VACUUM {READINGS_TABLE}")
            cur.execute(f"SELECT count(*) FROM {READINGS_TABLE}")
            left = cur.fetchone()[0]
        if left != baseline:
            raise SystemExit(f"bench: ingest cleanup left {left} readings, not {baseline}")

    def post(batch: IngestBatch, key: str, expect: str) -> None:
        status, elapsed, queries, data = client.send("POST", INGEST_PATH, headers, batch.body)
        if status != 200:
            raise SystemExit(f"bench: POST {INGEST_PATH} answered {status}: {data[:600]!r}")
        answer = json.loads(data)
        if answer.get(expect) != INGEST_ROWS:
            raise SystemExit(f"bench: {key} expected {INGEST_ROWS} {expect}, got {answer}")
        series[key].add(elapsed, int(queries) if queries else None)

    def copy(batch: IngestBatch) -> None:
        db.autocommit = False
        started = time.perf_counter()
        with db.cursor() as cur:
            cur.copy_expert(
                f"COPY {READINGS_TABLE} ({READING_COLUMNS}) FROM STDIN",
                io.StringIO(batch.copy_text),
            )
        db.commit()
        series["copy"].add(time.perf_counter() - started, 1)
        db.autocommit = True

    # Warm-up round 0; it also tells whether the endpoint is there yet.
    warm = ingest_batch(metrics, 0)
    status, _, _, data = client.send("POST", INGEST_PATH, headers, warm.body)
    if status in (404, 405):
        return {}, f"not measured: POST {INGEST_PATH} answered {status} (not built yet)"
    if status != 200:
        raise SystemExit(f"bench: POST {INGEST_PATH} answered {status}: {data[:600]!r}")
    cleanup()
    copy(warm)
    cleanup()
    series["copy"].seconds.clear()
    log(f"bulk ingest: {reps} rounds of API create, API re-send and COPY "
        f"({INGEST_ROWS:,} readings, {len(warm.body) / 1e6:.1f} MB)")  # fmt: skip
    for i in range(1, reps + 1):
        batch = ingest_batch(metrics, i)
        api_steps = [
            lambda b=batch: post(b, "ingest", "created"),
            lambda b=batch: post(b, "resend", "unchanged"),
            cleanup,
        ]
        copy_steps = [lambda b=batch: copy(b), cleanup]
        for step in api_steps + copy_steps if i % 2 else copy_steps + api_steps:
            step()
        log(
            f"  round {i}/{reps}: API {series['ingest'].seconds[-1]:.2f} s, "
            f"re-send {series['resend'].seconds[-1]:.2f} s, COPY {series['copy'].seconds[-1]:.3f} s"
        )
    return series, None


def ingest_figures(s: dict[str, Series], why: str | None) -> list[dict[str, Any]]:
    names = {
        "ingest": f"Bulk ingest {INGEST_ROWS:,} new readings via API",
        "resend": f"Bulk ingest re-send of the same {INGEST_ROWS:,} readings (all unchanged)",
    }
    if why:
        return [not_measured(n, "readings/s", why) for n in names.values()]
    copy_seconds = statistics.median(s["copy"].seconds)
    out = []
    for key, target in (("ingest", (">=", 0.25)), ("resend", None)):
        seconds = statistics.median(s[key].seconds)
        out.append(
            figure(
                names[key],
                INGEST_ROWS / seconds,
                "readings/s",
                reference=f"COPY of the same rows into {READINGS_TABLE} (psycopg2)",
                reference_value=INGEST_ROWS / copy_seconds,
                target=target,
                seconds=round(seconds, 3),
                worst_seconds=round(max(s[key].seconds), 3),
                reference_seconds=round(copy_seconds, 4),
                queries=s[key].query_count,
                samples=len(s[key].seconds),
                note=f"POST {INGEST_PATH}, {INGEST_METRICS} metrics named slug/key, 50 readings "
                "each, on times no earlier round used"
                + ("" if target else "; information: the idempotent path"),
            )
        )
    return out


def shift_chart_metric(db, metric_id: int) -> None:
    """Move the chart metric's year of readings so the last one is less than five minutes
    old: the chart's window is the last 365 days of the server's clock, and the generator's
    "today" is fixed. (The moved rows now sit together on disk; the chart and its SQL
    reference read the same rows, so the ratio is fair.)"""
    step = dt.timedelta(minutes=5)
    with db.cursor() as cur:
        cur.execute(f"SELECT max(taken_at) FROM {READINGS_TABLE} WHERE metric_id = %s", [metric_id])
        last = cur.fetchone()[0]
        delta = (dt.datetime.now(dt.UTC) - last) // step * step
        cur.execute(
            f"UPDATE {READINGS_TABLE} SET taken_at = taken_at + %s WHERE metric_id = %s",
            [delta, metric_id],
        )
        cur.execute(
            "UPDATE metrics_metric SET last_read_at = last_read_at + %s WHERE id = %s",
            [delta, metric_id],
        )
    # Its roll-ups follow, as the beat task would have them: every day rolled, none pending.
    from django.db import connection

    from metrics.partitions import partitions_ensure
    from metrics.rollups import rollups_rebuild

    partitions_ensure()
    rollups_rebuild([metric_id])
    connection.close()
    with db.cursor() as cur:
        cur.execute(f"VACUUM ANALYZE {READINGS_TABLE}")
        cur.execute("VACUUM ANALYZE metrics_readingrollup")


def measure_chart(
    client: Client, db, metric_id: int, iterations: int
) -> tuple[dict[str, Series], str | None]:
    """GET the one-year chart (SVG) beside its series statement alone, same window and width:
    `series_query` gives the statement the chart runs (daily roll-ups, plus any pending day
    from the raw readings) and its parameters."""
    from metrics.selectors import RANGES, series_query

    path = f"/metrics/{metric_id}/chart.svg?range=year"
    why = _missing(client, "GET", path, client.page_headers)
    if why:
        return {}, why
    span = RANGES["year"][1]
    series = {k: Series() for k in ("chart", "sql")}

    def chart():
        elapsed, queries, body = client.page(path)
        if b"<svg" not in body[:400]:
            raise SystemExit(f"bench: {path} did not answer an SVG: {body[:200]!r}")
        series["chart"].add(elapsed, queries, len(body))

    def sql():
        end = dt.datetime.now(dt.UTC)
        _width, text, params = series_query(metric_id, end - span, end)
        elapsed, n = timed_sql(db, text, params)
        series["sql"].add(elapsed, 1, n)

    steps = [chart, sql]
    for _ in range(3):
        for step in steps:
            step()
    for s in series.values():
        s.seconds.clear()
        s.queries.clear()
        s.rows.clear()
    log(f"one-year chart of metric {metric_id}: {iterations} interleaved rounds")
    for i in range(iterations):
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    return series, None


def chart_figures(
    s: dict[str, Series], why: str | None, readings: int | None
) -> list[dict[str, Any]]:
    name = f"One-year chart (SVG), 5-minute metric, {readings or 0:,} readings"
    if why:
        return [not_measured(name, "ms", why)]
    chart, sql = s["chart"], s["sql"]
    return [
        figure(
            name,
            chart.median_ms,
            "ms",
            reference=f"the chart's series statement alone (ROLLUP_SERIES_SQL: daily roll-ups "
            f"and pending days raw, {sql.rows[0]} buckets, psycopg2)",
            reference_value=sql.median_ms,
            target=("<=", 3),
            p95=round(chart.p95_ms, 2),
            reference_p95=round(sql.p95_ms, 3),
            queries=chart.query_count,
            samples=len(chart.seconds),
            svg_bytes=chart.rows[0],
            note="/metrics/<pk>/chart.svg?range=year; includes HTTP, the session and SVG drawing",
        )
    ]


# --- The readings list: the first page and a page after a cursor ----------------------------

READINGS_LIST_PATH = "/api/v1/metric-readings/"
READINGS_PAGE = 100
# The same rows the API answers, by the same keyset: every column it returns, the join for
# `metric_ref`, and one row more than the page (how the API knows there is a next page).
READINGS_LIST_SQL = """
SELECT r.id, r.metric_id, m.key, p.slug, r.taken_at, r.value, r.source, r.created_at,
       r.updated_at
  FROM metrics_reading r
  JOIN metrics_metric m ON m.id = r.metric_id
  JOIN products_product p ON p.id = m.product_id
 {where}
 ORDER BY r.metric_id, r.taken_at, r.source
 LIMIT %s
"""
READINGS_AFTER = "WHERE (r.metric_id, r.taken_at, r.source) > (%s, %s, %s) AND m.id >= %s"


def readings_cursor_row(db) -> tuple[int, dt.datetime, str]:
    """A key in the middle of the table: the first reading of the middle metric by id."""
    with db.cursor() as cur:
        cur.execute(
            "SELECT id FROM metrics_metric ORDER BY id "
            "OFFSET (SELECT count(*) / 2 FROM metrics_metric) LIMIT 1"
        )
        middle = cur.fetchone()[0]
        cur.execute(
            f"SELECT metric_id, taken_at, source FROM {READINGS_TABLE} WHERE metric_id >= %s "
            "ORDER BY metric_id, taken_at, source LIMIT 1",
            [middle],
        )
        return cur.fetchone()


def measure_readings_list(
    client: Client, db, iterations: int
) -> tuple[dict[str, Series], str | None]:
    """GET the readings list's first page and a page after a cursor in the middle of the
    table, each beside the raw SQL for the same rows by the same keyset."""
    from metrics.api.views import ReadingPagination

    first_path = f"{READINGS_LIST_PATH}?page_size={READINGS_PAGE}"
    why = _missing(client, "GET", first_path, client.api_headers)
    if why:
        return {}, why
    key = readings_cursor_row(db)
    cursor = ReadingPagination().encode(
        dict(zip(("metric_id", "taken_at", "source"), key, strict=True))
    )
    after_path = f"{first_path}&after={cursor}"
    series = {k: Series() for k in ("first", "first_sql", "after", "after_sql")}

    def api(name: str, path: str) -> None:
        elapsed, queries, body = client.api(path)
        page = json.loads(body)
        if "count" in page or len(page["results"]) != READINGS_PAGE or not page["next"]:
            raise SystemExit(f"bench: {path} answered no full keyset page: {body[:300]!r}")
        series[name].add(elapsed, queries, len(page["results"]))

    def sql(name: str, where: str, params: list) -> None:
        text = READINGS_LIST_SQL.format(where=where)
        elapsed, n = timed_sql(db, text, [*params, READINGS_PAGE + 1])
        series[name].add(elapsed, 1, n)

    steps = [
        lambda: api("first", first_path),
        lambda: sql("first_sql", "", []),
        lambda: api("after", after_path),
        lambda: sql("after_sql", READINGS_AFTER, [*key, key[0]]),
    ]
    for _ in range(3):
        for step in steps:
            step()
    for s in series.values():
        s.seconds.clear()
        s.queries.clear()
        s.rows.clear()
    log(f"readings list (keyset): {iterations} interleaved rounds")
    for i in range(iterations):
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    return series, None


def readings_list_figures(s: dict[str, Series], why: str | None) -> list[dict[str, Any]]:
    names = {
        "first": f"API readings list, first page of {READINGS_PAGE}",
        "after": f"API readings list, page of {READINGS_PAGE} after a cursor",
    }
    if why:
        return [not_measured(n, "ms", why) for n in names.values()]
    out = []
    for key, name in names.items():
        api, sql = s[key], s[f"{key}_sql"]
        out.append(
            figure(
                name,
                api.median_ms,
                "ms",
                reference=f"raw SQL, the same {READINGS_PAGE} rows (+1 for `next`) by the same "
                "keyset (psycopg2)",
                reference_value=sql.median_ms,
                target=("<=", 5),
                p95=round(api.p95_ms, 2),
                reference_p95=round(sql.p95_ms, 3),
                queries=api.query_count,
                samples=len(api.seconds),
                note=f"GET {READINGS_LIST_PATH}?page_size={READINGS_PAGE}"
                + ("&after=<a cursor in the middle of the table>" if key == "after" else "")
                + "; no COUNT: flat in the table's size",
            )
        )
    return out


# --- Exports: the readings as CSV and XLSX, N and 10 x N rows --------------------------------

# N per size; the large export is 10 x N (at M and L the issue's 100,000 readings). S stays
# small: CI runs it, and openpyxl writes some 10,000 rows a second.
EXPORT_ROWS = {"S": 2_000, "M": 10_000, "L": 10_000, "XL": 10_000}
EXPORT_START = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)  # before any generated reading

# 10 x N readings on one metric, a minute apart, in a time window nothing else uses; one in a
# hundred has a formula in its source (neutralised on the way out) and half the values are
# negative (they stay numbers).
EXPORT_READINGS_SQL = """
INSERT INTO metrics_reading (metric_id, taken_at, value, source, created_at, updated_at)
SELECT %(metric)s, %(start)s + i * interval '1 minute', (i %% 1000) - 499.5,
       CASE WHEN i %% 100 = 0 THEN '=HYPERLINK("https://example.org")' ELSE 'bench-export' END,
       now(), now()
FROM generate_series(0, %(rows)s - 1) AS i
"""


def measure_exports(db, fixtures: Fixtures, n: int, rounds: int) -> dict[str, Series]:
    """The readings export through the API (`?format=csv|xlsx` with `from`/`to` picking N or
    10 x N rows), in this process through Django's test client so that memory can be traced:
    a timed pass (rows/s) and a pass under tracemalloc (peak Python memory while the answer is
    made and read chunk by chunk). Flat memory: the 10 x N peak stays near the N peak."""
    import tracemalloc

    from django.db import connection
    from django.test import Client as DjangoClient

    with db.cursor() as cur:
        cur.execute("SELECT id FROM metrics_metric ORDER BY id LIMIT 1")
        metric = cur.fetchone()[0]
        cur.execute(EXPORT_READINGS_SQL, {"metric": metric, "start": EXPORT_START, "rows": 10 * n})
    api = DjangoClient(HTTP_X_FORWARDED_PROTO="https", HTTP_AUTHORIZATION=f"Token {fixtures.token}")
    series: dict[str, Series] = {}

    def export(fmt: str, rows: int) -> tuple[float, int]:
        end = EXPORT_START + dt.timedelta(minutes=rows)
        query = f"metric={metric}&from={EXPORT_START.isoformat()}&to={end.isoformat()}"
        path = f"/api/v1/metric-readings/?{query.replace('+', '%2B')}&format={fmt}"
        started = time.perf_counter()
        response = api.get(path)
        size = sum(len(chunk) for chunk in response.streaming_content)
        elapsed = time.perf_counter() - started
        response.close()
        if response.status_code != 200 or size == 0:
            raise SystemExit(f"bench: GET {path} answered {response.status_code}")
        return elapsed, size

    export("csv", 100)  # warm up: the first request of the process loads the URL conf
    export("xlsx", 100)
    for fmt in ("csv", "xlsx"):
        for rows in (n, 10 * n):
            timed, traced = Series(), Series()
            log(f"readings export: {fmt}, {rows:,} rows, {rounds} rounds")
            for _ in range(rounds):
                elapsed, size = export(fmt, rows)
                timed.add(elapsed, None, size)
                tracemalloc.start()
                export(fmt, rows)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                traced.add(peak / 2**20)  # MiB, kept in `seconds` for the median
            series[f"{fmt}_{rows}"] = timed
            series[f"{fmt}_{rows}_peak"] = traced
    with db.cursor() as cur:
        cur.execute(
            "DELETE FROM metrics_reading WHERE metric_id = %s AND taken_at < %s",
            [metric, EXPORT_START + dt.timedelta(minutes=10 * n)],
        )
    connection.close()
    return series


def export_figures(s: dict[str, Series], n: int) -> list[dict[str, Any]]:
    figures = []
    for fmt, label in (("csv", "CSV, streamed"), ("xlsx", "XLSX, write-only workbook")):
        small, large = n, 10 * n
        for rows in (small, large):
            timed = s[f"{fmt}_{rows}"]
            figures.append(
                figure(
                    f"Readings export {label}, {rows:,} rows",
                    rows / statistics.median(timed.seconds),
                    "rows/s",
                    samples=len(timed.seconds),
                    file_bytes=timed.rows[0],
                    note="API ?format=, in-process (Django test client), the answer read "
                    "chunk by chunk",
                )
            )
        peak_small = statistics.median(s[f"{fmt}_{small}_peak"].seconds)
        peak_large = statistics.median(s[f"{fmt}_{large}_peak"].seconds)
        figures.append(
            figure(
                f"Readings export {label}: peak memory, {large:,} rows",
                peak_large,
                "MiB",
                reference=f"the same export of {small:,} rows",
                reference_value=peak_small,
                target=("<=", 2),
                note="tracemalloc peak while the answer is made and read; flat memory keeps "
                "10x the rows within 2x the memory",
            )
        )
    return figures


# --- Analytics: one full run on a real worker, and the leaders' dashboard ----------------------

ANALYTICS_QUEUE = "bench-analytics"
# The worker's broker: a Redis database of the bench's own (BENCH_WORKER_REDIS_DB keeps two
# benches on one Redis server from taking each other's tasks).
ANALYTICS_REDIS_DB = int(os.environ.get("BENCH_WORKER_REDIS_DB", "14"))
ANALYTICS_ROUNDS = 3
HISTORY_WEEKS = 3  # earlier weekly snapshots, so the consecutive and weekly rules have a past
BACKLOG_TIMES = ("created_at", "updated_at", "started_at", "finished_at")


def move_to_run_clock(db) -> dt.timedelta:
    """Move the generated portfolio's clock from the generator's fixed "today" to the run's,
    in whole days: the analytics rules count their windows (90 days idle or finished, 180 days
    untouched, metric staleness) back from the server's clock, which the worker's run reads.
    Every backlog time moves, and each metric's latest reading time (the chart metric's,
    already moved, stays). VACUUM FULL afterwards, so the moved backlog is as compact as the
    generated one and the run scans no dead rows. The backlog's secondary indexes and unique
    constraint are dropped for the move and built again after it, as the generator does: at
    XL (2,000,000 items) updating them row by row, the deferred unique check included, took
    minutes."""
    from bench.generate import TODAY, _indexes_rebuilt

    day = dt.timedelta(days=1)
    delta = (dt.datetime.now(dt.UTC) - TODAY) // day * day
    sets = ", ".join(f"{c} = {c} + %(d)s" for c in BACKLOG_TIMES)
    with db.cursor() as cur:
        # Autocommit: the helper's SET LOCAL does nothing here, so the sorted index builds
        # get their memory from this session setting (the helper RESETs it at the end).
        cur.execute("SET maintenance_work_mem = '512MB'")
        with _indexes_rebuilt(cur, "backlog_backlogitem"):
            cur.execute(f"UPDATE backlog_backlogitem SET {sets}", {"d": delta})
            cur.execute("VACUUM FULL backlog_backlogitem")
        cur.execute("ANALYZE backlog_backlogitem")
        cur.execute(
            "UPDATE metrics_metric SET last_read_at = last_read_at + %(d)s "
            "WHERE last_read_at < %(edge)s",
            {"d": delta, "edge": TODAY + day},
        )
        cur.execute("VACUUM ANALYZE metrics_metric")
    return delta


def seed_history(weeks: int) -> list[dict[str, Any]]:
    """Finished snapshots a week apart before today (run here, with `now` set back), as a
    deployment's hourly runs would have left them: the owner-load streaks and the weekly
    crowding count read them."""
    from django.db import connection
    from django.utils import timezone

    from analytics.compute import run_snapshot

    out = []
    now = timezone.now()
    for k in range(weeks, 0, -1):
        started = time.perf_counter()
        snap = run_snapshot(wait=True, now=now - dt.timedelta(weeks=k))
        out.append(
            {"weeks_ago": k, "id": snap.pk, "seconds": round(time.perf_counter() - started, 2)}
        )
    connection.close()
    return out


def bench_worker(
    env: dict[str, str], broker: str, log_path: Path, queue: str = ANALYTICS_QUEUE
) -> CeleryWorker:
    """`celery -A portfolio worker` on one queue, one process, the solo pool: the production
    worker's code path on one core, seeing the run database."""
    options = [
        "--pool=solo", "--concurrency=1", "-Q", queue, "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
    ]  # fmt: skip
    env = {**env, "REDIS_URL": broker, "CELERY_BROKER_URL": broker}
    env.pop("BENCH_COUNT_QUERIES", None)
    return CeleryWorker(env, options, log_path, "bench")


def analytics_reference() -> dict[str, float]:
    """The run's own SQL alone: in this process, in one transaction that is rolled back, a
    snapshot row, then every step function of compute.STEPS in order and update_signals,
    each timed. No Celery, no per-step commits, no progress updates, no lock."""
    from django.db import connection, transaction
    from django.utils import timezone

    from analytics import compute
    from analytics.models import Snapshot, SnapshotStatus, Trigger
    from portfolio.models import PortfolioSettings

    class Rollback(Exception):
        pass

    timings: dict[str, float] = {}
    try:
        with transaction.atomic():
            now = timezone.now()
            snap = Snapshot.objects.create(
                started_at=now, trigger=Trigger.MANUAL, status=SnapshotStatus.RUNNING
            )
            ctx = compute.Context(snapshot=snap, settings=PortfolioSettings.load(), now=now)
            for label, step in compute.STEPS:
                started = time.perf_counter()
                with connection.cursor() as cursor:
                    step(cursor, ctx)
                timings[label] = time.perf_counter() - started
            started = time.perf_counter()
            compute.update_signals(ctx)
            timings["Split signals"] = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return timings


def analytics_worker_round(db, app) -> tuple[float, float, dict[str, Any]]:
    """Queue one run as "recompute now" does (a snapshot row, then the task on commit) and
    wait for the row to be done: (seconds from dispatch to done seen, the row's own
    finished_at - started_at, what the run wrote)."""
    from django.db import connection
    from django.utils import timezone

    from analytics.models import Snapshot, Trigger

    snap_id = Snapshot.objects.create(
        started_at=timezone.now(), trigger=Trigger.MANUAL, step_label="Queued"
    ).pk
    connection.close()
    started = time.perf_counter()
    app.send_task(
        "analytics.tasks.compute_portfolio_analytics",
        args=[snap_id],
        kwargs={"wait": True},
        queue=ANALYTICS_QUEUE,
    )
    deadline = time.monotonic() + 600
    with db.cursor() as cur:
        while True:
            cur.execute(
                "SELECT status, finished_at - started_at, error, results "
                "FROM analytics_snapshot WHERE id = %s",
                [snap_id],
            )
            status, duration, error, results = cur.fetchone()
            if status == "done":
                break
            if status == "failed":
                raise SystemExit(f"bench: analytics run {snap_id} failed: {error}")
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: analytics run {snap_id} did not finish in 10 minutes")
            time.sleep(0.02)
    elapsed = time.perf_counter() - started
    return elapsed, duration.total_seconds(), {"snapshot": snap_id, **(results or {})}


ANALYTICS_COUNTS_SQL = """
SELECT (SELECT count(*) FROM analytics_unitstate WHERE snapshot_id = %(s)s),
       (SELECT count(*) FILTER (WHERE active) FROM analytics_unitstate WHERE snapshot_id = %(s)s),
       (SELECT count(*) FILTER (WHERE NOT accountable)
          FROM analytics_unitstate WHERE snapshot_id = %(s)s),
       (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n
          FROM analytics_ownerload WHERE snapshot_id = %(s)s GROUP BY status) o),
       (SELECT count(*) FROM analytics_ownerload WHERE snapshot_id = %(s)s AND design_problem),
       (SELECT count(*) FROM analytics_ownerload
         WHERE snapshot_id = %(s)s AND design_problem AND suggestions <> '[]'::jsonb),
       (SELECT jsonb_object_agg(kind, n) FROM (SELECT kind, count(*) AS n
          FROM analytics_signalobservation WHERE snapshot_id = %(s)s GROUP BY kind) k),
       (SELECT jsonb_object_agg(kind, n) FROM (SELECT kind, count(*) AS n
          FROM analytics_splitsignal WHERE status = 'open' GROUP BY kind) k),
       (SELECT count(*) FROM analytics_candidate WHERE snapshot_id = %(s)s),
       (SELECT count(*) FROM analytics_snapshot WHERE status = 'done')
"""


def analytics_counts(db, snap_id: int) -> dict[str, Any]:
    """What a run found, so the figure shows the rules had something to do at this size."""
    with db.cursor() as cur:
        cur.execute(ANALYTICS_COUNTS_SQL, {"s": snap_id})
        row = cur.fetchone()
    keys = (
        "units", "active_units", "orphan_units", "owner_status", "design_problems",
        "design_problems_with_groupings", "observations", "open_signals", "candidates",
        "done_snapshots",
    )  # fmt: skip
    return dict(zip(keys, row, strict=True))


def measure_analytics(db, size: str, rounds: int) -> tuple[dict, dict]:
    """The full analytics run on one worker beside its SQL alone, interleaved."""
    from celery import Celery

    log("analytics: moving the portfolio to the run's clock")
    started = time.perf_counter()
    delta = move_to_run_clock(db)
    prepare = {"clock_shift_days": delta.days, "shift_seconds": 0.0}
    prepare["shift_seconds"] = round(time.perf_counter() - started, 1)
    log(f"analytics: {HISTORY_WEEKS} earlier weekly snapshots (run here with an earlier clock)")
    prepare["history"] = seed_history(HISTORY_WEEKS)

    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parts = urlsplit(redis_url)
    broker = urlunsplit((parts.scheme, parts.netloc, f"/{ANALYTICS_REDIS_DB}", "", ""))
    app = Celery("bench-dispatch", broker=broker)
    app.conf.update(broker_connection_timeout=5, task_ignore_result=True)
    worker = bench_worker(dict(os.environ), broker, RESULTS / f"celery-{size}.log")
    series = {k: Series() for k in ("dispatch", "row", "sql")}
    steps: dict[str, list[float]] = {}
    last: dict[str, Any] = {}
    try:
        worker.wait_ready()
        log("analytics: worker ready; one warm-up run, then interleaved rounds")
        analytics_worker_round(db, app)  # imports, connections and caches, as a live worker has

        def on_worker() -> None:
            elapsed, own, results = analytics_worker_round(db, app)
            series["dispatch"].add(elapsed)
            series["row"].add(own)
            last.update(results)

        def sql_alone() -> None:
            timings = analytics_reference()
            series["sql"].add(sum(timings.values()))
            for label, seconds in timings.items():
                steps.setdefault(label, []).append(seconds)

        pair = [on_worker, sql_alone]
        for i in range(rounds):
            for step in pair if i % 2 == 0 else reversed(pair):
                step()
            log(
                f"analytics round {i + 1}: worker {series['dispatch'].seconds[-1]:.2f} s, "
                f"SQL alone {series['sql'].seconds[-1]:.2f} s"
            )
    finally:
        worker.stop()
        app.close()
    prepare["steps_median_ms"] = {k: round(_median(v) * 1000, 1) for k, v in steps.items()}
    prepare["found"] = analytics_counts(db, last["snapshot"])
    return series, prepare


def analytics_figures(s: dict[str, Series], prepare: dict[str, Any]) -> list[dict[str, Any]]:
    dispatch, row, sql = s["dispatch"], s["row"], s["sql"]
    found = prepare["found"]
    note = (
        f"compute_portfolio_analytics on one worker (--pool=solo, own queue); the portfolio's "
        f"clock moved {prepare['clock_shift_days']} days to the run's; "
        f"{len(prepare['history'])} earlier weekly snapshots; found: {found}"
    )
    return [
        figure(
            "Analytics run on one worker (dispatch to snapshot done)",
            _median(dispatch.seconds),
            "s",
            target=("<=", 10),
            worst=round(max(dispatch.seconds), 2),
            run_seconds=round(_median(row.seconds), 3),
            samples=len(dispatch.seconds),
            note=note,
        ),
        figure(
            "Analytics run vs its SQL alone (steps in one rolled-back transaction)",
            _median(dispatch.seconds),
            "s",
            reference="compute.STEPS + update_signals, timed in the bench process",
            reference_value=_median(sql.seconds),
            target=("<=", 3),
            run_seconds=round(_median(row.seconds), 3),
            steps_ms=prepare["steps_median_ms"],
            samples=len(sql.seconds),
        ),
    ]


DASHBOARD_PATH = "/dashboard/"

# What the dashboard shows, by hand: the over-the-ceiling trend (whose newest row is the latest
# finished snapshot) and any run under way, the filter bar's clusters and owners, the units
# grouped by stage, coverage and health, the first orphans, owners by load status and the first
# over the ceiling, the open signals (first ones and how many), the first candidates, and the
# settings row. The page reads the same data in the same statements (tests/docs holds the count).
# The days ahead the dashboard's reviews-due panel looks: analytics.dashboard.REVIEWS_DUE_DAYS
# (the runner imports no app; a test holds the two equal).
REVIEWS_DUE_DAYS = 14
DASHBOARD_SQL = [
    # the over-the-ceiling trend, newest first: its first row is the latest snapshot
    """SELECT s.id, s.started_at, s.finished_at, s.results, s.thresholds,
              (SELECT count(*) FROM analytics_ownerload o
                WHERE o.snapshot_id = s.id AND o.status IN ('over', 'triaging'))
         FROM analytics_snapshot s WHERE s.status = 'done'
        ORDER BY s.started_at DESC, s.id DESC LIMIT 12""",
    """SELECT id, started_at, step, steps, step_label FROM analytics_snapshot
        WHERE status = 'running' ORDER BY started_at DESC LIMIT 1""",
    "SELECT * FROM portfolio_portfoliosettings ORDER BY id LIMIT 1",
    "SELECT id, name, slug FROM products_cluster ORDER BY name",
    """SELECT DISTINCT p.id, p.name FROM products_person p
         JOIN products_ownershipunit u ON u.owner_id = p.id AND u.is_active ORDER BY p.name""",
    """SELECT stage, accountable, active, health, count(*) FROM analytics_unitstate
        WHERE snapshot_id = %(s)s GROUP BY 1, 2, 3, 4""",
    """SELECT us.id, us.name, us.stage, us.members, us.unit_id, o.name, c.slug, pr.slug
         FROM analytics_unitstate us
         JOIN products_ownershipunit u ON u.id = us.unit_id
         LEFT JOIN products_person o ON o.id = us.owner_id
         LEFT JOIN products_cluster c ON c.id = u.cluster_id
         LEFT JOIN products_product pr ON pr.id = u.product_id
        WHERE us.snapshot_id = %(s)s AND NOT us.accountable
        ORDER BY us.name, us.id LIMIT 10""",
    """SELECT status, count(*) FROM analytics_ownerload WHERE snapshot_id = %(s)s
        GROUP BY status""",
    """SELECT l.id, l.active_units, l.stable_units, l.status, l.consecutive_over,
              l.design_problem, l.suggestions, p.id, p.name
         FROM analytics_ownerload l JOIN products_person p ON p.id = l.person_id
        WHERE l.snapshot_id = %(s)s AND l.status IN ('over', 'triaging')
        ORDER BY l.design_problem DESC, l.consecutive_over DESC, p.name LIMIT 15""",
    # the first open signals and, before the LIMIT, how many there are
    """SELECT s.id, s.kind, s.evidence, s.opened_at, c.name, c.slug, p.name, p.slug,
              count(*) OVER ()
         FROM analytics_splitsignal s
         JOIN products_cluster c ON c.id = s.cluster_id
         JOIN products_product p ON p.id = s.product_id
        WHERE s.status = 'open' ORDER BY s.opened_at DESC, s.id LIMIT 10""",
    """SELECT c.rank, c.score, c.reasons, p.name, p.slug FROM analytics_candidate c
         JOIN products_product p ON p.id = c.product_id
        WHERE c.snapshot_id = %(s)s ORDER BY c.rank LIMIT 5""",
    # the drill-down's live counts: products by stage and products of orphan units (one
    # statement), metrics by status
    """SELECT count(*) FILTER (WHERE u.owner_id IS NULL OR NOT o.active OR NOT au.is_active),
              count(*) FILTER (WHERE p.lifecycle_stage = 'introduction'),
              count(*) FILTER (WHERE p.lifecycle_stage = 'growth'),
              count(*) FILTER (WHERE p.lifecycle_stage = 'maturity'),
              count(*) FILTER (WHERE p.lifecycle_stage = 'retirement')
         FROM products_product p
         LEFT JOIN products_ownershipunit u ON u.id = p.unit_id
         LEFT JOIN products_person o ON o.id = u.owner_id
         LEFT JOIN auth_user au ON au.id = o.user_id""",
    """SELECT CASE
              WHEN m.last_read_at IS NULL THEN 1
              WHEN m.last_read_at < now() - m.expected_interval * COALESCE(
                  (SELECT stale_interval_multiple FROM portfolio_portfoliosettings
                    ORDER BY id LIMIT 1), 2) THEN 2
              WHEN (m.better = 'higher' AND m.last_value < m.critical)
                OR (m.better = 'lower' AND m.last_value > m.critical) THEN 4
              WHEN (m.better = 'higher' AND m.last_value < COALESCE(m.warning, m.target))
                OR (m.better = 'lower' AND m.last_value > COALESCE(m.warning, m.target)) THEN 3
              ELSE 0 END, count(*)
         FROM metrics_metric m GROUP BY 1""",
    # the reviews due in the next REVIEWS_DUE_DAYS, per cycle
    f"""SELECT r.cycle_id, c.year, c.quarter,
              count(*) FILTER (WHERE r.scheduled_on < current_date),
              count(*) FILTER (WHERE r.scheduled_on >= current_date),
              min(r.scheduled_on) FILTER (WHERE r.scheduled_on >= current_date)
         FROM reviews_review r JOIN reviews_reviewcycle c ON c.id = r.cycle_id
        WHERE r.scheduled_on <= current_date + {REVIEWS_DUE_DAYS} AND r.status = 'scheduled'
        GROUP BY 1, 2, 3 ORDER BY 2, 3""",
]


def dashboard_sql(db) -> tuple[float, int]:
    """Every statement above, one after the other: (seconds, rows)."""
    started = time.perf_counter()
    rows = 0
    with db.cursor() as cur:
        cur.execute(DASHBOARD_SQL[0])
        latest = cur.fetchall()
        snap = latest[0][0]
        for sql in DASHBOARD_SQL[1:]:
            cur.execute(sql, {"s": snap})
            rows += len(cur.fetchall())
    return time.perf_counter() - started, rows


def measure_dashboard(client: Client, db, iterations: int) -> tuple[dict[str, Series], str | None]:
    why = _missing(client, "GET", DASHBOARD_PATH, client.page_headers)
    if why:
        return {}, why
    series = {k: Series() for k in ("page", "sql")}

    def page():
        elapsed, queries, body = client.page(DASHBOARD_PATH)
        if b"<html" not in body[:400].lower():
            raise SystemExit(f"bench: {DASHBOARD_PATH} did not answer a page: {body[:200]!r}")
        series["page"].add(elapsed, queries, len(body))

    def sql():
        elapsed, n = dashboard_sql(db)
        series["sql"].add(elapsed, len(DASHBOARD_SQL), n)

    steps = [page, sql]
    for _ in range(3):
        for step in steps:
            step()
    for s in series.values():
        s.seconds.clear()
        s.queries.clear()
        s.rows.clear()
    log(f"dashboard: {iterations} interleaved rounds")
    for i in range(iterations):
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    return series, None


def dashboard_figures(s: dict[str, Series], why: str | None) -> list[dict[str, Any]]:
    name = "Dashboard page (HTML), leader, latest snapshot"
    if why:
        return [not_measured(name, "ms", why), not_measured(f"{name}: queries", "queries", why)]
    page, sql = s["page"], s["sql"]
    return [
        figure(
            name,
            page.median_ms,
            "ms",
            reference=f"its SQL by hand ({len(DASHBOARD_SQL)} statements, psycopg2)",
            reference_value=sql.median_ms,
            target=("<=", 5),
            p95=round(page.p95_ms, 2),
            reference_p95=round(sql.p95_ms, 3),
            queries=page.query_count,
            samples=len(page.seconds),
            html_bytes=page.rows[0],
            note=f"{DASHBOARD_PATH}; includes HTTP, the session and the template",
        ),
        figure(
            "Dashboard page queries",
            page.query_count,
            "queries",
            target=("<=", 20),
            note="server-side, session and authentication included; must not grow with size",
        ),
    ]


# --- Events: the change feed ------------------------------------------------------------------

EVENTS_PAGE = 100
EVENTS_PATH = "/api/v1/events/?after={after}&page_size=" + str(EVENTS_PAGE)
# The same page by hand: the columns the feed's Output reads, after the cursor, in feed order
# (the bench's login is a leader, so no type is left out).
EVENTS_SQL = """SELECT id, position, type, at, actor_id, actor_name, job, object_type,
                       object_id, data, changed
                  FROM portfolio_event WHERE position > %(after)s
                 ORDER BY position LIMIT %(limit)s"""
EVENTS_WANTED = 2000


def events_cursor(db) -> int:
    """A cursor with a full page after it, well inside the feed. A portfolio with too few
    events (say, measured with --skip-upsert) gets some: one per product, its row as the
    body (committed one statement at a time, so the commit trigger gives their positions)."""
    with db.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM (SELECT 1 FROM portfolio_event LIMIT %s) e", [EVENTS_WANTED]
        )
        have = cur.fetchone()[0]
        if have < EVENTS_WANTED:
            cur.execute(
                """INSERT INTO portfolio_event (type, at, actor_name, job, object_type, object_id,
                                                data, changed)
                   SELECT 'product.updated', now(), 'bench', '', 'product', p.id, to_jsonb(p),
                          jsonb_build_object('description', jsonb_build_array('', p.name))
                     FROM products_product p, generate_series(1, %s) g
                    LIMIT %s""",
                [EVENTS_WANTED, EVENTS_WANTED - have],
            )
        cur.execute(
            "SELECT position FROM portfolio_event WHERE position IS NOT NULL "
            "ORDER BY position OFFSET %s LIMIT 1",
            [EVENTS_WANTED // 2],
        )
        return cur.fetchone()[0]


def measure_events(client: Client, db, iterations: int) -> tuple[dict[str, Series], str | None]:
    why = _missing(client, "GET", "/api/v1/events/?page_size=1", client.api_headers)
    if why:
        return {}, why
    after = events_cursor(db)
    path = EVENTS_PATH.format(after=after)
    series = {k: Series() for k in ("api", "sql")}

    def api():
        elapsed, queries, data = client.api(path)
        series["api"].add(elapsed, queries, len(json.loads(data)["results"]))

    def sql():
        started = time.perf_counter()
        with db.cursor() as cur:
            cur.execute(EVENTS_SQL, {"after": after, "limit": EVENTS_PAGE})
            rows = cur.fetchall()
        series["sql"].add(time.perf_counter() - started, 1, len(rows))

    steps = [api, sql]
    for _ in range(3):
        for step in steps:
            step()
    for s in series.values():
        s.seconds.clear()
        s.queries.clear()
        s.rows.clear()
    log(f"event feed: {iterations} interleaved rounds")
    for i in range(iterations):
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    return series, None


def events_figures(s: dict[str, Series], why: str | None) -> list[dict[str, Any]]:
    name = f"API event feed, page of {EVENTS_PAGE} after a cursor"
    if why:
        return [not_measured(name, "ms", why)]
    api, sql = s["api"], s["sql"]
    return [
        figure(
            name,
            api.median_ms,
            "ms",
            reference=f"raw SQL, same {sql.rows[0]} rows (psycopg2)",
            reference_value=sql.median_ms,
            target=("<=", 5),
            p95=round(api.p95_ms, 2),
            reference_p95=round(sql.p95_ms, 3),
            queries=api.query_count,
            samples=len(api.seconds),
            note="/api/v1/events/?after=<cursor>&page_size=100; token auth, leader",
        ),
    ]


# --- Webhooks: fan-out and signed sends to a local receiver ---------------------------------

WEBHOOK_EVENTS = 2000
# A receiver as fast as a small real one: keep-alive HTTP/1.1, answers 204 with no body.
RECEIVER = r"""
import sys
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


def measure_webhooks(db, n: int = WEBHOOK_EVENTS) -> tuple[dict[str, Any], str | None]:
    """`n` committed events (one per object, `product.updated`), one endpoint subscribed to
    all, pointing at a receiver in a subprocess; then the webhook tick (fan-out and sends) run
    in this process, as one worker runs it, until every delivery is delivered."""
    from django.test import override_settings

    from webhooks.models import Delivery, Endpoint, FanOutCursor
    from webhooks.tasks import run_tick

    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        with db.cursor() as cur:
            cur.execute("SELECT coalesce(max(position), 0) FROM portfolio_event")
            start = cur.fetchone()[0]
            cur.execute(
                """INSERT INTO portfolio_event (type, at, actor_name, job, object_type, object_id,
                                                data, changed)
                   SELECT 'product.updated', now(), 'bench', '', 'product', 900000000 + g,
                          jsonb_build_object('id', 900000000 + g, 'name', 'Bench ' || g),
                          jsonb_build_object('description', jsonb_build_array('', 'x'))
                     FROM generate_series(1, %s) g""",
                [n],
            )
        Delivery.objects.all().delete()
        Endpoint.objects.all().delete()
        FanOutCursor.objects.update_or_create(pk=1, defaults={"position": start})
        endpoint = Endpoint.objects.create(
            url=f"http://127.0.0.1:{port}/hook", event_types=["all"],
            secret="whsec_bench-0123456789", start_position=start,
        )  # fmt: skip
        with override_settings(WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"]):
            log(f"webhooks: fan-out and send of {n} events to one endpoint, in-process")
            started = time.perf_counter()
            ticks = 0
            while endpoint.deliveries.filter(status="delivered").count() < n:
                run_tick()
                ticks += 1
                if time.perf_counter() - started > 300:
                    return {}, "not measured: the deliveries did not finish within 5 minutes"
            elapsed = time.perf_counter() - started
        failed = endpoint.deliveries.exclude(status="delivered").count()
        endpoint.delete()
    finally:
        receiver.kill()
        receiver.wait()
        with db.cursor() as cur:
            cur.execute("DELETE FROM portfolio_event WHERE object_id > 900000000")
    per_second = n / elapsed
    log(f"webhooks: {n} deliveries in {elapsed:.1f} s ({per_second:.0f}/s)")
    return {"deliveries": n, "seconds": elapsed, "per_second": per_second, "ticks": ticks,
            "failed": failed}, None  # fmt: skip


def webhooks_figures(result: dict[str, Any], why: str | None) -> list[dict[str, Any]]:
    name = "Webhook fan-out and delivery"
    if why:
        return [not_measured(name, "deliveries/s", why)]
    return [
        figure(
            name,
            result["per_second"],
            "deliveries/s",
            target=(">=", 200),
            deliveries=result["deliveries"],
            seconds=round(result["seconds"], 2),
            note=(
                f"{result['deliveries']} events, one endpoint, a local keep-alive receiver; "
                "webhooks.tasks.run_tick in the runner's process (one worker's work), "
                f"{settings_threads()} send threads"
            ),
        )
    ]


def settings_threads() -> int:
    from django.conf import settings

    return int(settings.WEBHOOK_SEND_THREADS)


def webhooks_alone() -> int:
    """`python -m bench.run --only-webhooks`: the webhook figure alone, on the migrated
    database DATABASE_URL names (its events are added and removed again)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()
    db = psycopg2.connect(os.environ["DATABASE_URL"])
    db.autocommit = True
    try:
        result, why = measure_webhooks(db)
    finally:
        db.close()
    print(json.dumps(webhooks_figures(result, why), indent=2))
    return 0


# --- Funding: the portfolio's money by lifecycle stage and mode, and the approval queue ------

FUNDING_PATH = "/funding/?year={year}"
QUEUE_PATH = "/funding/requests/?fiscal_year={year}"
# A unit's stage: the one most of its live members are in, ties to the earlier stage.
_UNIT_STAGE = """(SELECT p.lifecycle_stage FROM products_product p
          WHERE p.unit_id = {t}.unit_id AND p.lifecycle_stage <> 'retired'
          GROUP BY p.lifecycle_stage
          ORDER BY count(*) DESC,
                   array_position(ARRAY['introduction', 'growth', 'maturity', 'retirement'],
                                  p.lifecycle_stage::text)
          LIMIT 1)"""
# What /funding/ reads, by hand: the years its year select offers (every year with an
# allocation or a request), the year's allocations summed by (unit stage, mode), and its
# approved and waiting requests summed by (unit stage, the unit's mode that year).
FUNDING_SQL = [
    """SELECT fiscal_year FROM funding_fundingallocation
       UNION SELECT fiscal_year FROM funding_investmentrequest""",
    f"""SELECT {_UNIT_STAGE.format(t="a")} AS stage, a.mode, sum(a.operations_amount),
              sum(a.improvement_amount), count(*)
         FROM funding_fundingallocation a
        WHERE a.fiscal_year = %(year)s
        GROUP BY 1, 2""",
    f"""SELECT {_UNIT_STAGE.format(t="r")} AS stage, al.mode,
              sum(r.amount) FILTER (WHERE r.status = 'approved'),
              sum(r.amount) FILTER (WHERE r.status = 'submitted')
         FROM funding_investmentrequest r
         LEFT JOIN funding_fundingallocation al
                ON al.unit_id = r.unit_id AND al.fiscal_year = r.fiscal_year
        WHERE r.fiscal_year = %(year)s AND r.status IN ('approved', 'submitted')
        GROUP BY 1, 2""",
]


def funding_sql(db, year: int) -> tuple[float, int]:
    """Every statement, one after the other: (seconds, rows of the grouped two)."""
    started = time.perf_counter()
    rows = 0
    with db.cursor() as cur:
        for n, sql in enumerate(FUNDING_SQL):
            cur.execute(sql, {"year": year})
            fetched = len(cur.fetchall())
            rows += fetched if n else 0
    return time.perf_counter() - started, rows


def measure_funding(
    client: Client, db, year: int, iterations: int
) -> tuple[dict[str, Series], str | None]:
    page_path, queue_path = FUNDING_PATH.format(year=year), QUEUE_PATH.format(year=year)
    why = _missing(client, "GET", page_path, client.page_headers)
    if why:
        return {}, why
    series = {k: Series() for k in ("page", "sql", "queue")}

    def page():
        elapsed, queries, body = client.page(page_path)
        if f"{year}".encode() not in body or b"<html" not in body[:400].lower():
            raise SystemExit(f"bench: {page_path} did not answer the year's page: {body[:200]!r}")
        series["page"].add(elapsed, queries, len(body))

    def sql():
        elapsed, n = funding_sql(db, year)
        series["sql"].add(elapsed, len(FUNDING_SQL), n)

    def queue():
        elapsed, queries, body = client.page(queue_path)
        series["queue"].add(elapsed, queries, body.count(b"<tr"))

    steps = [page, sql, queue]
    for _ in range(3):
        for step in steps:
            step()
    for s in series.values():
        s.seconds.clear()
        s.queries.clear()
        s.rows.clear()
    log(f"funding: {iterations} interleaved rounds, fiscal year {year}")
    for i in range(iterations):
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    return series, None


def funding_figures(s: dict[str, Series], why: str | None, shape: dict) -> list[dict[str, Any]]:
    name = "Funding by stage and mode page (HTML), leader, one fiscal year"
    queue_name = "Funding approval queue page (HTML), leader, waiting requests"
    if why:
        return [
            not_measured(name, "ms", why),
            not_measured("Funding page queries", "queries", why),
            not_measured(queue_name, "ms", why),
        ]
    page, sql, queue = s["page"], s["sql"], s["queue"]
    year = shape["funding_year"]
    data = (
        f"{shape['funding_allocations']:,} allocations and {shape['investment_requests']:,} "
        f"requests in {year}"
    )
    return [
        figure(
            name,
            page.median_ms,
            "ms",
            reference=(
                f"its three reads by hand (the year list and two grouped queries, "
                f"{sql.rows[0]} rows; psycopg2)"
            ),
            reference_value=sql.median_ms,
            target=("<=", 5),
            p95=round(page.p95_ms, 2),
            reference_p95=round(sql.p95_ms, 3),
            queries=page.query_count,
            samples=len(page.seconds),
            html_bytes=page.rows[0],
            note=f"{FUNDING_PATH.format(year=year)}; {data}; includes HTTP, the session, the "
            "chart and the template",
        ),
        figure(
            "Funding page queries",
            page.query_count,
            "queries",
            target=("<=", 12),
            note="server-side, session and authentication included; must not grow with size",
        ),
        figure(
            queue_name,
            queue.median_ms,
            "ms",
            p95=round(queue.p95_ms, 2),
            queries=queue.query_count,
            samples=len(queue.seconds),
            note=f"{QUEUE_PATH.format(year=year)} (first page of {queue.rows[0]} table rows); "
            "information",
        ),
    ]


# --- Quarterly reviews: packets on one real worker, the PDF, the packet and review pages -----

REVIEWS_QUEUE = "bench-reviews"
PACKETS = {"S": 40, "M": 200, "L": 400, "XL": 400}  # packets generated on the worker
PDF_SAMPLE = {"S": 3, "M": 10, "L": 20, "XL": 20}  # stored packets printed in the bench process
PACKET_PATH = "/reviews/packets/{pk}/"
REVIEW_PATH = "/reviews/{pk}/"
PACKET_SQL = "SELECT html FROM reviews_packet WHERE id = %s"


def schedule_cycle() -> dict[str, Any]:
    """This quarter's cycle for every reviewable unit (reviews.services.cycle_schedule, as a
    leader), and a pending packet for each review (cycle_generate_packets without dispatch:
    the bench sends the tasks itself). Returns the cycle, the counts, and the packets in
    agenda order."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from reviews.models import Packet
    from reviews.services import cycle_generate_packets, cycle_schedule

    actor = get_user_model().objects.get(username="bench-leader")
    today = timezone.localdate()
    started = time.perf_counter()
    result = cycle_schedule(actor=actor, year=today.year, quarter=(today.month - 1) // 3 + 1)
    scheduled = time.perf_counter() - started
    started = time.perf_counter()
    fan = cycle_generate_packets(actor=actor, cycle=result.cycle, dispatch=False)
    made = time.perf_counter() - started
    packets = list(
        Packet.objects.filter(review__cycle=result.cycle)
        .order_by("review__scheduled_on", "review__position", "review_id")
        .values_list("pk", "review_id")
    )
    connection.close()
    return {
        "cycle": result.cycle.pk,
        "reviews": result.created + result.existing,
        "schedule_seconds": round(scheduled, 2),
        "pending_packets": fan.queued,
        "make_packets_seconds": round(made, 2),
        "packets": packets,
    }


def wait_packets(db, ids: list[int], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    with db.cursor() as cur:
        while True:
            cur.execute(
                "SELECT count(*) FILTER (WHERE status = 'done'), "
                "count(*) FILTER (WHERE status = 'failed'), max(error) "
                "FROM reviews_packet WHERE id = ANY(%s)",
                [ids],
            )
            done, failed, error = cur.fetchone()
            if failed:
                raise SystemExit(f"bench: {failed} packet(s) failed: {error}")
            if done == len(ids):
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: {len(ids) - done} packets not done in time")
            time.sleep(0.05)


def measure_packets(db, size: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """generate_packet(pk, pdf=False) for PACKETS[size] packets on one worker (solo pool, own
    queue): from the first dispatch to the last packet done, and the worker's own rate from
    the rows' generated_at; then render_packet_pdf on a sample of the stored HTML here."""
    from celery import Celery

    from reviews.packets import render_packet_pdf

    log("reviews: scheduling this quarter's cycle for every reviewable unit")
    plan = schedule_cycle()
    ids = [pk for pk, _ in plan.pop("packets")]
    n = min(PACKETS[size], len(ids) - 5)
    if n < 5:
        raise SystemExit(f"bench: only {len(ids)} reviews to make packets for")
    warmup, measured = ids[-5:], ids[:n]
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parts = urlsplit(redis_url)
    broker = urlunsplit((parts.scheme, parts.netloc, f"/{ANALYTICS_REDIS_DB}", "", ""))
    app = Celery("bench-dispatch", broker=broker)
    app.conf.update(broker_connection_timeout=5, task_ignore_result=True)
    worker = bench_worker(
        dict(os.environ), broker, RESULTS / f"celery-reviews-{size}.log", REVIEWS_QUEUE
    )

    def dispatch(batch: list[int]) -> None:
        for pk in batch:
            app.send_task(
                "reviews.tasks.generate_packet",
                args=[pk],
                kwargs={"pdf": False},
                queue=REVIEWS_QUEUE,
            )

    try:
        worker.wait_ready()
        dispatch(warmup)  # imports, template loading and connections, as a live worker has
        wait_packets(db, warmup)
        log(f"reviews: worker ready; {n} packets (data and HTML, no PDF)")
        started = time.perf_counter()
        dispatch(measured)
        wait_packets(db, measured)
        elapsed = time.perf_counter() - started
    finally:
        worker.stop()
        app.close()
    with db.cursor() as cur:
        cur.execute(
            "SELECT min(generated_at), max(generated_at), avg(length(html)), "
            "avg(length(data::text)), count(*) FILTER (WHERE pdf_at IS NOT NULL) "
            "FROM reviews_packet WHERE id = ANY(%s)",
            [measured],
        )
        first, last, html_len, data_len, pdfs = cur.fetchone()
    if pdfs:
        raise SystemExit(f"bench: {pdfs} packets were printed although the PDF was off")
    span = (last - first).total_seconds()
    packets = {
        **plan,
        "packets": n,
        "seconds": round(elapsed, 2),
        "per_second": n / elapsed,
        "worker_per_second": (n - 1) / span if span else None,
        "html_kb": round(float(html_len) / 1024, 1),
        "data_kb": round(float(data_len) / 1024, 1),
    }
    log(f"reviews: {n} packets in {elapsed:.1f} s ({n / elapsed:.1f}/s)")

    sample = measured[:: max(len(measured) // PDF_SAMPLE[size], 1)][: PDF_SAMPLE[size]]
    pdf = Series()
    with db.cursor() as cur:
        cur.execute("SELECT html FROM reviews_packet WHERE id = %s", [sample[0]])
        render_packet_pdf(cur.fetchone()[0])  # WeasyPrint's fonts and styles, loaded once
        for pk in sample:
            cur.execute("SELECT html FROM reviews_packet WHERE id = %s", [pk])
            html = cur.fetchone()[0]
            started = time.perf_counter()
            data = render_packet_pdf(html)
            pdf.add(time.perf_counter() - started, rows=len(data))
    log(f"reviews: {len(sample)} PDFs, median {statistics.median(pdf.seconds):.2f} s")
    return packets, {"pdf": pdf, "sample": sample}


def measure_review_pages(
    client: Client, db, packet_ids: list[int], iterations: int
) -> tuple[dict[str, Series], dict[str, str], dict[str, Any]]:
    """The stored packet page and the review page through gunicorn, beside reading the
    packet's HTML with psycopg2; interleaved."""
    with db.cursor() as cur:
        cur.execute(
            "SELECT p.id, p.review_id FROM reviews_packet p WHERE p.id = ANY(%s) "
            "ORDER BY length(p.html) DESC, p.id LIMIT 1",
            [packet_ids],
        )
        packet_id, review_id = cur.fetchone()
    paths = {"packet": PACKET_PATH.format(pk=packet_id), "review": REVIEW_PATH.format(pk=review_id)}
    skipped = {}
    for key, path in list(paths.items()):
        why = _missing(client, "GET", path, client.page_headers)
        if why:
            skipped[key] = why
            del paths[key]
    series = {k: Series() for k in [*paths, "sql"]}

    def getter(key: str, path: str):
        def get() -> None:
            elapsed, queries, body = client.page(path)
            series[key].add(elapsed, queries, len(body))

        return get

    def sql() -> None:
        with db.cursor() as cur:
            started = time.perf_counter()
            cur.execute(PACKET_SQL, [packet_id])
            html = cur.fetchone()[0]
            series["sql"].add(time.perf_counter() - started, 1, len(html))

    steps = [getter(k, p) for k, p in paths.items()] + [sql]
    for _ in range(3):
        for step in steps:
            step()
    for s in series.values():
        s.seconds.clear()
        s.queries.clear()
        s.rows.clear()
    log(f"reviews: pages, {iterations} interleaved rounds")
    for i in range(iterations):
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    return series, skipped, {"packet_id": packet_id, "review_id": review_id, **paths}


def review_figures(
    packets: dict[str, Any], pdf: dict[str, Any], pages: dict[str, Series],
    skipped: dict[str, str], where: dict[str, Any],
) -> list[dict[str, Any]]:  # fmt: skip
    found = {k: packets[k] for k in ("reviews", "schedule_seconds", "make_packets_seconds")}
    figures = [
        figure(
            f"Packets, HTML: {packets['packets']} on one worker (dispatch to last done)",
            packets["per_second"],
            "packets/s",
            target=(">=", 20),
            seconds=packets["seconds"],
            worker_per_second=(
                round(packets["worker_per_second"], 1) if packets["worker_per_second"] else None
            ),
            html_kb=packets["html_kb"],
            data_kb=packets["data_kb"],
            note=(
                "reviews.tasks.generate_packet(pk, pdf=False) on one worker (--pool=solo, own "
                "queue): build_packet_data + render_packet_html + the row; the first packets "
                f"in agenda order of this quarter's cycle ({found})"
            ),
        ),
    ]
    s = pdf["pdf"]
    figures.append(
        figure(
            f"Packet PDF (WeasyPrint), {len(s.seconds)} stored packets",
            _median(s.seconds),
            "s",
            target=("<=", 0.5),
            p95=round(p95(s.seconds), 3),
            worst=round(max(s.seconds), 3),
            pdf_kb=round(_median(s.rows) / 1024, 1),
            note="reviews.packets.render_packet_pdf on the stored HTML, in the bench process",
        )
    )
    sql = pages.get("sql")
    names = {"packet": "Packet page (stored HTML)", "review": "Review page"}
    for key, name in names.items():
        if key in skipped:
            figures.append(not_measured(name, "ms", skipped[key]))
            continue
        page = pages[key]
        figures.append(
            figure(
                name,
                page.median_ms,
                "ms",
                reference="SELECT html of the packet (psycopg2)",
                reference_value=sql.median_ms,
                p95=round(page.p95_ms, 2),
                reference_p95=round(sql.p95_ms, 3),
                queries=page.query_count,
                samples=len(page.seconds),
                html_bytes=page.rows[0],
                note=f"{where[key]}; the largest of the generated packets; HTTP, session and "
                "permission included",
            )
        )
        figures.append(
            figure(
                f"{name}: queries",
                page.query_count,
                "queries",
                target=("<=", 12),
                note="server-side, session and authentication included; must not grow with size",
            )
        )
    return figures


# --- Backlog: one move, the backlog page, the filtered API list --------------------------------

BACKLOG_STATUS = "ready"
BACKLOG_API_QUERY = f"status={BACKLOG_STATUS}&page_size=100"

# The same rows the backlog API list answers (backlog.api.serializers.BACKLOG_ITEM: the item's
# columns, the unit's name from its cluster or product, the component's slug), with the same
# filter, order and limit; the pagination count is a second statement and left out.
BACKLOG_SQL = """
SELECT i.id, i.unit_id, COALESCE(c.name, up.name) AS unit_name, p.slug, i.title,
       i.description, i.type, i.dimension, i.status, i.rank, i.estimate, i.source,
       i.created_at, i.updated_at, i.started_at, i.finished_at, i.version
FROM backlog_backlogitem i
JOIN products_product p ON p.id = i.product_id
JOIN products_ownershipunit u ON u.id = i.unit_id
LEFT JOIN products_cluster c ON c.id = u.cluster_id
LEFT JOIN products_product up ON up.id = u.product_id
WHERE i.unit_id = %s AND i.status = %s
ORDER BY i.unit_id, i.rank, i.id
LIMIT %s
"""

# The reference for a move: the API's token-auth floor (the cheapest authenticated request
# of the same client, API_FLOOR_PATH) plus one row rewritten in its own committed transaction.
ONE_ROW_UPDATE = "UPDATE backlog_backlogitem SET rank = rank WHERE id = %s"
API_FLOOR_PATH = "/api/v1/"

# Rows of one backlog with a version newer than a transaction id: what a move really wrote.
ROWS_WRITTEN_SQL = """
SELECT count(*) FROM backlog_backlogitem
WHERE unit_id = %s AND xmin::text::bigint >= %s
"""


@dataclasses.dataclass
class BacklogTarget:
    big_unit: int
    big_items: int
    small_unit: int
    small_items: int
    item: int  # the item the moves move: top of the big backlog, on a live component
    mid: int  # where it goes and comes back from
    small_item: int  # the same in the small backlog (to its bottom and back)
    deep_item: int  # the next one of the big backlog: to its last position and back


def backlog_target(db, shape: dict[str, Any]) -> BacklogTarget | None:
    if "backlog_big_unit" not in shape:
        return None
    big, small = shape["backlog_big_unit"], shape["backlog_small_unit"]
    with db.cursor() as cur:
        cur.execute(
            "SELECT unit_id, count(*) FROM backlog_backlogitem WHERE unit_id IN (%s, %s) "
            "GROUP BY unit_id",
            [big, small],
        )
        counts = dict(cur.fetchall())
        cur.execute(
            "SELECT i.id FROM backlog_backlogitem i JOIN products_product p "
            "ON p.id = i.product_id WHERE i.unit_id = %s AND p.lifecycle_stage <> 'retired' "
            "ORDER BY i.rank LIMIT 2",
            [big],
        )
        item, deep_item = (row[0] for row in cur.fetchall())
        cur.execute(
            "SELECT i.id FROM backlog_backlogitem i JOIN products_product p "
            "ON p.id = i.product_id WHERE i.unit_id = %s AND p.lifecycle_stage <> 'retired' "
            "ORDER BY i.rank LIMIT 1",
            [small],
        )
        small_item = cur.fetchone()[0]
    return BacklogTarget(
        big,
        counts.get(big, 0),
        small,
        counts.get(small, 0),
        item,
        counts.get(big, 0) // 2,
        small_item,
        deep_item,
    )


def _missing(client: Client, method: str, path: str, headers: dict, body=None) -> str | None:
    """None when the endpoint answers 200; why not, when it is not there (yet): 404 or 405.
    Any other answer means it is there and broken: the run fails."""
    status, _, _, data = client.send(method, path, headers, body)
    if status == 200:
        return None
    if status in (404, 405):
        return f"not measured: {method} {path.split('?')[0]} answered {status} (not built yet)"
    raise SystemExit(f"bench: {method} {path} answered {status}: {data[:600]!r}")


def measure_backlog(
    client: Client, db, fixtures: Fixtures, target: BacklogTarget, iterations: int
) -> tuple[dict[str, Series], dict[str, str]]:
    """Move (API, and in-process through Django's test client) beside a one-row UPDATE; the
    backlog page of the big and the small backlog; the filtered API list beside raw SQL.
    Interleaved rounds, alternating order. Returns the series and, per endpoint that is not
    there, why it was not measured."""
    from django.db import connection
    from django.test import Client as DjangoClient

    move_path = f"/api/v1/backlog-items/{target.item}/move/"
    deep_path = f"/api/v1/backlog-items/{target.deep_item}/move/"
    deep = max(target.big_items - 1, 1)  # the last position of the big backlog
    small_move_path = f"/api/v1/backlog-items/{target.small_item}/move/"
    list_path = f"/api/v1/backlog-items/?unit={target.big_unit}&{BACKLOG_API_QUERY}"
    big_page = f"/units/{target.big_unit}/backlog/"
    small_page = f"/units/{target.small_unit}/backlog/"
    move_headers = {**client.api_headers, "Content-Type": "application/json"}
    top = json.dumps({"position": 0}).encode()

    skipped: dict[str, str] = {}
    for key, args in (
        ("move", ("POST", move_path, move_headers, top)),
        ("list", ("GET", list_path, client.api_headers)),
        ("page", ("GET", big_page, client.page_headers)),
    ):
        why = _missing(client, *args)
        if why:
            skipped[key] = why
            log(why)

    keys = ("move", "move_rows", "move_in_process", "move_small", "move_deep", "update", "floor")
    keys += ("page", "page_small", "list")
    series = {k: Series() for k in (*keys, "list_sql")}
    # One alternation for the item the API and in-process moves share, so each of their
    # moves really moves it (two in step would make every second one a no-op, which writes no
    # event); the deep move has an item of its own.
    flip = {"big": 0, "small": 0, "deep": 0}
    local = DjangoClient(
        HTTP_X_FORWARDED_PROTO="https", HTTP_AUTHORIZATION=f"Token {fixtures.token}"
    )

    def next_body(kind: str, mid: int = target.mid) -> bytes:
        # To the middle and back to the top: the ranks there always have room (one row a move).
        flip[kind] += 1
        return json.dumps({"position": mid if flip[kind] % 2 else 0}).encode()

    def xid() -> int:
        with db.cursor() as cur:
            cur.execute("SELECT pg_current_xact_id()::text::bigint % 4294967296")
            return cur.fetchone()[0]

    def move():
        since = xid()
        elapsed, queries, data = client.api(move_path, next_body("big"))
        with db.cursor() as cur:
            cur.execute(ROWS_WRITTEN_SQL, [target.big_unit, since])
            written = cur.fetchone()[0]
        series["move"].add(elapsed, queries, json.loads(data)["rows_written"])
        series["move_rows"].add(0, None, written)

    def move_in_process():
        body = next_body("big")
        started = time.perf_counter()
        response = local.post(move_path, body, content_type="application/json")
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"bench: in-process move answered {response.status_code}")
        series["move_in_process"].add(
            elapsed, int(response["X-Query-Count"]), response.json()["rows_written"]
        )

    def move_small():
        body = next_body("small", target.small_items - 1)
        elapsed, queries, data = client.api(small_move_path, body)
        series["move_small"].add(elapsed, queries, json.loads(data)["rows_written"])

    def move_deep():
        # To the last position of the big backlog and back to the top: `position` reads the
        # ranks at the spot by an index-only scan as deep as the position.
        elapsed, queries, data = client.api(deep_path, next_body("deep", deep))
        series["move_deep"].add(elapsed, queries, json.loads(data)["rows_written"])

    def floor():
        # The API's token-auth floor: the cheapest authenticated request the same client
        # makes (GET /api/v1/: token lookup, the router's list of links; no query of its own).
        elapsed, queries, _ = client.api(API_FLOOR_PATH)
        series["floor"].add(elapsed, queries)

    def update():
        started = time.perf_counter()
        with db.cursor() as cur:  # autocommit: its own transaction, committed
            cur.execute(ONE_ROW_UPDATE, [target.item])
        series["update"].add(time.perf_counter() - started, 1, 1)

    def page():
        elapsed, queries, body = client.page(big_page)
        series["page"].add(elapsed, queries, body.count(b'data-item="'))

    def page_small():
        elapsed, queries, body = client.page(small_page)
        series["page_small"].add(elapsed, queries, body.count(b'data-item="'))

    def api_list():
        elapsed, queries, body = client.api(list_path)
        series["list"].add(elapsed, queries, len(json.loads(body)["results"]))

    def list_sql():
        elapsed, n = timed_sql(db, BACKLOG_SQL, [target.big_unit, BACKLOG_STATUS, 100])
        series["list_sql"].add(elapsed, 1, n)

    steps = []
    if "move" not in skipped:
        steps += [move, move_in_process, move_small, move_deep, update, floor]
    if "page" not in skipped:
        steps += [page, page_small]
    if "list" not in skipped:
        steps += [api_list, list_sql]
    if not steps:
        return series, skipped
    log(
        f"backlog: unit {target.big_unit} ({target.big_items:,} items), item {target.item} "
        f"moves to {target.mid} and back; {iterations} interleaved rounds of {len(steps)} steps"
    )
    for _ in range(3):
        for step in steps:
            step()
    for s in series.values():
        s.seconds.clear()
        s.queries.clear()
        s.rows.clear()
    for i in range(iterations):
        for step in steps if i % 2 == 0 else reversed(steps):
            step()
    connection.close()
    return series, skipped


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def not_measured(name: str, unit: str, why: str) -> dict[str, Any]:
    return {
        "name": name,
        "value": None,
        "unit": unit,
        "reference": None,
        "reference_value": None,
        "ratio": None,
        "target": None,
        "met": None,
        "note": why,
    }


def backlog_figures(
    s: dict[str, Series], skipped: dict[str, str], target: BacklogTarget | None
) -> list[dict[str, Any]]:
    names = {
        "rows": "Backlog move (API), rows written",
        "server": "Backlog move (API), rows written server-side",
        "time": "Backlog move (API), time",
        "local": "Backlog move, in-process (Django test client)",
        "small": "Backlog move (API), time, small backlog",
        "deep": "Backlog move (API), time, to the last position",
        "page": "Backlog page, first page",
        "page_q": "Backlog page queries: big backlog vs small",
        "list": "Backlog API list, filtered, page of 100",
    }
    if target is None:
        why = "not measured: the generated portfolio has no backlog"
        return [not_measured(n, "—", why) for n in names.values()]
    big = f"{target.big_items:,}-item backlog"
    out = []
    if "move" in skipped:
        out += [
            not_measured(names[k], u, skipped["move"])
            for k, u in (("rows", "rows"), ("server", "rows"), ("time", "ms"), ("deep", "ms"))
        ]
    else:
        move, update, written = s["move"], s["update"], s["move_rows"].rows
        floor = s["floor"]
        # The restated reference (issue 17): the cheapest authenticated request of the same
        # client, measured in the same rounds, plus the bare one-row UPDATE.
        reference_ms = floor.median_ms + update.median_ms
        reference = (
            f"GET {API_FLOOR_PATH} with the same token ({floor.query_count} statement, "
            f"{floor.median_ms:.2f} ms) + single-row UPDATE, own transaction "
            f"({update.median_ms:.3f} ms)"
        )
        out.append(
            figure(
                names["rows"],
                _median(move.rows),
                "rows",
                target=("<=", 3),
                p95=p95(move.rows),
                max=max(move.rows),
                samples=len(move.rows),
                note=f"rows_written of the API answer, {big}, to position {target.mid} and back "
                "to 0",
            )
        )
        out.append(
            figure(
                names["server"],
                _median(written),
                "rows",
                target=("<=", 3),
                p95=p95(written),
                max=max(written),
                samples=len(written),
                note="rows of the big backlog with a new row version (xmin newer than a "
                "transaction id taken just before the call), counted after it",
            )
        )
        out.append(
            figure(
                names["time"],
                move.median_ms,
                "ms",
                reference=reference,
                reference_value=reference_ms,
                target=("<=", 2),
                p95=round(move.p95_ms, 2),
                reference_p95=round(floor.p95_ms + update.p95_ms, 3),
                queries=move.query_count,
                queries_max=max(move.queries),
                queries_target=6,
                floor_ms=round(floor.median_ms, 3),
                update_ms=round(update.median_ms, 3),
                update_ratio=round(move.median_ms / update.median_ms, 2),
                samples=len(move.seconds),
                note=f"{big}; includes HTTP, token auth, permission check and the backlog lock; "
                "queries as X-Query-Count counts them (BEGIN and COMMIT are not counted)",
            )
        )
        deep_move = s["move_deep"]
        out.append(
            figure(
                names["deep"],
                deep_move.median_ms,
                "ms",
                reference=reference,
                reference_value=reference_ms,
                target=("<=", 2),
                p95=round(deep_move.p95_ms, 2),
                queries=deep_move.query_count,
                queries_max=max(deep_move.queries),
                rows_written=_median(deep_move.rows),
                versus_move=round(deep_move.median_ms / move.median_ms, 2),
                samples=len(deep_move.seconds),
                note=f"{big}: the second item to position {target.big_items - 1} (the last) "
                "and back to 0; "
                "`position` reads the ranks at the spot by an index-only scan of (unit_id, "
                "rank) as deep as the position",
            )
        )
        local = s["move_in_process"]
        out.append(
            figure(
                names["local"],
                local.median_ms,
                "ms",
                reference="single-row UPDATE, own transaction (psycopg2)",
                reference_value=update.median_ms,
                p95=round(local.p95_ms, 2),
                queries=local.query_count,
                rows_written=_median(local.rows),
                samples=len(local.seconds),
                note="information: the same move without HTTP and gunicorn",
            )
        )
        small = s["move_small"]
        out.append(
            figure(
                names["small"],
                small.median_ms,
                "ms",
                reference="single-row UPDATE, own transaction (psycopg2)",
                reference_value=update.median_ms,
                p95=round(small.p95_ms, 2),
                queries=small.query_count,
                rows_written=_median(small.rows),
                samples=len(small.seconds),
                note=f"information: a move in the {target.small_items}-item backlog (to the "
                "bottom and back to the top); against the big backlog's move it shows whether "
                "a move's cost grows with backlog length",
            )
        )
    if "page" in skipped:
        out += [
            not_measured(names[k], u, skipped["page"])
            for k, u in (("page", "ms"), ("page_q", "queries"))
        ]
    else:
        page, small = s["page"], s["page_small"]
        out.append(
            figure(
                names["page"],
                page.median_ms,
                "ms",
                p95=round(page.p95_ms, 2),
                queries=page.query_count,
                rows=page.rows[0],
                samples=len(page.seconds),
                note=f"/units/<id>/backlog/, {big}",
            )
        )
        out.append(
            figure(
                names["page_q"],
                page.query_count,
                "queries",
                reference=f"same page, {target.small_items}-item backlog",
                reference_value=small.query_count,
                target=("==", 1),
                big_items=target.big_items,
                small_items=target.small_items,
                small_ms=round(small.median_ms, 2),
                small_rows=small.rows[0],
            )
        )
    if "list" in skipped:
        out.append(not_measured(names["list"], "ms", skipped["list"]))
    else:
        api, sql = s["list"], s["list_sql"]
        out.append(
            figure(
                names["list"],
                api.median_ms,
                "ms",
                reference=f"raw SQL, same {sql.rows[0]} rows (psycopg2)",
                reference_value=sql.median_ms,
                p95=round(api.p95_ms, 2),
                reference_p95=round(sql.p95_ms, 3),
                queries=api.query_count,
                rows=api.rows[0],
                samples=len(api.seconds),
                note=f"?unit=<big>&{BACKLOG_API_QUERY}, {big}; no target",
            )
        )
    return out


# --- Figures --------------------------------------------------------------------------------


SYMBOLS = {"<=": "≤", ">=": "≥", "==": "="}

# What kind of request each timed figure measures (by the start of its name; timed figures
# only, unit "ms"). The lists, pages, moves and charts are the ones whose cost must not grow
# with the portfolio: the report's "flat from L to XL" check compares exactly these.
FIGURE_KINDS: tuple[tuple[str, str], ...] = (
    ("API product list, page of", "list"),
    ("Product list page (HTML)", "page"),
    ("Product detail page (HTML)", "page"),
    ("Backlog move (API), time", "move"),
    ("Backlog move, in-process", "move"),
    ("Backlog page, first page", "page"),
    ("Backlog API list", "list"),
    ("API event feed", "list"),
    ("API readings list", "list"),
    ("One-year chart", "chart"),
    ("Dashboard page (HTML)", "page"),
    ("Funding by stage and mode page (HTML)", "page"),
    ("Funding approval queue page (HTML)", "page"),
    ("Packet page (stored HTML)", "page"),
    ("Review page", "page"),
)


def tag_kinds(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set `kind` (list, page, move or chart) on the timed figures FIGURE_KINDS names."""
    for f in figures:
        if f["unit"] != "ms":
            continue
        for prefix, kind in FIGURE_KINDS:
            if f["name"].startswith(prefix):
                f["kind"] = kind
                break
    return figures


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    reference: str | None = None,
    reference_value: float | None = None,
    target: tuple[str, float] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    ratio = None
    if reference_value:
        ratio = round(value / reference_value, 3)
    met = None
    target_text = None
    if target is not None:
        op, bound = target
        measured = ratio if ratio is not None else value
        met = {"<=": measured <= bound, ">=": measured >= bound, "==": measured == bound}[op]
        suffix = "x" if ratio is not None else f" {unit}"
        target_text = f"{SYMBOLS[op]} {bound:g}{suffix}"
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "reference": reference,
        "reference_value": round(reference_value, 3) if reference_value is not None else None,
        "ratio": ratio,
        "target": target_text,
        "met": met,
        **{k: v for k, v in extra.items() if v is not None},
    }


def read_figures(s: dict[str, Series]) -> list[dict[str, Any]]:
    api, api_sql, page, page_sql = s["api"], s["api_sql"], s["page"], s["page_sql"]
    n_api, n_page = api.rows[0], page.rows[0]
    return [
        figure(
            f"API product list, page of {n_api} (?{API_QUERY})",
            api.median_ms,
            "ms",
            reference=f"raw SQL, same {api_sql.rows[0]} rows (psycopg2)",
            reference_value=api_sql.median_ms,
            target=("<=", 5),
            p95=round(api.p95_ms, 2),
            reference_p95=round(api_sql.p95_ms, 3),
            queries=api.query_count,
            samples=len(api.seconds),
        ),
        figure(
            f"Product list page (HTML) with status badges, {n_page} rows (/products/?{PAGE_QUERY})",
            page.median_ms,
            "ms",
            reference=f"raw SQL, same {page_sql.rows[0]} rows and their badges (psycopg2)",
            reference_value=page_sql.median_ms,
            target=("<=", 8),
            p95=round(page.p95_ms, 2),
            reference_p95=round(page_sql.p95_ms, 3),
            queries=page.query_count,
            samples=len(page.seconds),
        ),
        figure(
            "Product detail page (HTML)",
            s["detail"].median_ms,
            "ms",
            p95=round(s["detail"].p95_ms, 2),
            queries=s["detail"].query_count,
            samples=len(s["detail"].seconds),
        ),
        figure(
            f"API list queries: {n_api} rows vs {s['api_slice'].rows[0]} row(s)",
            api.query_count,
            "queries",
            reference=f"same request, {s['api_slice'].rows[0]} row(s) (?q=...)",
            reference_value=s["api_slice"].query_count,
            target=("<=", 1),
            slice_ms=round(s["api_slice"].median_ms, 2),
        ),
        figure(
            f"Page list queries (with status badges): {n_page} rows vs "
            f"{s['page_slice'].rows[0]} row(s)",
            page.query_count,
            "queries",
            reference=f"same page, {s['page_slice'].rows[0]} row(s) (?q=...)",
            reference_value=s["page_slice"].query_count,
            target=("<=", 1),
            slice_ms=round(s["page_slice"].median_ms, 2),
        ),
    ]


def upsert_figures(s: dict[str, Series]) -> list[dict[str, Any]]:
    copy_rate = UPSERT_ROWS / statistics.median(s["copy"].seconds)
    out = []
    for key, label in (("create", "first send, creates"), ("resend", "re-send, all unchanged")):
        seconds = statistics.median(s[key].seconds)
        out.append(
            figure(
                f"Bulk upsert {UPSERT_ROWS:,} rows via API ({label})",
                UPSERT_ROWS / seconds,
                "rows/s",
                reference="COPY of the same rows into a like-products_product table",
                reference_value=copy_rate,
                target=(">=", 0.2),
                seconds=round(seconds, 3),
                worst_seconds=round(max(s[key].seconds), 3),
                reference_seconds=round(statistics.median(s["copy"].seconds), 4),
                queries=s[key].query_count,
                samples=len(s[key].seconds),
            )
        )
    floor_seconds = statistics.median(s["floor"].seconds)
    create_seconds = statistics.median(s["create"].seconds)
    out.append(
        figure(
            f"Bulk upsert {UPSERT_ROWS:,} creates vs COPY of every row it writes",
            UPSERT_ROWS / create_seconds,
            "rows/s",
            reference=f"COPY of the same {len(WRITTEN_TABLES)} tables' rows, events included "
            "(same indexes, no FKs)",
            reference_value=UPSERT_ROWS / floor_seconds,
            target=(">=", 0.5),
            reference_seconds=round(floor_seconds, 4),
            note="the write cost of its own data model: products, their history, units, "
            "external ids, lifecycle records and product.created events",
        )
    )
    probe = s["probe"]
    out.append(
        figure(
            f"Bulk upsert body limit: {UPSERT_ROWS:,} full rows "
            f"({probe.rows[0] / 1e6:.1f} MB) accepted",
            probe.queries[0],
            "HTTP status",
            target=("==", 200),
            note="400 = Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) refuses the body",
        )
    )
    return out


# Seconds to generate a size: two minutes up to L; XL (20 million readings) "a few minutes".
GENERATE_TARGET_SECONDS = {"XL": 300}


def generation_figure(size: str, meta: dict[str, Any]) -> dict[str, Any]:
    note = "cached: generated " + meta["generated_at"] if meta["cached"] else "generated this run"
    return figure(
        f"Generate portfolio {size} ({meta['shape']['products']:,} products)",
        meta["generate_seconds"],
        "s",
        target=("<=", GENERATE_TARGET_SECONDS.get(size, 120)),
        migrate_seconds=meta["migrate_seconds"],
        steps=meta.get("generate_steps"),
        note=note,
    )


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


COLUMNS = ("Figure", "Median", "p95", "Queries", "Reference", "Ratio", "Target", "Met")


def table_rows(figures: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for f in figures:
        unit = f["unit"]
        ref = f"{fmt(f['reference_value'], 2)} {unit}" if f["reference_value"] is not None else "—"
        rows.append(
            [
                f["name"],
                f"{fmt(f['value'], 2)} {unit}" if f["value"] is not None else "not measured",
                f"{fmt(f.get('p95'), 2)} {unit}" if f.get("p95") is not None else "—",
                fmt(f.get("queries")),
                ref,
                f"{f['ratio']:.3g}x" if f["ratio"] is not None else "—",
                f["target"] or "—",
                fmt(f["met"]),
            ]
        )
    return rows


def print_table(figures: list[dict[str, Any]]) -> None:
    rows = [list(COLUMNS), *table_rows(figures)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    for n, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def markdown_table(figures: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in table_rows(figures):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines) + "\n"


# --- Main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="M", type=str.upper, choices=["S", "M", "L", "XL"])
    parser.add_argument("--iterations", type=int, default=None, help="rounds of the reads")
    parser.add_argument("--upsert-rounds", type=int, default=5)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the portfolio")
    parser.add_argument("--skip-upsert", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument(
        "--only-import", action="store_true", help="measure the catalogue import alone"
    )
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--skip-backlog", action="store_true")
    parser.add_argument("--skip-metrics", action="store_true")
    parser.add_argument("--skip-analytics", action="store_true")
    parser.add_argument("--analytics-rounds", type=int, default=ANALYTICS_ROUNDS)
    parser.add_argument("--skip-reviews", action="store_true")
    parser.add_argument("--skip-funding", action="store_true")
    parser.add_argument("--skip-events", action="store_true")
    parser.add_argument("--skip-webhooks", action="store_true")
    parser.add_argument(
        "--only-webhooks", action="store_true", help="the webhook figure alone, on DATABASE_URL"
    )
    parser.add_argument("--skip-exports", action="store_true")
    parser.add_argument("--export-rounds", type=int, default=1)
    parser.add_argument(
        "--capacity",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the mixed-load capacity figure (bench/capacity.py); on by default except at S",
    )
    parser.add_argument("--capacity-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.only_webhooks:
        return webhooks_alone()
    if args.only_import:
        for name in vars(args):
            if name.startswith("skip_") and name != "skip_import":
                setattr(args, name, True)
        args.capacity = False
    iterations = args.iterations or 40
    if iterations < 5 or args.upsert_rounds < 1:
        parser.error("at least 5 iterations and 1 upsert round")

    started = time.perf_counter()
    base_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_BASE_URL
    RESULTS.mkdir(parents=True, exist_ok=True)
    info = machine()
    template = ensure_template(base_url, args.size, sys.executable, args.regenerate)
    run_db, pg_version = clone(base_url, template["database"])
    info["postgresql"] = pg_version
    run_url = database_url(base_url, run_db)
    log(f"measuring in {run_db} (a fresh copy of {template['database']})")

    os.environ.update(
        {"DATABASE_URL": run_url, "DJANGO_SETTINGS_MODULE": SETTINGS, "BENCH_COUNT_QUERIES": "1"}
    )
    fixtures = make_fixtures()
    server = Server(dict(os.environ), RESULTS / f"gunicorn-{args.size}.log")
    db = psycopg2.connect(run_url)
    db.autocommit = True
    analytics: dict[str, Any] | None = None
    reviews: dict[str, Any] | None = None
    try:
        server.wait_ready()
        log(f"gunicorn up on 127.0.0.1:{server.port} (2 workers)")
        client = Client(server.port, fixtures)
        figures = []
        if not args.only_import:
            figures += read_figures(measure_reads(client, db, fixtures, iterations))
        if not args.skip_in_process:
            figures += in_process_figures(measure_in_process(db, fixtures, iterations))
        if not args.skip_backlog:
            target = backlog_target(db, template["shape"])
            if target is None:
                figures += backlog_figures({}, {}, None)
            else:
                series, skipped = measure_backlog(client, db, fixtures, target, iterations)
                figures += backlog_figures(series, skipped, target)
        if not args.skip_upsert:
            figures += upsert_figures(measure_upserts(client, db, fixtures, args.upsert_rounds))
        if not args.skip_import:
            figures += import_figures(measure_import(client, db, fixtures, args.upsert_rounds))
        if not args.skip_events:
            series, why = measure_events(client, db, iterations)
            figures += events_figures(series, why)
        if not args.skip_webhooks:
            figures += webhooks_figures(*measure_webhooks(db))
        if not args.skip_metrics:
            shape = template["shape"]
            chart_metric = shape.get("chart_metric")
            if chart_metric is None:
                why = "not measured: the generated portfolio has no metrics"
                figures += chart_figures({}, why, None) + ingest_figures({}, why)
            else:
                shift_chart_metric(db, chart_metric)
                series, why = measure_chart(client, db, chart_metric, iterations)
                figures += chart_figures(series, why, shape["chart_readings"])
                series, why = measure_readings_list(client, db, iterations)
                figures += readings_list_figures(series, why)
                series, why = measure_ingest(client, db, args.upsert_rounds)
                figures += ingest_figures(series, why)
            if not args.skip_exports and chart_metric is not None:
                n = EXPORT_ROWS[args.size]
                series = measure_exports(db, fixtures, n, args.export_rounds)
                figures += export_figures(series, n)
        if not args.skip_analytics:
            series, analytics = measure_analytics(db, args.size, args.analytics_rounds)
            figures += analytics_figures(series, analytics)
            series, why = measure_dashboard(client, db, iterations)
            figures += dashboard_figures(series, why)
        if not args.skip_funding:
            shape = template["shape"]
            if shape.get("funding_year") is None:
                why = "not measured: the generated portfolio has no funding"
                figures += funding_figures({}, why, shape)
            else:
                series, why = measure_funding(client, db, shape["funding_year"], iterations)
                figures += funding_figures(series, why, shape)
        if not args.skip_reviews:
            packets, pdf = measure_packets(db, args.size)
            pages, skipped, where = measure_review_pages(client, db, pdf["sample"], iterations)
            figures += review_figures(packets, pdf, pages, skipped, where)
            reviews = {k: v for k, v in packets.items() if k != "per_second"}
        figures.append(generation_figure(args.size, template))
        tag_kinds(figures)
        server.stop()
        capacity = None
        if args.capacity if args.capacity is not None else args.size != "S":
            env = {k: v for k, v in os.environ.items() if k != "BENCH_COUNT_QUERIES"}
            capacity = measure_capacity(
                start_server=lambda workers, path: Server(env, path, workers=workers),
                env=env, db=db, db_url=run_url, database=run_db, fixtures=fixtures,
                results=RESULTS, seconds=args.capacity_seconds,
            )  # fmt: skip
    finally:
        server.stop()
        db.close()

    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    result = {
        "size": args.size,
        "machine": info,
        "figures": figures,
        "portfolio": {
            "database": template["database"],
            "code_version": template["version"],
            "rows": template["rows"],
            "shape": template["shape"],
        },
        "analytics": analytics,
        "reviews": reviews,
        "capacity": capacity,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    print()
    print(
        f"Size {args.size} on {info['nproc']} CPUs ({info['cpu_model']}), "
        f"{info['memory_gib']} GiB, PostgreSQL {pg_version}; load {info['load_average_start']} "
        f"-> {info['load_average_end']}"
    )
    print_table(figures)
    missed = [f["name"] for f in figures if f["met"] is False]
    if missed:
        print(f"\nTargets missed ({len(missed)}): " + "; ".join(missed))
    text = json.dumps(result, indent=2) + "\n"
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / f"{args.size}.json").write_text(text)
    (RESULTS / f"{args.size}.md").write_text(markdown_table(figures))
    log(f"wrote bench/results/latest.json in {result['bench_seconds']} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
