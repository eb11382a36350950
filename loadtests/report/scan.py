"""One streaming pass over history.jsonl, collecting what the report's plots need.

A history can hold millions of ops, so nothing here keeps them all: throughput
and latency are aggregated into time buckets (latency as a sparse log-scale
histogram), and only the ops near the chosen witnesses are kept for timelines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadtests.history import Op, Process, pairs

# Latency histogram bins grow by 5%: percentiles read from it are within ~2.5%.
_BIN_GROWTH = math.log(1.05)
_BIN_FLOOR_MS = 0.001
# Bucket widths people read easily; the scan picks the one giving ~50 buckets.
_NICE_WIDTHS_S = (0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
_TARGET_BUCKETS = 50
_NEIGHBOURS_PER_SIDE = 2


def bucket_width(duration_s: float) -> float:
    """A readable bucket width in seconds for a run of this length."""
    for width in _NICE_WIDTHS_S:
        if duration_s / width <= _TARGET_BUCKETS:
            return width
    return _NICE_WIDTHS_S[-1]


def _bin(ms: float) -> int:
    return max(0, int(math.log(max(ms, _BIN_FLOOR_MS) / _BIN_FLOOR_MS) / _BIN_GROWTH))


def _bin_value(index: int) -> float:
    # The geometric middle of the bin.
    return _BIN_FLOOR_MS * math.exp((index + 0.5) * _BIN_GROWTH)


def histogram_percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-th percentile (0-100) of a latency histogram, in milliseconds."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return _bin_value(index)
    return None


@dataclass
class Bucket:
    """Completions and latencies of the votes that completed in one time bucket."""

    ok: int = 0
    fail: int = 0
    info: int = 0
    latency: dict[int, int] = field(default_factory=dict)

    def percentile(self, q: float) -> float | None:
        """The q-th latency percentile of this bucket, in milliseconds."""
        return histogram_percentile(self.latency, q)


@dataclass(frozen=True)
class Interval:
    """One operation from invoke to completion, as a timeline bar."""

    process: Process
    vote_id: str | None
    type: str
    choice: str | None
    invoke_ns: int | None
    complete_ns: int
    count: int | None
    role: str = "neighbour"  # "collision", "neighbour" or "context"


@dataclass(eq=False)
class Collision:
    """A unique-counts witness: acknowledged votes that returned the same count."""

    count: int
    votes: tuple[Mapping[str, Any], ...]
    intervals: list[Interval] = field(default_factory=list)
    choice: str | None = None

    @property
    def vote_ids(self) -> set[str]:
        """The ids of the colliding votes."""
        return {str(v.get("vote_id")) for v in self.votes}

    @property
    def processes(self) -> set[Any]:
        """The clients that sent the colliding votes."""
        return {v.get("process") for v in self.votes}

    @property
    def span(self) -> tuple[int, int]:
        """From the first invoke to the last completion of the colliding votes."""
        starts = [int(v.get("invoke_ns") or v["complete_ns"]) for v in self.votes]
        return min(starts), max(int(v["complete_ns"]) for v in self.votes)

    def window(self, widen: float = 1.0) -> tuple[int, int]:
        """The span, padded on both sides by ``widen`` times its length (at least 1 ms)."""
        lo, hi = self.span
        pad = int(max(hi - lo, 1_000_000) * widen)
        return lo - pad, hi + pad


@dataclass
class HistorySeries:
    """Everything the run report draws from the history."""

    t0_ns: int
    bucket_s: float
    buckets: dict[int, Bucket] = field(default_factory=dict)
    # choice -> bucket -> (acknowledged so far, highest count returned so far)
    progress: dict[str, dict[int, tuple[int, int]]] = field(default_factory=dict)
    events: list[tuple[int, str]] = field(default_factory=list)
    collisions: list[Collision] = field(default_factory=list)
    votes: int = 0

    def seconds(self, time_ns: int) -> float:
        """Seconds since the first vote was sent."""
        return (time_ns - self.t0_ns) / 1e9

    def bucket_range(self) -> range:
        """Every bucket index from the first to the last one that saw a completion."""
        if not self.buckets:
            return range(0)
        return range(0, max(self.buckets) + 1)


def first_vote_ns(ops: Iterable[Op]) -> tuple[int | None, int | None]:
    """The first vote invoke and the last vote completion (for a history without stats)."""
    first: int | None = None
    last: int | None = None
    for op in ops:
        if op.f != "vote":
            continue
        if op.type == "invoke":
            first = op.time_ns if first is None else min(first, op.time_ns)
        else:
            last = op.time_ns if last is None else max(last, op.time_ns)
    return first, last


class _Scanner:
    """The state of one pass; see :func:`scan`."""

    def __init__(self, series: HistorySeries) -> None:
        self.series = series
        self.bucket_ns = int(series.bucket_s * 1e9)
        self.acked: dict[str, int] = {}
        self.highest: dict[str, int] = {}
        self.owner: dict[str, list[Collision]] = {}
        for collision in series.collisions:
            for vote_id in collision.vote_ids:
                self.owner.setdefault(vote_id, []).append(collision)
        self.windows = [(c, c.processes, c.window()) for c in series.collisions]
        self.wanted = {(c.count + d) for c in series.collisions for d in (-1, 1)}
        self.context: dict[tuple[Any, ...], Interval] = {}
        self.neighbours: dict[int, list[Interval]] = {}

    def feed(self, invoke: Op | None, op: Op) -> None:
        if op.process == "nemesis":
            self.series.events.append((op.time_ns, op.f))
            return
        if op.f != "vote":
            return
        value = op.value if isinstance(op.value, Mapping) else {}
        choice = value.get("choice")
        if choice is None and invoke is not None and isinstance(invoke.value, Mapping):
            choice = invoke.value.get("choice")
        count = value.get("count") if op.type == "ok" else None
        self.series.votes += 1
        index = max(0, (op.time_ns - self.series.t0_ns) // self.bucket_ns)
        bucket = self.series.buckets.setdefault(index, Bucket())
        setattr(bucket, op.type, getattr(bucket, op.type) + 1)
        invoke_ns = invoke.time_ns if invoke is not None else None
        if invoke_ns is not None:
            slot = _bin((op.time_ns - invoke_ns) / 1e6)
            bucket.latency[slot] = bucket.latency.get(slot, 0) + 1
        if isinstance(count, int) and choice is not None:
            name = str(choice)
            self.acked[name] = self.acked.get(name, 0) + 1
            self.highest[name] = max(self.highest.get(name, 0), count)
            self.series.progress.setdefault(name, {})[index] = (
                self.acked[name],
                self.highest[name],
            )
        if self.windows:
            self.note(op, invoke_ns, choice, count, value)

    def note(
        self, op: Op, invoke_ns: int | None, choice: Any, count: Any, value: Mapping[str, Any]
    ) -> None:
        interval = Interval(
            op.process,
            op.vote_id,
            op.type,
            None if choice is None else str(choice),
            invoke_ns,
            op.time_ns,
            count if isinstance(count, int) else None,
        )
        owners = self.owner.get(op.vote_id or "", [])
        for collision in owners:
            collision.intervals.append(_with_role(interval, "collision"))
            collision.choice = interval.choice
        start = invoke_ns if invoke_ns is not None else op.time_ns
        for number, (collision, processes, (lo, hi)) in enumerate(self.windows):
            if collision in owners or op.process not in processes:
                continue
            if start <= hi and op.time_ns >= lo:
                self.neighbours.setdefault(number, []).append(interval)
        if interval.count in self.wanted:
            group = (interval.choice, value.get("resolution_id"), value.get("pid"), interval.count)
            self.context.setdefault(group, _with_role(interval, "context"))

    def finish(self) -> None:
        for number, collision in enumerate(self.series.collisions):
            mine = {iv.vote_id for iv in collision.intervals}
            kept = _nearest(collision, self.neighbours.get(number, []))
            context = []
            if collision.choice is not None:
                witness = collision.votes[0]
                lo, hi = collision.window(widen=5.0)
                for delta in (-1, 1):
                    group = (
                        collision.choice,
                        witness.get("resolution_id"),
                        witness.get("pid"),
                        collision.count + delta,
                    )
                    found = self.context.get(group)
                    if (
                        found is not None
                        and found.vote_id not in mine
                        and lo <= found.complete_ns
                        and (found.invoke_ns or found.complete_ns) <= hi
                    ):
                        context.append(found)
            taken = {iv.vote_id for iv in context}
            collision.intervals += context + [iv for iv in kept if iv.vote_id not in taken]


def _with_role(interval: Interval, role: str) -> Interval:
    return Interval(
        interval.process,
        interval.vote_id,
        interval.type,
        interval.choice,
        interval.invoke_ns,
        interval.complete_ns,
        interval.count,
        role,
    )


def _nearest(collision: Collision, candidates: Sequence[Interval]) -> list[Interval]:
    """Per client, the few ops just before and just after its colliding vote."""
    kept: list[Interval] = []
    for vote in collision.votes:
        own = [c for c in candidates if c.process == vote.get("process")]
        anchor = int(vote["complete_ns"])
        before = sorted((c for c in own if c.complete_ns < anchor), key=lambda c: c.complete_ns)
        after = sorted((c for c in own if c.complete_ns > anchor), key=lambda c: c.complete_ns)
        for c in before[-_NEIGHBOURS_PER_SIDE:] + after[:_NEIGHBOURS_PER_SIDE]:
            if c not in kept:
                kept.append(c)
    return kept


def scan(
    ops: Iterable[Op], t0_ns: int, duration_s: float, collisions: Sequence[Collision] = ()
) -> HistorySeries:
    """Aggregate a history into time buckets and fill the collisions' timelines."""
    series = HistorySeries(t0_ns, bucket_width(duration_s), collisions=list(collisions))
    scanner = _Scanner(series)
    # One pairing rule for the whole harness: history.pairs.
    for invoke, completion in pairs(ops):
        if completion is not None:
            scanner.feed(invoke, completion)
    scanner.finish()
    return series
