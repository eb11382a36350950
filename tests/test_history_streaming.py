"""Reading history.jsonl fast: the same ops, whatever the parser, and errors that say where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.bench import synth as bench_synth
from loadtests.errors import HistoryError
from loadtests.history import History, Op, iter_file


def test_a_file_reads_back_as_exactly_the_ops_written(tmp_path: Path) -> None:
    spec = bench_synth.SynthSpec(2_004, fail_rate=0.05, info_rate=0.05)
    ops = list(bench_synth.generate(spec))
    path = tmp_path / "history.jsonl"
    History("requests", ops).write(path)
    read = list(iter_file(path))
    assert read == ops
    assert all(type(op) is Op for op in read)
    assert hash(read[0]) == hash(ops[0])  # still a frozen dataclass


def test_lines_that_only_json_accepts_still_read(tmp_path: Path) -> None:
    # NaN and ints beyond 64 bits: json writes them, orjson refuses them.
    ops = [
        Op(0, 1, "invoke", "vote", {"choice": "yes", "x": float("inf")}, 10, "a"),
        Op(1, 1, "ok", "vote", {"choice": "yes", "count": 2**70}, 2**65, "a"),
    ]
    path = tmp_path / "history.jsonl"
    History("requests", ops).write(path)
    assert list(iter_file(path)) == ops


def test_loose_types_go_through_the_validating_path(tmp_path: Path) -> None:
    raw = {"index": "3", "process": "w1/u2", "type": "ok", "f": "vote", "time_ns": 5.0}
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps(raw) + "\n\n", encoding="utf-8")
    (op,) = iter_file(path)
    assert (op.index, op.time_ns, op.driver, op.value, op.vote_id) == (3, 5, "requests", None, None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"index": 0}\n', "history.jsonl:1: malformed history op"),
        (b"\n[1, 2]\n", "history.jsonl:2: malformed history op"),
        (b'{"index": 0, "type": "bogus"}\n', "unknown op type"),
        (b"{not json\n", "history.jsonl:1: not JSON"),
        (b'{"f": "\xff\xfe"}\n', "history.jsonl:1: not JSON"),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(content)
    with pytest.raises(HistoryError, match=message):
        list(iter_file(path))
