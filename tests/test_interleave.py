"""The report's interleaving of two colliding requests, from a hand-written trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadtests.report.interleave import interleavings, load_trace
from loadtests.target.preempt import TRACE_DIR_NAME


def write_trace(run_dir: Path, requests: list[dict[str, Any]], pid: int = 7) -> None:
    folder = run_dir / TRACE_DIR_NAME
    folder.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = [
        {"kind": "header", "pid": pid, "dropped": 0, "files": {"0": "/app/store.py"}}
    ]
    records += [{"kind": "request", "thread": 1, "truncated": False, **r} for r in requests]
    records += [
        {"kind": "source", "file": 0, "line": 18, "text": "n = counts[k] + 1"},
        {"kind": "source", "file": 0, "line": 19, "text": "counts[k] = n"},
    ]
    text = "\n".join(json.dumps(r) for r in records) + "\n"
    (folder / f"{pid}.jsonl").write_text(text)


def test_two_requests_lines_are_merged_in_the_order_they_ran(tmp_path: Path) -> None:
    # a reads (seq 1), b reads (2), a writes (3), b writes (4): the lost update.
    write_trace(
        tmp_path,
        [
            {"op": "a", "lines": [[1, 1000, 0, 18], [3, 3000, 0, 19]]},
            {"op": "b", "lines": [[2, 2000, 0, 18], [4, 4000, 0, 19]]},
        ],
    )
    trace = load_trace(tmp_path)
    found, note = interleavings([(5, [{"vote_id": "a"}, {"vote_id": "b"}])], trace, 3)
    assert note == ""
    (only,) = found
    assert [(s.client, s.where, s.text) for s in only.steps] == [
        (1, "store.py:18", "n = counts[k] + 1"),
        (2, "store.py:18", "n = counts[k] + 1"),
        (1, "store.py:19", "counts[k] = n"),
        (2, "store.py:19", "counts[k] = n"),
    ]
    assert [s.switched for s in only.steps] == [False, True, True, True]
    assert only.steps[1].at_us == 1.0


def test_a_collision_without_recorded_lines_is_said_not_drawn(tmp_path: Path) -> None:
    write_trace(tmp_path, [{"op": "a", "lines": [[1, 1000, 0, 18]]}])
    found, note = interleavings(
        [(5, [{"vote_id": "a"}, {"vote_id": "gone"}])], load_trace(tmp_path), 3
    )
    assert found == [] and "1 collision(s) had no recorded lines" in note


def test_no_trace_folder_means_no_trace(tmp_path: Path) -> None:
    assert not load_trace(tmp_path)
