"""The lines of code that interleaved: two colliding votes' app lines, side by side in time.

Under ``--preempt`` each target process writes ``preempt-trace/<pid>.jsonl``: the app
lines every tagged request reached, with one sequence number per process that orders
two threads' lines exactly, and the source text of each line. For a collision (two
acknowledged votes that returned the same count) this merges the two requests' lines
into one column per client, cut to the stretch where both were running, so the page can
say "client 1 read counts at line 18 … client 2 read counts at line 18 … both wrote".
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.target.preempt import TRACE_DIR_NAME

# Lines shown before the later request starts and after the earlier one ends.
CONTEXT_LINES = 2
# At most this many rows per collision: the last ones before the earlier request ends, where
# handlers write their counter and reply (the parsing before it would bury the race).
MAX_ROWS = 40


@dataclass(frozen=True)
class Traced:
    """One request's app lines: (sequence, time_ns, file, line) tuples, in its process."""

    op: str
    pid: int
    thread: int
    lines: tuple[tuple[int, int, int, int], ...]


@dataclass
class Trace:
    """Every traced request of a run, and the source text of the lines they reached."""

    requests: dict[str, Traced] = field(default_factory=dict)
    sources: dict[tuple[int, int, int], str] = field(default_factory=dict)  # (pid, file, line)
    files: dict[tuple[int, int], str] = field(default_factory=dict)  # (pid, file) -> path
    dropped: int = 0

    def __bool__(self) -> bool:
        return bool(self.requests)


@dataclass(frozen=True)
class Step:
    """One row of an interleaving: which client reached which line, and when."""

    client: int  # 1 or 2: the order of the two votes in the witness
    at_us: float  # microseconds since the first row shown
    where: str  # e.g. "store.py:18"
    text: str  # the source line
    switched: bool  # the other client ran in between: a (forced) thread switch


@dataclass(frozen=True)
class Interleaving:
    """A collision's two requests, merged in the order their lines ran."""

    number: int
    count: Any
    votes: tuple[str, str]
    steps: tuple[Step, ...]
    note: str = ""


def load_trace(run_dir: Path) -> Trace:
    """Read every ``preempt-trace/*.jsonl`` of a run; an empty Trace when there are none."""
    trace = Trace()
    folder = run_dir / TRACE_DIR_NAME
    if not folder.is_dir():
        return trace
    for path in sorted(folder.glob("*.jsonl")):
        _read_file(path, trace)
    return trace


def _read_file(path: Path, trace: Trace) -> None:
    pid = 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for raw in lines:
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            continue  # a damaged line costs that line, not the report
        kind = record.get("kind") if isinstance(record, dict) else None
        if kind == "header":
            pid = int(record.get("pid") or 0)
            trace.dropped += int(record.get("dropped") or 0)
            for number, name in (record.get("files") or {}).items():
                trace.files[(pid, int(number))] = str(name)
        elif kind == "request" and isinstance(record.get("op"), str):
            steps = tuple(tuple(int(x) for x in step[:4]) for step in record.get("lines") or ())
            trace.requests[record["op"]] = Traced(
                record["op"],
                pid,
                int(record.get("thread") or 0),
                steps,  # type: ignore[arg-type]  # four ints each, as written
            )
        elif kind == "source":
            key = (pid, int(record.get("file", -1)), int(record.get("line", 0)))
            trace.sources[key] = str(record.get("text", ""))


def interleave(
    number: int, count: Any, first: Traced, second: Traced, trace: Trace
) -> Interleaving:
    """The two requests' lines merged by sequence, cut to where both were running."""
    votes = (first.op, second.op)
    if first.pid != second.pid:
        return Interleaving(
            number, count, votes, (), "the two votes were served by different processes"
        )
    tagged = sorted(
        [(step, 1) for step in first.lines] + [(step, 2) for step in second.lines],
        key=lambda item: item[0][0],
    )
    if not tagged:
        return Interleaving(number, count, votes, (), "no app lines were recorded for them")
    starts = [r.lines[0][0] for r in (first, second) if r.lines]
    ends = [r.lines[-1][0] for r in (first, second) if r.lines]
    begin, end = max(starts), min(ends)
    indexes = [i for i, (step, _) in enumerate(tagged) if begin <= step[0] <= end]
    if indexes:
        low = max(0, indexes[0] - CONTEXT_LINES)
        high = min(len(tagged), indexes[-1] + CONTEXT_LINES + 1)
        tagged = tagged[low:high]
        note = ""
        if len(tagged) > MAX_ROWS:
            note = (
                f"{len(tagged) - MAX_ROWS} earlier rows, where both requests were already "
                "running side by side, are left out."
            )
            tagged = tagged[-MAX_ROWS:]
    else:
        note = "the two requests did not overlap in the app's code"
    t0 = tagged[0][0][1]
    steps = []
    previous: int | None = None
    for (_, time_ns, file, line), client in tagged:
        path = trace.files.get((first.pid, file), "?")
        text = trace.sources.get((first.pid, file, line), "")
        if path.startswith("<") and not text:
            text = "(code generated at run time, e.g. a dataclass's __init__)"
        steps.append(
            Step(
                client,
                (time_ns - t0) / 1e3,
                f"{os.path.basename(path)}:{line}",
                text,
                previous is not None and previous != client,
            )
        )
        previous = client
    return Interleaving(number, count, votes, tuple(steps), note)


def interleavings(
    collisions: Iterable[tuple[Any, Sequence[Mapping[str, Any]]]], trace: Trace, limit: int
) -> tuple[list[Interleaving], str]:
    """Up to ``limit`` collisions' interleavings, and a note when some could not be drawn."""
    found: list[Interleaving] = []
    missing = 0
    for count, votes in collisions:
        if len(found) >= limit:
            break
        ops = [v.get("vote_id") for v in votes[:2]]
        traced = [trace.requests.get(op) for op in ops if isinstance(op, str)]
        if len(traced) < 2 or traced[0] is None or traced[1] is None:
            missing += 1
            continue
        found.append(interleave(len(found) + 1, count, traced[0], traced[1], trace))
    note = ""
    if missing:
        note = (
            f"{missing} collision(s) had no recorded lines (the trace keeps the most recent "
            "requests only, or the target was killed before it could write it)."
        )
    return found, note
