#!/usr/bin/env python3
"""Render docs/performance.md from its template and the last bench result of each size.

    make perf-docs                      # what `make bench` also runs after a good run
    python3 scripts/perf_docs.py [--template T] [--results DIR] [--output FILE | -]

The template (docs/performance.in.md) is hand-written prose with placeholders, each alone on
its line, that this script replaces with tables built from DIR/<size>.json (docs/bench-results/
by default, where scripts/bench.sh copies bench/results/<size>.json after each run):

    {{ generated }}        which files the page comes from and when each was measured
    {{ portfolio_shape }}  the generated portfolio of each size, side by side
    {{ targets }}          every figure with a target, per size: the measure and met or not
    {{ by_size }}          every figure, a column per size: its value and ratio
    {{ flat_check }}       "flat from L to XL": every list, page, move and chart figure with
                           the same query count at L and XL and an XL median <= 1.3x L's
    {{ results }}          per size: the machine, what the run found, the full figures table
    {{ query_counts }}     the query count of every request at each size, and the check that
                           it is equal at S, M, L and XL
    {{ capacity }}         per size: the mixed-load capacity run of each configuration

Plain Python, standard library only (no Django, no database), and deterministic: the same
template and results give the same bytes. `--check` compares instead of writing and exits 1
when the page is out of date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "docs" / "performance.in.md"
RESULTS = ROOT / "docs" / "bench-results"
OUTPUT = ROOT / "docs" / "performance.md"
SIZES = ("S", "M", "L", "XL")
# The "flat from L to XL" check: these kinds of figure (bench/run.py's FIGURE_KINDS sets
# `kind`), the same query count at both sizes and XL's median within FLAT_RATIO of L's.
FLAT_KINDS = ("list", "page", "move", "chart")
FLAT_FROM, FLAT_TO, FLAT_RATIO = "L", "XL", 1.3
STAGES = ("maturity", "growth", "introduction", "retirement", "retired")
PLACEHOLDER = re.compile(r"^\{\{ (\w+) \}\}$", re.M)

# --- The figures table, exactly as bench/run.py writes it (tests hold the two equal) -------

COLUMNS = ("Figure", "Median", "p95", "Queries", "Reference", "Ratio", "Target", "Met")


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


def markdown_table(figures: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in table_rows(figures):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines) + "\n"


# --- Names that line figures up across sizes ---------------------------------------------


def short_name(name: str) -> str:
    """The figure's name without the request's query string (the same request at each size)."""
    name = re.sub(r"\s*\(\?.*?\)|\s*\(/products/\?.*?\)", "", name)
    return re.sub(r"page of \d+", "page of 100", name)


def generic_name(name: str) -> str:
    """short_name, also without the counts that grow with the size (packets, the portfolio)."""
    name = short_name(name)
    name = re.sub(r": [\d,]+ on one worker", ", on one worker", name)
    name = re.sub(r", [\d,]+ stored packets", ", stored packets", name)
    name = re.sub(r" vs [\d,]+ row\(s\)$", " vs the same request's few rows", name)  # ?q= hits
    return re.sub(r"^Generate portfolio \w+ \(.*\)$", "Generate portfolio", name)


# --- Sections -------------------------------------------------------------------------------


def load(results_dir: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for size in SIZES:
        path = results_dir / f"{size}.json"
        if path.exists():
            out[size] = json.loads(path.read_text(encoding="utf-8"))
    return out


def shown_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def generated(results: dict[str, dict], template: Path, results_dir: Path) -> str:
    files = ", ".join(f"`{size}.json` (measured {r['measured_at']})" for size, r in results.items())
    return (
        f"> **Generated page.** `make perf-docs` (`scripts/perf_docs.py`) builds it from "
        f"`{shown_path(template)}` and the bench results in `{shown_path(results_dir)}/`: "
        f"{files}. Edit the template, not this page. `make bench SIZE=...` copies its results "
        "there and rebuilds the page."
    )


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _slash(*values: Any) -> str:
    return " / ".join(_n(v) for v in values)


SHAPE_ROWS: list[tuple[str, Any]] = [
    (
        "Products / people / clusters / teams",
        lambda s, r: _slash(s["products"], s["people"], s["clusters"], s["teams"]),
    ),
    ("Largest clusters (products)", lambda s, r: ", ".join(_n(n) for n in s["largest_clusters"])),
    (
        "Current units (not dormant) / without an accountable owner",
        lambda s, r: _slash(s["active_units"], s["orphan_units"]),
    ),
    (
        "Owners of more than 4 units / most units on one owner",
        lambda s, r: _slash(s["owners_over_ceiling_4"], s["max_units_one_owner"]),
    ),
    (
        "Maturity / growth / introduction / retirement / retired",
        lambda s, r: _slash(*(s["stages"].get(k, 0) for k in STAGES)),
    ),
    (
        "Project-managed / external ids / added in the last 60 days",
        lambda s, r: _slash(s["projects"], s["external_ids"], s["new_last_60_days"]),
    ),
    (
        "Backlog items / the big backlog / units with items",
        lambda s, r: _slash(
            s["backlog_items"], s["backlog_big_items"], s["backlog_units_with_items"]
        ),
    ),
    ("Largest backlogs (items)", lambda s, r: ", ".join(_n(n) for n in s["backlog_largest"])),
    (
        "Metrics / on products / readings",
        lambda s, r: _slash(s["metrics"], s["metric_products"], s["readings"]),
    ),
    ("Days of history (daily to quarterly metrics)", lambda s, r: _n(s["metric_history_days"])),
    (
        "Fiscal year / allocations / investment requests",
        lambda s, r: (
            f"{s['funding_year']} / " + _slash(s["funding_allocations"], s["investment_requests"])
        ),
    ),
    ("Generating it (rows, COPY, VACUUM ANALYZE)", lambda s, r: _generation(r)),
]


def _generation(result: dict) -> str:
    for f in result["figures"]:
        if f["name"].startswith("Generate portfolio") and f["value"] is not None:
            return f"{fmt(f['value'], 2)} {f['unit']}"
    return "—"


def portfolio_shape(results: dict[str, dict]) -> str:
    lines = ["| | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for label, cell in SHAPE_ROWS:
        cells = []
        for result in results.values():
            try:
                cells.append(cell(result["portfolio"]["shape"], result))
            except KeyError:
                cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def targets(results: dict[str, dict]) -> str:
    names: list[str] = []
    rows: dict[str, dict[str, dict]] = {}
    for size, result in results.items():
        for f in result["figures"]:
            if f.get("target") is None:
                continue
            name = generic_name(f["name"])
            if name not in rows:
                names.append(name)
                rows[name] = {}
            rows[name][size] = f
    lines = [
        "| Figure | Target | " + " | ".join(results) + " |",
        "|---|---|" + "---|" * len(results),
    ]
    for name in names:
        target = next(iter(rows[name].values()))["target"]
        cells = []
        for size in results:
            f = rows[name].get(size)
            if f is None or f["value"] is None:
                cells.append("—")
                continue
            measure = (
                f"{f['ratio']:.3g}x"
                if f["ratio"] is not None
                else f"{fmt(f['value'], 2)} {f['unit']}"
            )
            own = f" (target {f['target']})" if f["target"] != target else ""
            cells.append(f"{measure}, " + ("met" if f["met"] else "**missed**") + own)
        lines.append(f"| {name} | {target} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _by_name(results: dict[str, dict]) -> tuple[list[str], dict[str, dict[str, dict]]]:
    """Every figure's generic name in first-seen order, and its figure at each size."""
    names: list[str] = []
    rows: dict[str, dict[str, dict]] = {}
    for size, result in results.items():
        for f in result["figures"]:
            name = generic_name(f["name"])
            if name not in rows:
                names.append(name)
                rows[name] = {}
            rows[name].setdefault(size, f)
    return names, rows


def by_size(results: dict[str, dict]) -> str:
    names, rows = _by_name(results)
    lines = ["| Figure | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for name in names:
        cells = []
        for size in results:
            f = rows[name].get(size)
            if f is None or f["value"] is None:
                cells.append("—")
                continue
            cell = f"{fmt(f['value'], 2)} {f['unit']}"
            if f["ratio"] is not None:
                cell += f" ({f['ratio']:.3g}x)"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def flat_rows(results: dict[str, dict]) -> list[dict[str, Any]]:
    """The check, one row per list, page, move or chart figure (the kind any size gives it)."""
    names, rows = _by_name(results)
    out = []
    for name in names:
        kind = next((f["kind"] for f in rows[name].values() if f.get("kind")), None)
        if kind not in FLAT_KINDS:
            continue
        low, high = rows[name].get(FLAT_FROM), rows[name].get(FLAT_TO)
        row = {"name": name, "kind": kind, "low": low, "high": high, "ratio": None}
        if low is None or high is None or low["value"] is None or high["value"] is None:
            missing = [
                s for s, f in ((FLAT_FROM, low), (FLAT_TO, high)) if not f or f["value"] is None
            ]
            row["status"] = "not measured at " + " and ".join(missing)
            row["met"] = None
        else:
            row["ratio"] = high["value"] / low["value"]
            same = low.get("queries") == high.get("queries")
            row["met"] = same and row["ratio"] <= FLAT_RATIO
            why = []
            if not same:
                why.append("query count differs")
            if row["ratio"] > FLAT_RATIO:
                why.append(f"median over {FLAT_RATIO:g}x")
            row["status"] = "met" if row["met"] else "**missed**: " + ", ".join(why)
        out.append(row)
    return out


def flat_check(results: dict[str, dict]) -> str:
    if FLAT_FROM not in results or FLAT_TO not in results:
        return (
            f"*Not checked: there is no {FLAT_TO}.json beside {FLAT_FROM}.json in the bench "
            f"results yet (`make bench SIZE={FLAT_TO}`).*\n"
        )
    rows = flat_rows(results)
    met = sum(1 for r in rows if r["met"])

    def when(size: str) -> str:
        r = results[size]
        load = r["machine"]["load_average_start"][0], r["machine"]["load_average_end"][0]
        return f"{size} measured {r['measured_at']} (load average {load[0]} to {load[1]})"

    lines = [
        f"{met} of {len(rows)} list, page, move and chart figures met: the same query count "
        f"at {FLAT_FROM} and {FLAT_TO}, and the {FLAT_TO} median at most {FLAT_RATIO:g}x the "
        f"{FLAT_FROM} median. {when(FLAT_FROM)}; {when(FLAT_TO)}.",
        "",
        f"| Figure | Kind | {FLAT_FROM} median | {FLAT_TO} median | {FLAT_TO} / {FLAT_FROM} "
        f"| Queries {FLAT_FROM} / {FLAT_TO} | Flat |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        low, high = r["low"], r["high"]

        def median(f: dict | None) -> str:
            return "—" if not f or f["value"] is None else f"{fmt(f['value'], 2)} {f['unit']}"

        def queries(f: dict | None) -> str:
            return "—" if not f else fmt(f.get("queries"))

        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(
            f"| {r['name']} | {r['kind']} | {median(low)} | {median(high)} | {ratio} | "
            f"{queries(low)} / {queries(high)} | {r['status']} |"
        )
    return "\n".join(lines) + "\n"


def size_section(size: str, result: dict) -> str:
    m = result["machine"]
    shape = result["portfolio"]["shape"]
    out = [f"### Size {size}: {shape['products']:,} products\n"]
    out.append(
        f"Measured {result['measured_at']} on {m['nproc']} CPUs ({m['cpu_model']}), "
        f"{m['memory_gib']} GiB, PostgreSQL {m['postgresql']}, Python {m['python']}; "
        f"load average {m['load_average_start'][0]} at the start, "
        f"{m['load_average_end'][0]} at the end; the whole run took "
        f"{result['bench_seconds']:.0f} s.\n"
    )
    if result.get("reconstructed"):
        out.append(f"*Reconstructed:* {result['reconstructed']}\n")
    if shape.get("backlog_items"):
        out.append(
            f"Backlog: {shape['backlog_items']:,} items; the backlog figures use unit "
            f"{shape['backlog_big_unit']} ({shape['backlog_big_items']:,} items) and, for "
            f"the query count, unit {shape['backlog_small_unit']} "
            f"({shape['backlog_small_items']} items).\n"
        )
    if shape.get("readings"):
        out.append(
            f"Metrics: {shape['metrics']:,} on {shape['metric_products']:,} products, "
            f"{shape['readings']:,} readings; the chart figure uses metric "
            f"{shape['chart_metric']} ({shape['chart_readings']:,} five-minute readings, one "
            "year).\n"
        )
    analytics = result.get("analytics")
    if analytics:
        found = analytics["found"]
        status = found["owner_status"] or {}
        signals = found["open_signals"] or {}
        out.append(
            f"Analytics: the portfolio's clock moved {analytics['clock_shift_days']} days to "
            f"the run's, {len(analytics['history'])} earlier weekly snapshots. The last run "
            f"found {found['units']:,} units ({found['active_units']:,} active, "
            f"{found['orphan_units']:,} without an accountable owner); owners "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(status.items()))
            + f"; {found['design_problems']:,} design problems "
            f"({found['design_problems_with_groupings']:,} with suggested groupings); open "
            "signals "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(signals.items()))
            + f"; {found['candidates']:,} candidates.\n"
        )
    reviews = result.get("reviews")
    if reviews:
        rate = reviews.get("worker_per_second")
        out.append(
            f"Reviews: this quarter's cycle scheduled {reviews['reviews']:,} reviews in "
            f"{reviews['schedule_seconds']} s and made their pending packets in "
            f"{reviews['make_packets_seconds']} s; {reviews['packets']} packets generated "
            f"on the worker in {reviews['seconds']} s"
            + (f" ({rate:.1f}/s between the first and the last row)" if rate else "")
            + f", {reviews['data_kb']} KB of data and {reviews['html_kb']} KB of HTML "
            "each on average.\n"
        )
    if shape.get("funding_year"):
        modes = ", ".join(f"{k} {v:,}" for k, v in shape["funding_modes"].items())
        statuses = ", ".join(f"{k} {v:,}" for k, v in shape["request_statuses"].items())
        out.append(
            f"Funding: {shape['funding_allocations']:,} allocations for "
            f"{shape['funding_year']} ({modes}) and {shape['investment_requests']:,} "
            f"investment requests ({statuses}); the funding figures read that year.\n"
        )
    out.append(markdown_table(result["figures"]))
    unmeasured = [f for f in result["figures"] if f.get("value") is None]
    if unmeasured:
        out.append("\n".join(f"- {f['name']}: {f.get('note', 'not measured')}" for f in unmeasured))
        out.append("")
    return "\n".join(out)


def query_counts(results: dict[str, dict]) -> str:
    names: list[str] = []
    counts: dict[str, dict[str, str]] = {}
    for size, result in results.items():
        for f in result["figures"]:
            if f.get("queries") is None:
                continue
            name = short_name(f["name"])
            if name not in counts:
                names.append(name)
                counts[name] = {}
            counts[name][size] = str(f["queries"])
    # The rule every list and page keeps: the count is the same at every size, and the check
    # wants it measured at all four.
    every = ", ".join(SIZES[:-1]) + " and " + SIZES[-1]
    lines = [
        "| Request | " + " | ".join(results) + f" | Equal at {every} |",
        "|---|" + "---|" * (len(results) + 1),
    ]
    met = 0
    for name in names:
        row = [counts[name].get(s, "—") for s in results]
        measured = {c for c in row if c != "—"}
        missing = [s for s in SIZES if s not in counts[name]]
        if len(measured) > 1:
            check = "**missed**: " + " vs ".join(
                f"{c} at {', '.join(s for s in results if counts[name].get(s) == c)}"
                for c in sorted(measured, key=int)
            )
        elif missing:
            check = "not measured at " + ", ".join(missing)
        else:
            check, met = "met", met + 1
        lines.append(f"| {name} | " + " | ".join(row) + f" | {check} |")
    head = f"Query counts equal at {every}: {met} of {len(names)} requests met.\n\n"
    return head + "\n".join(lines) + "\n"


# --- Capacity (bench/capacity.py) ----------------------------------------------------------

KIND_LABELS = {
    "api_products": "API product list, page of 100",
    "page_products": "Product list page (HTML)",
    "page_product": "Product detail page (HTML)",
    "page_backlog": "Backlog page (HTML)",
    "api_backlog": "Backlog API list, filtered",
    "page_dashboard": "Dashboard (HTML)",
    "api_readings": "API metric readings, page of 100",
    "api_events": "API event feed, page of 100",
    "backlog_move": "Backlog move (API)",
    "product_patch": "Product edit (API PATCH, If-Match)",
    "readings_bulk": "Readings batch (API, 5 readings)",
    "backlog_create": "Backlog item create (API)",
    "product_read": "Product read (API, after a 412)",
}


def _ms(value: Any) -> str:
    return "—" if value is None else f"{fmt(float(value))} ms"


def _configuration(c: dict) -> str:
    label = f"{c['web_workers']} web workers"
    if c.get("celery_workers"):
        label += f", {c['celery_workers']} Celery worker processes"
    return label


def capacity(results: dict[str, dict]) -> str:
    runs = {size: r["capacity"] for size, r in results.items() if r.get("capacity")}
    if not runs:
        return (
            "No result in docs/bench-results has a capacity run yet: `make bench SIZE=M` "
            "measures it (`--capacity`).\n"
        )
    lines = [
        "| Size | Configuration | Requests/s | p50 | p95 | p99 | Errors | 412s | Server "
        "CPU-ms per request (web + PostgreSQL + Celery) | Requests per core-second | Client "
        "CPU-ms per request | Load average (start, end) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, run in runs.items():
        for c in run["configurations"]:
            cpu = c["cpu_ms_per_request"]
            lines.append(
                f"| {size} | {_configuration(c)} | {fmt(float(c['requests_per_second']))} | "
                f"{_ms(c['p50_ms'])} | {_ms(c['p95_ms'])} | {_ms(c['p99_ms'])} | "
                f"{c['errors']} | {c['precondition_failed']} | {fmt(float(cpu['server']))} "
                f"({fmt(float(cpu['web']))} + {fmt(float(cpu['postgres']))} + "
                f"{fmt(float(cpu['celery']))}) | {fmt(c.get('requests_per_core_second'))} | "
                f"{fmt(float(cpu['clients']))} | {c['load_average'][0]}, "
                f"{c['load_average'][1]} |"
            )
    out = ["\n".join(lines) + "\n"]
    for size, run in runs.items():
        shares = run["shares"]
        for c in run["configurations"]:
            head = (
                f"**Size {size}, {_configuration(c)}:** {run['clients']} clients for "
                f"{fmt(float(c['seconds']))} s, {c['requests']:,} requests "
                f"(reads {shares['reads']:.0%}, moves {shares['moves']:.0%}, writes "
                f"{shares['writes']:.0%} of the mix); the server side (web, PostgreSQL, "
                f"Celery) kept {fmt(c.get('cores_busy'), 2)} cores busy on average"
            )
            sent = c.get("webhook_deliveries")
            if sent:
                head += f"; {sent['delivered_during_window']:,} webhook deliveries sent meanwhile"
            rows = [
                head + ".\n",
                "| Request | Weight | Requests | p50 | p95 | p99 | Errors | 412s |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for kind, k in c["kinds"].items():
                weight = run["mix"].get(kind)
                rows.append(
                    f"| {KIND_LABELS.get(kind, kind)} | {f'{weight}%' if weight else '—'} | "
                    f"{k['requests']:,} | {_ms(k['p50_ms'])} | {_ms(k['p95_ms'])} | "
                    f"{_ms(k['p99_ms'])} | {k['errors']} | {k['precondition_failed']} |"
                )
            out.append("\n".join(rows) + "\n")
    return "\n".join(out)


# --- The page -------------------------------------------------------------------------------


def render(template: Path, results_dir: Path) -> str:
    results = load(results_dir)
    if not results:
        raise SystemExit(
            f"perf_docs: no results in {results_dir} (S.json, M.json, L.json or XL.json); "
            "run `make bench SIZE=S` first"
        )
    sections = {
        "generated": lambda: generated(results, template, results_dir),
        "portfolio_shape": lambda: portfolio_shape(results),
        "targets": lambda: targets(results),
        "by_size": lambda: by_size(results),
        "flat_check": lambda: flat_check(results),
        "results": lambda: "\n".join(size_section(s, r) for s, r in results.items()),
        "query_counts": lambda: query_counts(results),
        "capacity": lambda: capacity(results),
    }

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key not in sections:
            raise SystemExit(f"perf_docs: unknown placeholder {{{{ {key} }}}} in {template}")
        return sections[key]().rstrip("\n")

    body = PLACEHOLDER.sub(fill, template.read_text(encoding="utf-8"))
    head = (
        "<!-- Generated by `make perf-docs` (scripts/perf_docs.py) from "
        f"{shown_path(template)} and {shown_path(results_dir)}/. Do not edit by hand. -->\n"
    )
    return head + body.rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of <size>.json")
    parser.add_argument("--output", default=str(OUTPUT), help="the page, or - for stdout")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    page = render(args.template, args.results)
    if args.output == "-":
        sys.stdout.write(page)
        return 0
    output = Path(args.output)
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != page:
            print(f"{shown_path(output)} is out of date: run `make perf-docs`", file=sys.stderr)
            return 1
        return 0
    output.write_text(page, encoding="utf-8")
    print(f"wrote {shown_path(output)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
