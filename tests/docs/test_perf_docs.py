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


def render(output: Path, *, results: Path = RESULTS) -> bytes:
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--template",
            str(TEMPLATE),
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

    assert sizes == ["L", "M", "S"]
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
    assert "| API product list, page of 100 | 5 | 5 | 4 | NO |" in page
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
