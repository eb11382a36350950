"""iter_file's fast path (msgspec, straight into Op) and its general path agree.

The fast path only takes lines it turns into exactly the Op the general path would;
every other line goes the general way. So on every history here the ops read, and
the checker's verdict on them, must be the same both ways, op kinds nobody knows
yet included (they are never dropped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.histories import Timed, final

from loadtests.bench import synth as bench_synth
from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.history import History, Op, _op_from_line, iter_file


def _general(path: Path) -> list[Op]:
    """The general path alone, line by line (what iter_file did before the fast path)."""
    ops = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            op = _op_from_line(line, path, number)
            if op is not None:
                ops.append(op)
    return ops


def _timed_history() -> list[Op]:
    timed = Timed()
    timed.vote(1, "a", "yes", 0, 10, count=1)
    timed.vote(2, "b", "yes", 5, 15, count=1)  # a lost update
    timed.read("r1", 12, 20, {"yes": 2})
    timed.invoke(3, "c", "no", 30)  # never completed
    timed.outcome(4, "d", "no", 31, "info")
    timed.outcome(5, "e", "no", 32, "fail")
    timed.done(6, "orphan", "no", 40, count=1)  # no invoke
    return timed.ops()


def _odd_history() -> list[Op]:
    """Op kinds the checker does not know, odd values, nemesis and Locust processes."""
    return [
        Op(0, "harness", "invoke", "start", None, 1),
        Op(1, "harness", "ok", "start", {"id": 1, "state": "voting"}, 2),
        Op(2, "w1/u2", "invoke", "cas", {"key": "x", "from": 1, "to": 2}, 3, None, "locust"),
        Op(3, "w1/u2", "ok", "cas", {"key": "x", "from": 1, "to": 2}, 4, None, "locust"),
        Op(4, 7, "invoke", "write", [1, 2.5, None, True], 5),
        Op(5, 7, "info", "write", {"error": "ReadTimeout", "status": None}, 6),
        Op(6, "nemesis", "invoke", "restart", None, 7),
        Op(7, "nemesis", "ok", "restart", {"pids": [1, 2]}, 8),
        Op(8, 9, "invoke", "vote", {"choice": "yes"}, 9, "v9"),
        Op(9, 9, "ok", "vote", {"choice": "yes", "count": "3", "pid": True}, 10, "v9"),
        Op(10, 9, "invoke", "vote", {"choice": "caf\u00e9 \U0001f600"}, 11, "v10"),
        Op(11, 9, "ok", "vote", {"choice": "caf\u00e9 \U0001f600", "count": -1}, 12, "v10"),
        Op(12, 9, "invoke", "vote", {"choice": "yes"}, 13, "v11"),
        Op(13, 9, "ok", "vote", {"choice": "yes", "count": 0.5, "extra": {"a": []}}, 14, "v11"),
        Op(14, 2, "invoke", "read", None, 15),
        Op(15, 2, "fail", "read", {"error": "boom", "status": 500}, 16),
    ]


def _synth(**rates: Any) -> tuple[list[Op], FinalState]:
    truth = bench_synth.SynthTruth()
    ops = list(bench_synth.generate(bench_synth.SynthSpec(2_004, **rates), truth))
    return ops, truth.final()


CASES: dict[str, tuple[list[Op], FinalState, CheckSettings]] = {
    "synthetic": (*_synth(), bench_synth.settings()),
    "synthetic-many-fail-info": (
        *_synth(fail_rate=0.1, info_rate=0.1, collision_rate=0.2),
        bench_synth.settings(),
    ),
    "timed": (_timed_history(), final({"yes": 1, "no": 0}), CheckSettings(("yes", "no"))),
    "odd": (_odd_history(), final({"yes": 1}), CheckSettings(("yes",))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_paths_read_the_same_ops_and_reach_the_same_verdict(tmp_path: Path, name: str) -> None:
    ops, final_state, settings = CASES[name]
    path = tmp_path / "history.jsonl"
    History("requests", ops).write(path)
    fast, general = list(iter_file(path)), _general(path)
    assert fast == general == ops
    assert [type(op) for op in fast] == [Op] * len(ops)
    assert check(fast, final_state, settings) == check(general, final_state, settings)


def test_lines_the_fast_path_refuses_still_read_in_order(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lines = [
        b'{"index":0,"process":1,"type":"invoke","f":"vote","value":{"choice":"yes"},'
        b'"time_ns":1,"vote_id":"a","driver":"requests"}',
        b"",  # blank: skipped
        b'{"index":"1","process":1,"type":"ok","f":"vote","time_ns":2.0,"vote_id":"a",'
        b'"value":{"choice":"yes","count":NaN}}',  # loose types and NaN: the general path
        b'{"index":2,"process":2,"type":"invoke","f":"vote","value":{"s":"\\ud800"},'
        b'"time_ns":3}',  # a lone surrogate: only json accepts it
        b'{"index":3,"process":2,"type":"ok","f":"vote","value":{"count":18446744073709551616},'
        b'"time_ns":4}',  # beyond 64 bits: read exactly as written
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    ops = list(iter_file(path))
    assert [op.index for op in ops] == [0, 1, 2, 3]
    assert ops[1].time_ns == 2 and ops[1].value["count"] != ops[1].value["count"]  # NaN
    assert ops[2].value == {"s": "\ud800"}
    assert ops[3].value == {"count": 2**64} and type(ops[3].value["count"]) is int
