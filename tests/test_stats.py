"""Throughput and latency from a hand-built history."""

from __future__ import annotations

import pytest

from loadtests.history import History, OpType
from loadtests.stats import percentile, summarize

SECOND = 1_000_000_000
MS = 1_000_000


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([7.0], 0, 7.0),
        ([7.0], 99, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 25, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 75, 3.0),
        ([1.0, 2.0, 3.0, 4.0], 76, 4.0),
        ([float(i) for i in range(1, 101)], 50, 50.0),
        ([float(i) for i in range(1, 101)], 95, 95.0),
        ([float(i) for i in range(1, 101)], 99, 99.0),
        ([float(i) for i in range(1, 101)], 100, 100.0),
        ([float(i) for i in range(1, 101)], 0, 1.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


def test_summarize_counts_votes_latency_throughput_and_seconds() -> None:
    history = History()
    t0 = 1_000 * SECOND

    def vote(process: int, n: int, start: int, took_ms: int, outcome: OpType) -> None:
        history.append(process, "invoke", "vote", {"choice": "yes"}, f"v-{n}", time_ns=start)
        history.append(
            process, outcome, "vote", {"choice": "yes"}, f"v-{n}", time_ns=start + took_ms * MS
        )

    history.append("harness", "invoke", "start", None, time_ns=t0 - SECOND)
    history.append("harness", "ok", "start", {}, time_ns=t0 - SECOND + MS)
    vote(0, 0, t0, 1, "ok")
    vote(1, 1, t0 + 100 * MS, 2, "fail")
    vote(0, 2, t0 + SECOND, 3, "info")
    vote(1, 3, t0 + 1_996 * MS, 4, "ok")  # completes at exactly t0 + 2 s

    stats = summarize(history.ops())

    assert stats["ops"] == 10
    assert stats["votes"] == 4
    assert stats["started_ns"] == t0
    assert stats["ended_ns"] == t0 + 2 * SECOND
    assert stats["duration_s"] == 2.0
    assert stats["throughput"] == 2.0
    assert stats["latency_ms"] == {"p50": 2.0, "p95": 4.0, "p99": 4.0, "max": 4.0}
    assert stats["per_second"] == [
        {"t": 0, "ok": 1, "fail": 1, "info": 0},
        {"t": 1, "ok": 0, "fail": 0, "info": 1},
        {"t": 2, "ok": 1, "fail": 0, "info": 0},
    ]


def test_summarize_of_a_history_without_votes() -> None:
    history = History()
    history.append("harness", "invoke", "read", None, time_ns=5)
    stats = summarize(history.ops())
    assert stats["ops"] == 1 and stats["votes"] == 0
    assert stats["duration_s"] == 0.0 and stats["throughput"] is None
    assert stats["latency_ms"] == {"p50": None, "p95": None, "p99": None, "max": None}
    assert stats["per_second"] == []


def test_invokes_of_different_processes_with_one_vote_id_do_not_mix() -> None:
    history = History()
    history.append(0, "invoke", "vote", {}, "same", time_ns=0)
    history.append(1, "invoke", "vote", {}, "same", time_ns=10 * MS)
    history.append(1, "ok", "vote", {}, "same", time_ns=11 * MS)
    history.append(0, "ok", "vote", {}, "same", time_ns=20 * MS)
    assert summarize(history.ops())["latency_ms"]["max"] == 20.0
