"""docs/performance.md is generated (scripts/perf_docs.py): the committed page must be what the
committed template and bench results give, and a new result must show on the page.

No database: the script is plain Python and these tests only run it and read files.
"""

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

from bench.run import markdown_table

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "perf_docs.py"
TEMPLATE = ROOT / "docs" / "performance.in.md"
RESULTS = ROOT / "docs" / "bench-results"
PAGE = ROOT / "docs" / "performance.md"


def render(output: Path, *, results: Path = RESULTS, template: Path = TEMPLATE) -> bytes:
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--template",
            str(template),
            "--results",
            str(results),
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return output.read_bytes()


def test_the_committed_page_is_what_make_perf_docs_writes(tmp_path):
    # Given the committed template and results, when the script runs,
    page = render(tmp_path / "performance.md")

    # then it writes the committed page byte for byte (else: run `make perf-docs`).
    assert page == PAGE.read_bytes()


def test_every_committed_size_is_on_the_page():
    text = PAGE.read_text(encoding="utf-8")
    sizes = sorted(p.stem for p in RESULTS.glob("*.json"))

    # S, M and L always; XL once a run of it is committed (it is never run in CI).
    assert {"S", "M", "L"} <= set(sizes) <= {"S", "M", "L", "XL"}
    for size in sizes:
        result = json.loads((RESULTS / f"{size}.json").read_text(encoding="utf-8"))
        assert f"### Size {size}: " in text
        assert f"`{size}.json` (measured {result['measured_at']})" in text


def test_a_new_result_changes_the_page(tmp_path):
    # Given a copy of the results where L's API list was measured again,
    results = tmp_path / "bench-results"
    shutil.copytree(RESULTS, results)
    path = results / "L.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    api = result["figures"][0]
    assert api["name"].startswith("API product list, page of 100")
    api.update(value=12.34, p95=56.78, queries=4, ratio=round(12.34 / api["reference_value"], 3))
    result["measured_at"] = "2027-01-02T03:04:05+00:00"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    # when the page is rendered from it,
    page = render(tmp_path / "performance.md", results=results).decode("utf-8")

    # then the new figures and the new date are there, and the page differs from the committed.
    assert "| 12.34 ms | 56.78 ms | 4 |" in page
    assert "`L.json` (measured 2027-01-02T03:04:05+00:00)" in page
    row = "| API product list, page of 100 | 5 | 5 | 4 | 5 | **missed**: 4 at L vs 5 at S, M, XL |"
    assert row in page
    assert page.encode("utf-8") != PAGE.read_bytes()


def test_the_figures_tables_match_the_bench_runner():
    # The script keeps its own copy of bench/run.py's table (the runner needs psycopg2 and
    # the script only the standard library); the two must render every result alike.
    page = PAGE.read_text(encoding="utf-8")
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        assert markdown_table(result["figures"]) in page


def test_the_script_needs_only_the_standard_library():
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])

    assert modules <= set(sys.stdlib_module_names) | {"__future__"}


# --- The per-size table and the checks, on made-up results -----------------------------------


def fake_result(size: str, figures: list[dict]) -> dict:
    return {
        "size": size,
        "machine": {
            "nproc": 2,
            "cpu_model": "test",
            "memory_gib": 4.0,
            "postgresql": "15",
            "python": "3.11",
            "load_average_start": [1.0],
            "load_average_end": [1.0],
        },
        "figures": figures,
        "portfolio": {"shape": {"products": {"S": 200, "M": 2000, "L": 5000}.get(size, 20000)}},
        "measured_at": f"2027-01-01T00:00:0{len(size)}+00:00",
        "bench_seconds": 60.0,
    }


def fake_figure(name: str, value: float, queries: int | None, kind: str | None, **extra):
    f = {
        "name": name,
        "value": value,
        "unit": "ms",
        "reference": None,
        "reference_value": None,
        "ratio": None,
        "target": None,
        "met": None,
        **extra,
    }
    if queries is not None:
        f["queries"] = queries
    if kind is not None:
        f["kind"] = kind
    return f


def render_fake(tmp_path: Path, by_size: dict[str, list[dict]]) -> str:
    results = tmp_path / "results"
    results.mkdir()
    for size, figures in by_size.items():
        (results / f"{size}.json").write_text(json.dumps(fake_result(size, figures)))
    template = tmp_path / "performance.in.md"
    template.write_text(
        "# Fake\n\n{{ by_size }}\n\n## Flat\n\n{{ flat_check }}\n\n## Queries\n\n"
        "{{ query_counts }}\n"
    )
    return render(tmp_path / "out.md", results=results, template=template).decode("utf-8")


def four_sizes(xl_list_ms: float, xl_move_ms: float, xl_page_queries: int) -> dict:
    """A flat-or-not list, move and page at four sizes, and a write with no kind."""

    def figures(size: str) -> list[dict]:
        xl = size == "XL"
        return [
            fake_figure("Thing list, page of 100", xl_list_ms if xl else 10.0, 5, "list"),
            fake_figure("Thing move", xl_move_ms if xl else 20.0, 4, "move"),
            fake_figure("Thing page", 30.0, xl_page_queries if xl else 7, "page"),
            fake_figure(
                "Thing upsert", 5.0 if xl else 1.0, 12, None, reference_value=2.0, ratio=0.5
            ),
        ]

    return {size: figures(size) for size in ("S", "M", "L", "XL")}


def test_the_flat_check_meets_a_flat_figure_and_misses_one_that_grows(tmp_path):
    # Given L and XL where the list is 1.2x slower at XL and the move 1.5x,
    page = render_fake(tmp_path, four_sizes(xl_list_ms=12.0, xl_move_ms=30.0, xl_page_queries=7))

    # then the list is flat, the move is not, and the write (no kind) is not checked.
    flat = page.split("## Flat")[1].split("## Queries")[0]
    assert "2 of 3 list, page, move and chart figures met" in flat
    assert "| Thing list, page of 100 | list | 10.00 ms | 12.00 ms | 1.20x | 5 / 5 | met |" in flat
    assert (
        "| Thing move | move | 20.00 ms | 30.00 ms | 1.50x | 4 / 4 | **missed**: median over 1.3x |"
        in flat
    )
    assert "| Thing page | page | 30.00 ms | 30.00 ms | 1.00x | 7 / 7 | met |" in flat
    assert "Thing upsert" not in flat


def test_a_different_query_count_misses_both_checks(tmp_path):
    # Given a page that runs 8 queries at XL and 7 at S, M and L, as fast at every size,
    page = render_fake(tmp_path, four_sizes(xl_list_ms=10.0, xl_move_ms=20.0, xl_page_queries=8))

    # then the flat check misses it for its query count, though its time is flat,
    flat = page.split("## Flat")[1].split("## Queries")[0]
    assert (
        "| Thing page | page | 30.00 ms | 30.00 ms | 1.00x | 7 / 8 | **missed**: query count "
        "differs |" in flat
    )
    # and so does the check that every query count is equal at S, M, L and XL.
    queries = page.split("## Queries")[1]
    assert "Query counts equal at S, M, L and XL: 3 of 4 requests met." in queries
    assert "| Thing page | 7 | 7 | 7 | 8 | **missed**: 7 at S, M, L vs 8 at XL |" in queries
    assert "| Thing list, page of 100 | 5 | 5 | 5 | 5 | met |" in queries


def test_the_by_size_table_has_a_column_per_size_with_value_and_ratio(tmp_path):
    page = render_fake(tmp_path, four_sizes(xl_list_ms=12.0, xl_move_ms=30.0, xl_page_queries=7))

    table = page.split("## Flat")[0]
    assert "| Figure | S | M | L | XL |" in table
    assert "| Thing list, page of 100 | 10.00 ms | 10.00 ms | 10.00 ms | 12.00 ms |" in table
    assert (
        "| Thing upsert | 1.00 ms (0.5x) | 1.00 ms (0.5x) | 1.00 ms (0.5x) | 5.00 ms (0.5x) |"
        in table
    )


def test_without_an_xl_result_the_flat_check_says_so(tmp_path):
    sizes = four_sizes(xl_list_ms=12.0, xl_move_ms=30.0, xl_page_queries=7)
    del sizes["XL"]

    page = render_fake(tmp_path, sizes)

    assert "*Not checked: there is no XL.json beside L.json" in page
    assert "| Thing page | 7 | 7 | 7 | not measured at XL |" in page


def test_a_figure_not_measured_at_xl_is_shown_not_met(tmp_path):
    sizes = four_sizes(xl_list_ms=12.0, xl_move_ms=30.0, xl_page_queries=7)
    sizes["XL"][1] = {**sizes["XL"][1], "value": None, "note": "not measured at XL: too slow"}
    sizes["XL"][1].pop("queries")

    page = render_fake(tmp_path, sizes)

    flat = page.split("## Flat")[1].split("## Queries")[0]
    assert "2 of 3 list, page, move and chart figures met" in flat
    assert "| Thing move | move | 20.00 ms | — | — | 4 / — | not measured at XL |" in flat
