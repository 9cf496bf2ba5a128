#!/bin/sh
# Make sure every service the test suite talks to is there before pytest starts, so that no
# test is ever skipped (or fails obscurely) for a missing service:
#   redis     Redis at $REDIS_URL (default redis://127.0.0.1:6379/0), the worker tests' broker;
#   postgres  PostgreSQL at $DATABASE_URL when it is set, and its database (unset: the
#             embedded server in .pgdata/ starts by itself);
#   chromium  Debian's chromium at /usr/bin/chromium, for the browser tests;
#   poppler   poppler-utils (pdftotext, pdftoppm), for the PDF tests.
# A stopped local service is started; a missing package is installed with apt when running as
# root; otherwise the script says exactly what to install and exits 1.
#
# Usage: scripts/ensure_services.sh [redis] [postgres] [chromium] [poppler]   (default: all)
set -eu

PY=${PY:-.venv/bin/python}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
wanted=${*:-redis postgres chromium poppler}
missing=""
apt_updated=""

say() { printf '[services] %s\n' "$*"; }
want() { case " $wanted " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
is_root() { [ "$(id -u)" = 0 ]; }
is_local() { case "$1" in 127.* | localhost | ::1 | "") return 0 ;; *) return 1 ;; esac; }

apt_install() {
    if [ -z "$apt_updated" ]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        apt_updated=1
    fi
    say "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# need_package PACKAGE COMMAND: install PACKAGE when COMMAND is missing, if we may.
need_package() {
    if [ -x "$2" ] || command -v "$2" >/dev/null 2>&1; then
        return 0
    fi
    if is_root && command -v apt-get >/dev/null 2>&1; then
        apt_install "$1"
        return 0
    fi
    missing="$missing $1"
    return 1
}

# url_part URL host|port : one part of a service URL.
url_part() {
    "$PY" -c '
import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
print({"host": u.hostname, "port": u.port}[sys.argv[2]] or "")
' "$1" "$2"
}

wait_for() {  # wait_for CHECK: up to 10 s
    i=0
    until "$1"; do
        i=$((i + 1))
        [ $i -lt 50 ] || return 1
        sleep 0.2
    done
}

# --- Redis ---------------------------------------------------------------------------------
redis_ping() {
    "$PY" -c 'import redis, sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()' \
        "$REDIS_URL" >/dev/null 2>&1
}

if want redis; then
    if redis_ping; then
        say "redis answers at $REDIS_URL"
    else
        host=$(url_part "$REDIS_URL" host)
        port=$(url_part "$REDIS_URL" port)
        if ! is_local "$host"; then
            say "redis at $REDIS_URL does not answer and is not on this machine: start it there."
            exit 1
        fi
        if need_package redis-server redis-server; then
            say "starting redis-server on port ${port:-6379}"
            redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "${port:-6379}" \
                --save "" --appendonly no >/dev/null
            if ! wait_for redis_ping; then
                say "redis-server did not answer within 10 s"
                exit 1
            fi
            say "redis answers at $REDIS_URL"
        fi
    fi
fi

# --- PostgreSQL (only when DATABASE_URL names a server) ------------------------------------
# pg_run ACTION: "ping" connects to the server; "create" also creates the named database.
pg_run() {
    "$PY" -c '
import sys
from urllib.parse import unquote, urlsplit
import psycopg2
from psycopg2 import sql
url, action = sys.argv[1], sys.argv[2]
u = urlsplit(url)
name = unquote(u.path.lstrip("/"))
conn = psycopg2.connect(
    host=u.hostname or None, port=u.port or 5432, user=unquote(u.username or "") or None,
    password=unquote(u.password or "") or None, dbname="postgres", connect_timeout=3,
)
conn.autocommit = True
if action == "create" and name:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"[services] created database {name}")
conn.close()
' "$DATABASE_URL" "$1"
}
pg_ping() { pg_run ping >/dev/null 2>&1; }

if want postgres; then
    if [ -z "${DATABASE_URL:-}" ]; then
        say "DATABASE_URL unset: the embedded PostgreSQL in .pgdata/ starts on demand"
    else
        host=$(url_part "$DATABASE_URL" host)
        if ! pg_ping && is_local "$host" && command -v pg_ctlcluster >/dev/null 2>&1 \
            && [ -d /etc/postgresql ]; then
            say "PostgreSQL does not answer; starting the local cluster"
            if pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n 1)" main start
            then
                wait_for pg_ping || true
            fi
        fi
        if ! pg_ping; then
            say "PostgreSQL at DATABASE_URL ($host) does not answer. Start it, for example with"
            say "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
            say "or unset DATABASE_URL to use the embedded server."
            exit 1
        fi
        pg_run create
        say "PostgreSQL answers at $host:$(url_part "$DATABASE_URL" port)"
    fi
fi

# --- Browser and PDF tools -----------------------------------------------------------------
if want chromium && need_package chromium /usr/bin/chromium; then
    say "chromium at /usr/bin/chromium"
fi
if want poppler && need_package poppler-utils pdftotext; then
    say "poppler-utils at $(command -v pdftotext)"
fi

if [ -n "$missing" ]; then
    say "missing:$missing"
    say "install (as root):  apt-get install -y$missing"
    exit 1
fi
