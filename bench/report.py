"""Markdown for the README's Performance section from the last results of each size.

    .venv/bin/python -m bench.report        # reads bench/results/{S,M,L}.json

Prints, for every size that has results, the machine and the figures table, then one table
of query counts across sizes with whether each is the same at every size (the counts must not
grow with the portfolio; the product list's status badges included).
"""

from __future__ import annotations

import json
import re
import sys

from bench.run import RESULTS, markdown_table

SIZES = ("S", "M", "L")


def _short(name: str) -> str:
    """The figure's name without the size-dependent parts, to line sizes up."""
    name = re.sub(r"\s*\(\?.*?\)|\s*\(/products/\?.*?\)", "", name)
    return re.sub(r"page of \d+", "page of 100", name)


def main() -> int:
    results = {}
    for size in SIZES:
        path = RESULTS / f"{size}.json"
        if path.exists():
            results[size] = json.loads(path.read_text())
    if not results:
        print("No results yet: run `make bench SIZE=S` (and M, L) first.", file=sys.stderr)
        return 1
    for size, result in results.items():
        m = result["machine"]
        shape = result["portfolio"]["shape"]
        print(f"#### Size {size}: {shape['products']:,} products\n")
        print(
            f"Measured {result['measured_at']} on {m['nproc']} CPUs ({m['cpu_model']}), "
            f"{m['memory_gib']} GiB, PostgreSQL {m['postgresql']}, Python {m['python']}; "
            f"load average {m['load_average_start'][0]} at the start, "
            f"{m['load_average_end'][0]} at the end; the whole run took "
            f"{result['bench_seconds']:.0f} s.\n"
        )
        if shape.get("backlog_items"):
            print(
                f"Backlog: {shape['backlog_items']:,} items; the backlog figures use unit "
                f"{shape['backlog_big_unit']} ({shape['backlog_big_items']:,} items) and, for "
                f"the query count, unit {shape['backlog_small_unit']} "
                f"({shape['backlog_small_items']} items).\n"
            )
        if shape.get("readings"):
            print(
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
            print(
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
            print(
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
            print(
                f"Funding: {shape['funding_allocations']:,} allocations for "
                f"{shape['funding_year']} ({modes}) and {shape['investment_requests']:,} "
                f"investment requests ({statuses}); the funding figures read that year.\n"
            )
        print(markdown_table(result["figures"]))
        unmeasured = [f for f in result["figures"] if f.get("value") is None]
        for f in unmeasured:
            print(f"- {f['name']}: {f.get('note', 'not measured')}")
        if unmeasured:
            print()
    print("#### Query counts by size\n")
    names: list[str] = []
    counts: dict[str, dict[str, str]] = {}
    for size, result in results.items():
        for f in result["figures"]:
            if f.get("queries") is None:
                continue
            name = _short(f["name"])
            if name not in counts:
                names.append(name)
                counts[name] = {}
            counts[name][size] = str(f["queries"])
    # The rule every list and page keeps (status badges included): the count is the same at
    # every size, so a bigger portfolio costs no extra statements.
    header = "| Request | " + " | ".join(results) + " | Same at every size |"
    print(header)
    print("|---|" + "---|" * (len(results) + 1))
    for name in names:
        row = [counts[name].get(s, "—") for s in results]
        measured = {c for c in row if c != "—"}
        same = (
            "—"
            if len(results) < 2 or len(measured) == 0
            else ("yes" if len(measured) == 1 else "NO")
        )
        print(f"| {name} | " + " | ".join(row) + f" | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
