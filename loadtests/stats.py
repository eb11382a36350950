"""Throughput and latency of a run, computed from its history (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from loadtests.check.kinds import CALIBRATION
from loadtests.history import LOAD_FS, Op, pairs


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) of already sorted values, nearest-rank."""
    if not sorted_values:
        return None
    # Nearest rank is ceil(q% of n). round(x + 0.5) is not ceil: Python rounds halves
    # to even, so p95 of 100 values picked the 96th. q * n / 100 stays exact for ints.
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values) / 100) - 1))
    return sorted_values[rank]


def summarize(ops: Iterable[Op]) -> dict[str, Any]:
    """Vote throughput, latency percentiles and a per-second series for plots."""
    latencies: list[float] = []
    first_ns: int | None = None
    last_ns: int | None = None
    completions: list[tuple[int, int]] = []  # (time_ns, 0 ok / 1 fail / 2 info)
    total = 0
    # One pairing rule for the whole harness: history.pairs.
    for invoke, done in pairs(ops):
        total += (invoke is not None) + (done is not None)
        op = done if done is not None else invoke
        if op is None or op.f not in LOAD_FS or op.process == CALIBRATION:
            continue
        if invoke is not None:
            first_ns = invoke.time_ns if first_ns is None else min(first_ns, invoke.time_ns)
        if done is None:
            continue
        last_ns = done.time_ns if last_ns is None else max(last_ns, done.time_ns)
        if invoke is not None:
            latencies.append((done.time_ns - invoke.time_ns) / 1e6)
        completions.append((done.time_ns, ("ok", "fail", "info").index(done.type)))
    per_second: dict[int, list[int]] = {}  # second since the first vote -> [ok, fail, info]
    for time_ns, kind in completions:
        base = first_ns if first_ns is not None else time_ns
        per_second.setdefault(int((time_ns - base) // 1_000_000_000), [0, 0, 0])[kind] += 1
    latencies.sort()
    duration = (last_ns - first_ns) / 1e9 if first_ns is not None and last_ns is not None else 0.0
    votes = len(latencies)
    return {
        "ops": total,
        "votes": votes,
        "started_ns": first_ns,
        "ended_ns": last_ns,
        "duration_s": round(duration, 3),
        "throughput": round(votes / duration, 1) if duration > 0 else None,
        "latency_ms": {
            name: (round(v, 3) if (v := percentile(latencies, q)) is not None else None)
            for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
        },
        "per_second": [
            {"t": second, "ok": c[0], "fail": c[1], "info": c[2]}
            for second, c in sorted(per_second.items())
        ],
    }
