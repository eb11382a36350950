"""Evidence survives the harness: a killed run leaves its history, a cut one is never a FAIL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support.cli import racecheck
from support.killing import killable

from loadtests.history import History, Op
from loadtests.journal import BATCH_OPS, Journal, merge_streams, read_part
from loadtests.run.rundir import HISTORY_FILE


def test_a_journal_writes_whole_lines_in_batches_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "part.jsonl"
    history = History("requests", journal=Journal(path))
    for n in range(BATCH_OPS + 10):
        op = history.invoke(1, "vote", {"choice": "yes"}, f"v-{n}")
        history.complete(op, "ok", {"choice": "yes", "count": n + 1})
    # Full batches are on disk before anything closes the journal: a SIGKILL keeps them.
    assert len(path.read_text().splitlines()) >= BATCH_OPS
    assert history._ops == []  # nothing kept in memory
    assert [op.index for op in history.stream()] == list(range(2 * (BATCH_OPS + 10)))


def test_a_part_cut_mid_line_reads_up_to_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "part.jsonl"
    History("requests", [Op(i, 1, "invoke", "read", None, i) for i in range(5)]).write(path)
    path.write_bytes(path.read_bytes()[:-20])
    assert [op.index for op in read_part(path)] == [0, 1, 2, 3]


def test_merged_streams_keep_time_order_and_reindex() -> None:
    a = [Op(0, 1, "invoke", "read", None, 10), Op(1, 1, "ok", "read", None, 30)]
    b = [Op(0, 2, "invoke", "read", None, 10), Op(1, 2, "ok", "read", None, 20)]
    merged = list(merge_streams([a, b]))
    assert [(op.process, op.time_ns) for op in merged] == [(1, 10), (2, 10), (2, 20), (1, 30)]
    assert [op.index for op in merged] == [0, 1, 2, 3]


@pytest.mark.e2e
def test_a_history_cut_at_a_line_boundary_is_unknown_not_fail(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run = racecheck("run", "--votes", "300", "--clients", "8", out=out)
    assert run.exit_code == 0, run.describe()
    path = out / HISTORY_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]))  # votes invoked, no final read
    check = racecheck("check", str(out))
    assert check.exit_code == 3, check.describe()
    assert "cut short" in check.stdout
    assert "Traceback" not in check.stderr


@pytest.mark.e2e
def test_a_sigkilled_run_leaves_its_history_and_check_says_unknown(tmp_path: Path) -> None:
    out = tmp_path / "run"
    part = out / "parts" / "driver.jsonl"
    args = ("run", "--votes", "100000", "--clients", "4", "--out", str(out))
    with killable(*args) as run:
        run.wait_until(lambda: part.is_file() and part.read_bytes().count(b"\n") >= 4 * BATCH_OPS)
        run.sigkill()
        # Everything it started notices and ends (the target watches its parent).
        assert run.leftovers() == []
    assert not (out / "result.json").exists()
    recorded = [json.loads(line) for line in part.read_text().splitlines()[:-1]]
    assert len(recorded) >= 4 * BATCH_OPS - 1
    harness = (out / "parts" / "harness.jsonl").read_text().splitlines()
    # The round opened: its setup step, then the baseline read before the load.
    assert [json.loads(line)["type"] for line in harness] == ["invoke", "ok"] * 2
    assert json.loads(harness[-1])["f"] == "baseline"
    check = racecheck("check", str(out))
    assert check.exit_code == 3, check.describe()
    assert "never finished" in check.stdout
    assert "Traceback" not in check.stderr


@pytest.mark.e2e
def test_a_sigkilled_locust_run_is_checked_from_its_workers_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    workers = out / "locust" / "workers"

    def recorded() -> int:
        return sum(p.read_bytes().count(b"\n") for p in workers.glob("*.jsonl"))

    args = ("run", "--driver", "locust", "--processes", "2", "--clients", "8", "--votes", "100000")
    # Whatever racecheck started is killed on leaving (the target ends by itself; Locust's
    # own parent watch is another guarantee of issue 16, tested with the processes).
    with killable(*args, "--out", str(out)) as run:
        run.wait_until(lambda: workers.is_dir() and recorded() >= 2 * BATCH_OPS, timeout=150)
        run.sigkill()
    assert not (out / "result.json").exists()
    check = racecheck("check", str(out))
    assert check.exit_code == 3, check.describe()
    assert "never finished" in check.stdout


def test_a_lone_op_reaches_the_disk_without_waiting_for_more(tmp_path: Path) -> None:
    """A stalled target sends no more replies: what completed must still be written."""
    path = tmp_path / "part.jsonl"
    history = History("requests", journal=Journal(path))
    history.complete(history.invoke(1, "vote", {"choice": "yes"}, "v-1"), "info", {})
    deadline = time.monotonic() + 30
    while path.read_bytes().count(b"\n") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.read_bytes().count(b"\n") == 2
    assert history.journal is not None
    history.journal.close()
