#!/bin/sh
# Benchmark entry point (`make bench SIZE=S|M|L|XL`, default M; XL is never run in CI): builds or reuses the synthetic
# portfolio of that size in PostgreSQL (portfolio_bench_<size>), measures each figure over HTTP
# against gunicorn beside its reference, prints one table and writes bench/results/latest.json.
# Exits 0 when everything was measured, targets met or not; non-zero only when something broke.
# After a good run it copies bench/results/<SIZE>.json to docs/bench-results/ (tracked by git)
# and rebuilds docs/performance.md from it (scripts/perf_docs.py, what `make perf-docs` runs).
#
#   DATABASE_URL  PostgreSQL server to use; its database name is replaced by the bench's own
#                 (default postgres://postgres@127.0.0.1:5432/)
#   REDIS_URL     Celery broker for the server (default redis://127.0.0.1:6379/0)
#   BENCH_ARGS    extra options for bench/run.py, e.g. "--regenerate" or "--iterations 50"
set -eu
cd "$(dirname "$0")/.."

SIZE=${1:-${SIZE:-M}}
case "$SIZE" in
    S | M | L | XL | s | m | l | xl) ;;
    *) echo "usage: scripts/bench.sh S|M|L|XL" >&2; exit 2 ;;
esac
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
    echo "bench: $PY is missing; run 'make venv' first" >&2
    exit 1
fi

BENCH_DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export BENCH_DATABASE_URL REDIS_URL
# shellcheck disable=SC2086 # BENCH_ARGS is a list of options
"$PY" -m bench.run --size "$SIZE" ${BENCH_ARGS:-}

# The performance page follows the latest run of each size (set -e: only after a good run).
SIZE=$(printf '%s' "$SIZE" | tr 'smlx' 'SMLX')
mkdir -p docs/bench-results
cp "bench/results/$SIZE.json" "docs/bench-results/$SIZE.json"
"$PY" scripts/perf_docs.py
echo "bench: docs/bench-results/$SIZE.json and docs/performance.md updated; commit them together"
