"""The pure parts of the capacity figure (bench/capacity.py): the mix's draw, the percentiles,
the /proc CPU accounting and the summary, and its table on the generated performance page.

No database and no server: the load itself runs in `make bench`.
"""

import json
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench.capacity import (
    MIX,
    MOVES,
    READS,
    WRITES,
    Mix,
    ProcStat,
    parse_stat,
    percentile,
    summarize,
    tree_ticks,
)

ROOT = Path(__file__).resolve().parents[2]


# --- The mix --------------------------------------------------------------------------------


def test_the_mix_is_80_reads_15_moves_5_writes():
    assert Mix().shares() == pytest.approx({"reads": 0.80, "moves": 0.15, "writes": 0.05})
    assert {name for name, _ in MIX} == READS | MOVES | WRITES
    assert not (READS & MOVES or READS & WRITES or MOVES & WRITES)


def test_a_seeded_client_draws_the_mix_in_its_proportions():
    # Given one client's seeded RNG, when it draws 50,000 requests,
    rng = random.Random("capacity-test")
    mix = Mix()
    drawn = Counter(mix.choose(rng) for _ in range(50_000))

    # then each kind comes up at its weight (within 0.6 points), and so do the groups.
    for name, weight in MIX:
        assert drawn[name] / 50_000 == pytest.approx(weight / 100, abs=0.006), name
    reads = sum(drawn[n] for n in READS) / 50_000
    moves = sum(drawn[n] for n in MOVES) / 50_000
    writes = sum(drawn[n] for n in WRITES) / 50_000
    assert (reads, moves, writes) == pytest.approx((0.80, 0.15, 0.05), abs=0.006)


def test_the_same_seed_draws_the_same_requests_and_another_seed_others():
    mix = Mix()
    a, b, c = random.Random("client-3"), random.Random("client-3"), random.Random("client-4")
    one = [mix.choose(a) for _ in range(200)]

    assert one == [mix.choose(b) for _ in range(200)]
    assert one != [mix.choose(c) for _ in range(200)]


def test_a_mix_draws_every_kind_by_its_cumulative_weight():
    # A stub RNG at the edges: 0 is the first kind, just under a boundary the kind before it.
    class Fixed:
        def __init__(self, x):
            self.x = x

        def random(self):
            return self.x

    mix = Mix((("a", 1), ("b", 3)))
    assert mix.choose(Fixed(0.0)) == "a"
    assert mix.choose(Fixed(0.2499)) == "a"
    assert mix.choose(Fixed(0.25)) == "b"
    assert mix.choose(Fixed(0.9999)) == "b"
    with pytest.raises(ValueError):
        Mix((("a", 1), ("b", 0)))


# --- Percentiles ----------------------------------------------------------------------------


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted

    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0
    # 10 values: the p95 is the 10th (ceil(9.5)), the p50 the 5th.
    assert percentile([float(v) for v in range(1, 11)], 95) == 10.0
    assert percentile([float(v) for v in range(1, 11)], 50) == 5.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 0)


# --- CPU accounting from /proc --------------------------------------------------------------


def stat_line(pid: int, comm: str, ppid: int, utime: int, stime: int, cut=0, cst=0) -> str:
    # Fields 1-17 of /proc/<pid>/stat, then the rest of a real line's fields.
    head = f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 1000 0 0 0"
    return f"{head} {utime} {stime} {cut} {cst} 20 0 1 0 500 1000000 3000\n"


def test_a_stat_line_is_parsed_after_the_command_name():
    # The command name may hold spaces and parentheses: the fields count from the last ')'.
    line = stat_line(4242, "gunicorn: worker (portfolio) [x]", 4200, 1234, 56, 7, 8)

    assert parse_stat(line) == ProcStat(ppid=4200, utime=1234, stime=56, cutime=7, cstime=8)
    assert parse_stat(line).own == 1290
    assert parse_stat(line).with_children == 1305


def test_a_real_stat_line_parses():
    stat = parse_stat(Path("/proc/self/stat").read_text())

    assert stat.ppid > 0
    assert stat.utime >= 0 and stat.stime >= 0


def fake_proc(root: Path, processes: dict[int, str]) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    for pid, line in processes.items():
        (root / str(pid)).mkdir(parents=True)
        (root / str(pid) / "stat").write_text(line)
    (root / "self").mkdir()  # non-numeric entries are skipped
    return root


def test_a_process_tree_counts_the_root_its_reaped_children_and_its_live_children(tmp_path):
    # Given a master (100) with two workers, and an unrelated process,
    proc = fake_proc(
        tmp_path / "before",
        {
            100: stat_line(100, "gunicorn", 1, 10, 5),
            101: stat_line(101, "gunicorn", 100, 200, 20),
            102: stat_line(102, "gunicorn", 100, 300, 30),
            900: stat_line(900, "postgres", 1, 5000, 500),
        },
    )
    before = tree_ticks(100, proc)
    assert before == 15 + 220 + 330

    # when worker 101 used 80 more ticks, exited and was reaped (its 300 go to the master's
    # cutime/cstime), a new worker 103 started and used 40, and 102 used 70 more,
    proc = fake_proc(
        tmp_path / "after",
        {
            100: stat_line(100, "gunicorn", 1, 12, 5, 280, 20),
            102: stat_line(102, "gunicorn", 100, 360, 40),
            103: stat_line(103, "gunicorn", 100, 35, 5),
            900: stat_line(900, "postgres", 1, 9000, 900),
        },
    )
    after = tree_ticks(100, proc)

    # then the difference is exactly the tree's work: 2 + 80 + 70 + 40, nothing of 900's.
    assert after - before == 2 + 80 + 70 + 40
    assert tree_ticks(999, proc) == 0  # a process gone: nothing


# --- The summary ----------------------------------------------------------------------------


def test_the_summary_counts_412s_apart_and_every_other_failure_as_an_error():
    samples = [
        ("api_products", 200, 0.010),
        ("api_products", 200, 0.030),
        ("backlog_move", 200, 0.020),
        ("backlog_create", 201, 0.040),
        ("product_patch", 412, 0.015),
        ("product_read", 200, 0.005),
        ("product_patch", 200, 0.025),
        ("page_dashboard", 500, 0.100),
        ("api_events", 0, 0.001),  # a broken connection
    ]

    out = summarize(samples, wall=3.0)

    assert out["requests"] == 9
    assert out["requests_per_second"] == 3.0
    assert out["errors"] == 2
    assert out["precondition_failed"] == 1
    assert out["p50_ms"] == 20.0
    assert out["p99_ms"] == 100.0
    assert out["groups"]["reads"]["requests"] == 4
    assert out["groups"]["reads"]["errors"] == 2
    assert out["groups"]["moves"]["requests"] == 1
    assert out["groups"]["writes"]["requests"] == 4
    assert out["groups"]["writes"]["precondition_failed"] == 1
    assert list(out["kinds"])[:2] == ["api_products", "page_dashboard"]  # in the mix's order
    assert out["kinds"]["api_products"]["p95_ms"] == 30.0


# --- On the performance page ----------------------------------------------------------------


def test_a_capacity_run_shows_on_the_performance_page(tmp_path):
    # Given the committed results, with a capacity run added to M,
    results = tmp_path / "bench-results"
    shutil.copytree(ROOT / "docs" / "bench-results", results)
    path = results / "M.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    configuration = summarize([("api_products", 200, 0.050), ("backlog_move", 412, 0.02)], 2.0)
    configuration.update(
        web_workers=2,
        celery_workers=0,
        clients=8,
        cpu_ms_per_request={
            "web": 20.5, "postgres": 7.25, "celery": 0.0, "server": 27.75, "clients": 0.6
        },
        requests_per_core_second=36.0,
        cores_busy=0.25,
        load_average=[1.5, 1.75],
    )  # fmt: skip
    result["capacity"] = {
        "clients": 8,
        "seconds": 60.0,
        "mix": dict(MIX),
        "shares": Mix().shares(),
        "configurations": [configuration],
    }
    path.write_text(json.dumps(result), encoding="utf-8")

    # when the page is rendered,
    out = tmp_path / "performance.md"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "perf_docs.py"), "--results", str(results),
         "--output", str(out)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    page = out.read_text(encoding="utf-8")

    # then the summary row and the per-request table are there.
    assert (
        "| M | 2 web workers | 1.0 | 20.0 ms | 50.0 ms | 50.0 ms | 0 | 1 | 27.8 (20.5 + 7.2 + "
        "0.0) | 36.0 | 0.6 | 1.5, 1.75 |" in page
    )
    assert "**Size M, 2 web workers:** 8 clients for 2.0 s, 2 requests" in page
    assert "kept 0.25 cores busy on average" in page
    row = "| API product list, page of 100 | 14% | 1 | 50.0 ms | 50.0 ms | 50.0 ms | 0 | 0 |"
    assert row in page
