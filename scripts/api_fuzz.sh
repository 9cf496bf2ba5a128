#!/usr/bin/env bash
# Fuzz /api/v1/ from its own OpenAPI schema with schemathesis and fail on any server error.
#
# Runs against a real gunicorn on a database of its own, dropped and made anew each run:
#   FUZZ_DATABASE_URL  the database to use (default: DATABASE_URL's server with the database
#                      name suffixed "_fuzz", or postgres://postgres@127.0.0.1:5432/portfolio_fuzz)
#   FUZZ_EXAMPLES      schemathesis --max-examples per operation (default 20: ~3 min on 2 cores)
#   FUZZ_PORT          port for gunicorn (default: a free one)
# The database name must end in "fuzz": this script drops it, and will drop nothing else.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=.venv/bin/python
EXAMPLES=${FUZZ_EXAMPLES:-20}
started=$SECONDS

FUZZ_DATABASE_URL=${FUZZ_DATABASE_URL:-$(
    "$PY" - "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portfolio}" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit

url = urlsplit(sys.argv[1])
name = url.path.lstrip("/") or "portfolio"
if not name.endswith("fuzz"):
    name += "_fuzz"
print(urlunsplit(url._replace(path="/" + name)))
EOF
)}
export DATABASE_URL=$FUZZ_DATABASE_URL DEBUG=1 ALLOWED_HOSTS=127.0.0.1 CONN_MAX_AGE=0

echo "== fresh database: ${DATABASE_URL%%\?*}"
"$PY" - <<'EOF'
import os

import environ
import psycopg2
from psycopg2 import sql

config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
name = config["NAME"]
if not name.endswith("fuzz"):
    raise SystemExit(f"refusing to drop {name!r}: the fuzz database name must end in 'fuzz'")
conn = psycopg2.connect(
    dbname="postgres",
    user=config.get("USER") or None,
    password=config.get("PASSWORD") or None,
    host=config.get("HOST") or None,
    port=config.get("PORT") or None,
)
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
conn.close()
EOF
"$PY" manage.py migrate --noinput -v0

echo "== a leader with a token, and a small portfolio to poke at"
TOKEN=$("$PY" manage.py shell -v0 -c '
import datetime as dt
from django.contrib.auth.models import Group, User
from accounts.models import ApiToken
from accounts.services import api_token_create
from products.models import ClusterReason
from portfolio.permissions import LEADERS_GROUP
from products.services import cluster_create, person_create, team_create
from products.services import product_create

leader = User.objects.create_user("fuzz-leader", password=None)
leader.groups.add(Group.objects.get_or_create(name=LEADERS_GROUP)[0])
ana = person_create(actor=leader, name="Ana Alvarez", email="ana@example.org", user=leader)
ben = person_create(actor=leader, name="Ben Brown", email="ben@example.org")
team = team_create(actor=leader, name="People systems", members=[ana, ben])
cluster = cluster_create(actor=leader, name="Employee experience", owner=ana,
                         reasons=[ClusterReason.SAME_USERS])
payroll = product_create(actor=leader, name="Payroll", owner=ana, team=team,
                         lifecycle_stage="maturity", external_ids=[("cmdb", "CI-1")])
product_create(actor=leader, name="Intranet", owner=ana, cluster=cluster,
               dependencies=[payroll], external_ids=[("cmdb", "CI-2")])
product_create(actor=leader, name="Badge printing", owner=ben, management_model="project",
               project_end_date=dt.date(2030, 6, 30))
from metrics.services import metric_create, readings_ingest
metric = metric_create(actor=leader, product=payroll, template="availability")
readings_ingest(actor=leader, rows=[
    {"metric": metric.pk, "time": "2026-11-01T00:00:00Z", "value": 99.9}])
from analytics.compute import run_snapshot
run_snapshot()
from reviews.services import action_item_create, cycle_schedule, decision_record
review = cycle_schedule(actor=leader, year=2026, quarter=4).cycle.reviews.first()
decision_record(actor=leader, review=review, kind="continue", rationale="Healthy.")
action_item_create(actor=leader, review=review, title="Write the runbook")
from funding.services import allocation_set, request_create
allocation_set(actor=leader, unit=payroll.unit, fiscal_year=2026,
               operations_amount="1000", improvement_amount="500")
request_create(actor=leader, product=payroll, amount="100", purpose="Faster", submit=True)
token, key = api_token_create(actor=leader, name="Fuzzing")
# Far from the small ids the fuzzer tries, so its DELETE tokens/{id}/ calls revoke the tokens
# it made, not the one it calls with.
ApiToken.objects.filter(pk=token.pk).update(id=987_654_321)
print(key)
')

PORT=${FUZZ_PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
WORK=$(mktemp -d -t api-fuzz.XXXXXX)  # schemathesis keeps its crash cache in its working dir
LOG=$WORK/gunicorn.log
echo "== gunicorn on 127.0.0.1:$PORT (log: $LOG)"
# A cache prefix of its own: the fuzzer sends bad tokens on purpose, and its failed-token
# counters (shared through Redis, per address) must not throttle what runs next on this
# address, such as the bench smoke run right after it in CI.
CACHE_KEY_PREFIX="fuzz-$$" .venv/bin/gunicorn portfolio.wsgi -c gunicorn.conf.py \
    -b "127.0.0.1:$PORT" --workers 2 --access-logfile - >"$LOG" 2>&1 &
SERVER=$!
stop_server() {
    if kill -0 "$SERVER" 2>/dev/null; then
        kill "$SERVER"
        wait "$SERVER" 2>/dev/null || true
    fi
}
trap stop_server EXIT

for _ in $(seq 1 60); do
    # The health check needs no login (the schema does: schemathesis fetches it with the token).
    if "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/healthz', timeout=2)" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "gunicorn did not start:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.5
done

echo "== schemathesis: not_a_server_error, $EXAMPLES examples per operation"
status=0
SCHEMATHESIS=$PWD/.venv/bin/schemathesis
(cd "$WORK" && "$SCHEMATHESIS" run "http://127.0.0.1:$PORT/api/v1/schema/" \
    -H "Authorization: Token $TOKEN" \
    --checks not_a_server_error \
    --max-examples "$EXAMPLES" \
    --workers 2 \
    --request-timeout 30 \
    --generation-database none \
    --no-color) || status=$?

if [ "$status" -ne 0 ]; then
    echo "== server errors in the gunicorn log:" >&2
    grep -E '" 5[0-9][0-9] |Traceback|Error' "$LOG" | tail -40 >&2 || true
fi
[ "$status" -eq 0 ] && rm -rf "$WORK"
echo "== fuzz run finished in $((SECONDS - started)) s (exit $status)"
exit "$status"
