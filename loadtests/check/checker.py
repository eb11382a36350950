"""The checker: a pure function from (history, final state, settings) to a verdict.

It reads the history once, keeping only aggregates and the first op of each
returned count, and never says PASS without evidence: missing evidence is
UNKNOWN, and FAIL always comes with witnesses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests.check import checks
from loadtests.check.ackstore import AckStore, CountIndex
from loadtests.check.verdict import (
    MAX_WITNESSES,
    CheckResult,
    ChoiceCounts,
    Status,
    Verdict,
    combine,
)
from loadtests.history import Op

# Nemesis ops that replace the target process (its in-memory state is gone).
RESTART_FS = frozenset({"kill", "restart", "kill-restart"})


@dataclass(frozen=True)
class FinalState:
    """The target's state after the load stopped, as the harness read it."""

    counts: Mapping[str, int] | None
    resolution_id: int | None = None
    time_ns: int | None = None
    pids: tuple[int, ...] = ()
    source: str = "read"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form used in result.json."""
        return {
            "counts": dict(self.counts) if self.counts is not None else None,
            "resolution_id": self.resolution_id,
            "time_ns": self.time_ns,
            "pids": list(self.pids),
            "source": self.source,
        }

    @classmethod
    def from_read(cls, read: Op, invoked_ns: int) -> FinalState:
        """The final state from the harness's last read op (no counts if the read failed)."""
        if read.type != "ok" or not isinstance(read.value, Mapping):
            return cls(None)
        pid = read.value.get("pid")
        return cls(
            counts=read.value["counts"],
            resolution_id=read.value.get("resolution_id"),
            time_ns=invoked_ns,
            pids=(pid,) if isinstance(pid, int) else (),
            source="read",
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> FinalState:
        """Rebuild the final state from result.json (None: there was no final read)."""
        if not raw:
            return cls(None)
        counts = raw.get("counts")
        return cls(
            {str(k): int(v) for k, v in counts.items()} if counts is not None else None,
            raw.get("resolution_id"),
            raw.get("time_ns"),
            tuple(raw.get("pids", ())),
            str(raw.get("source", "read")),
        )


@dataclass(frozen=True)
class CheckSettings:
    """What the checker must know beyond the history: expectations and known gaps."""

    expect: str | None = None  # "pass" or "violation"
    choices: tuple[str, ...] = ()
    shared_state: bool = False
    workers: int | None = None
    gaps: tuple[str, ...] = ()
    interrupted: str | None = None
    # What a returned count is (--preempt, issue 11): "written", the value the handler wrote,
    # or "reread", read back after the write, where equal counts do not prove a lost update.
    reply: str = "written"


@dataclass(frozen=True, slots=True)
class _Ack:
    """The minimum kept per acknowledged vote: enough to be a witness."""

    vote_id: str | None
    process: Any
    invoke_ns: int | None
    complete_ns: int
    count: int | None
    pid: int | None
    resolution_id: int | None

    def witness(self) -> dict[str, Any]:
        return {
            "vote_id": self.vote_id,
            "process": self.process,
            "invoke_ns": self.invoke_ns,
            "complete_ns": self.complete_ns,
            "count": self.count,
            "pid": self.pid,
            "resolution_id": self.resolution_id,
        }


@dataclass
class _Scan:
    """Everything one pass over the history collects."""

    counts: dict[str, list[int]] = field(default_factory=dict)  # choice -> [ok, fail, info]
    open: dict[tuple[Any, str], int] = field(default_factory=dict)
    vote_ids: set[str] = field(default_factory=set)
    duplicate_ids: list[str] = field(default_factory=list)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    collisions: list[tuple[_Ack, _Ack]] = field(default_factory=list)
    collision_total: int = 0
    acks_with_count: int = 0
    pid_acks: dict[int, _Ack] = field(default_factory=dict)
    pid_epochs: dict[int, set[int]] = field(default_factory=dict)
    resolutions: dict[int, _Ack] = field(default_factory=dict)
    above_final: list[_Ack] = field(default_factory=list)
    above_final_total: int = 0
    restarts: list[Op] = field(default_factory=list)
    acks_before_restart: int = 0
    last_vote_ns: int = 0


def _scan(ops: Iterable[Op], final: FinalState, settings: CheckSettings) -> _Scan:
    """One pass over the history (any iterable: a list, or a file being streamed).

    This loop runs once per op, so it is written for speed: names are bound to
    locals, and witnesses (_Ack objects) are built only when something is
    kept as a witness. The first ack of each count lives in an AckStore, about
    50 bytes per vote instead of a dict entry, a tuple key and an object.
    """
    scan = _Scan()
    counts, open_, vote_ids = scan.counts, scan.open, scan.vote_ids
    for choice in settings.choices:
        counts.setdefault(choice, [0, 0, 0])
    final_counts = final.counts or {}
    shared = settings.shared_state
    store = AckStore()
    remember, slots = store.add, 0
    indexes: dict[tuple[Any, ...], CountIndex] = {}
    pid_acks, resolutions = scan.pid_acks, scan.resolutions
    epoch, epoch_pids = 0, None
    last_vote_ns = acks_before_restart = acks_with_count = 0
    for op in ops:
        process, kind, f, vote_id = op.process, op.type, op.f, op.vote_id
        if process == "nemesis":
            if f in RESTART_FS and kind != "invoke":
                scan.restarts.append(op)
                # Each restart starts a new epoch: a fresh process with fresh counters.
                epoch, epoch_pids = len(scan.restarts), None
            continue
        key = (process, vote_id or f)
        if kind == "invoke":
            if f == "vote" and vote_id is not None:
                if vote_id in vote_ids:
                    scan.duplicate_ids.append(vote_id)
                vote_ids.add(vote_id)
            open_[key] = op.time_ns
            continue
        invoke_ns = open_.pop(key, None)
        if invoke_ns is None:
            scan.orphans.append(op.to_dict())
        if f != "vote":
            continue
        value = op.value
        if type(value) is not dict and not isinstance(value, Mapping):
            value = {}
        choice = value.get("choice")
        if type(choice) is not str:
            choice = str(choice)
        tally = counts.get(choice)
        if tally is None:
            tally = counts[choice] = [0, 0, 0]
        time_ns = op.time_ns
        if time_ns > last_vote_ns:  # noqa: PLR1730 (max() is a call per op: slower)
            last_vote_ns = time_ns
        if kind != "ok":
            tally[1 if kind == "fail" else 2] += 1
            pid = value.get("pid")
            if pid is not None:
                # A process that refused a vote answered too: a gunicorn worker
                # that never saw the round refuses everything, and only its pid
                # shows that the state is split between processes.
                if pid not in pid_acks:
                    pid_acks[pid] = _Ack(vote_id, process, invoke_ns, time_ns, None, pid, None)
                if epoch_pids is None:
                    epoch_pids = scan.pid_epochs.setdefault(epoch, set())
                epoch_pids.add(pid)
            continue
        tally[0] += 1
        if epoch == 0:
            acks_before_restart += 1
        count, pid, resolution_id = value.get("count"), value.get("pid"), value.get("resolution_id")
        if pid is not None:
            if pid not in pid_acks:
                pid_acks[pid] = _Ack(
                    vote_id, process, invoke_ns, time_ns, count, pid, resolution_id
                )
            if epoch_pids is None:
                epoch_pids = scan.pid_epochs.setdefault(epoch, set())
            epoch_pids.add(pid)
        if resolution_id is not None and resolution_id not in resolutions:
            resolutions[resolution_id] = _Ack(
                vote_id, process, invoke_ns, time_ns, count, pid, resolution_id
            )
        if count is None:
            continue
        acks_with_count += 1
        # Counts are compared within one counter of one resolution in one process
        # (unless the state is shared): equal counts there mean two increments
        # read the same value, so one overwrote the other.
        group = (resolution_id, choice, None if shared else pid, epoch)
        index = indexes.get(group)
        if index is None:
            index = indexes[group] = CountIndex()
        first = index.first(count, slots)
        if first is None:
            remember(vote_id, process, pid, invoke_ns, time_ns)
            slots += 1
        else:
            scan.collision_total += 1
            if len(scan.collisions) < MAX_WITNESSES:
                ack = _Ack(vote_id, process, invoke_ns, time_ns, count, pid, resolution_id)
                scan.collisions.append((_stored_ack(store, first, count, resolution_id), ack))
        limit = final_counts.get(choice)
        if limit is not None and count > limit:
            scan.above_final_total += 1
            if len(scan.above_final) < MAX_WITNESSES:
                scan.above_final.append(
                    _Ack(vote_id, process, invoke_ns, time_ns, count, pid, resolution_id)
                )
    scan.last_vote_ns = last_vote_ns
    scan.acks_before_restart = acks_before_restart
    scan.acks_with_count = acks_with_count
    return scan


def _stored_ack(store: AckStore, slot: int, count: Any, resolution_id: Any) -> _Ack:
    vote_id, process, pid, invoke_ns, complete_ns = store.get(slot)
    return _Ack(vote_id, process, invoke_ns, complete_ns, count, pid, resolution_id)


# The check whose detail best explains a verdict, most telling first. A FAIL is
# explained by its root cause: split state makes the other checks' numbers moot.
_REASON_ORDER = ("bounds", "unique-counts", "split-state", "counts-within-final", "restart")
_FAIL_REASON_ORDER = ("split-state", *_REASON_ORDER)


def _reason(results: list[CheckResult], status: Status) -> str:
    """One sentence for the verdict: the detail of the most telling check with that status."""
    matching = [r for r in results if r.status == status]
    for name in _FAIL_REASON_ORDER if status == "FAIL" else _REASON_ORDER:
        for result in matching:
            if result.name == name:
                return result.detail
    return matching[0].detail if matching else ""


def check(
    ops: Iterable[Op], final: FinalState, settings: CheckSettings = CheckSettings()
) -> Verdict:
    """Judge a history against the final state. Pure: same inputs, same verdict."""
    scan = _scan(ops, final, settings)
    counts = {
        choice: ChoiceCounts(
            ok, fail, info, final.counts.get(choice) if final.counts is not None else None
        )
        for choice, (ok, fail, info) in sorted(scan.counts.items())
    }
    candidates = [
        checks.history_complete(scan),
        checks.evidence(settings),
        checks.final_read(scan, final),
        checks.resolution(scan, final),
        checks.bounds(scan, counts, final, checks.is_split(scan, final, settings)),
        checks.unique_counts(scan, settings),
        checks.counts_within_final(scan, final, settings),
        checks.split_state(scan, settings, final),
        checks.restart(scan, settings),
        checks.interrupted(settings),
    ]
    results = [r for r in candidates if r is not None]
    status: Status = combine(r.status for r in results)
    reason = _reason(results, status)
    if settings.gaps and status != "ERROR":
        # A worker's counts are missing: its acknowledged votes are not in the
        # history, so neither a PASS nor a FAIL can be trusted.
        status, reason = "UNKNOWN", f"evidence is missing: {'; '.join(settings.gaps)}"
    expectation = checks.expectation(status, settings.expect)
    if expectation is not None:
        results.append(expectation)
        if expectation.status == "UNKNOWN":
            status, reason = "UNKNOWN", expectation.detail
    as_expected = status == ("FAIL" if settings.expect == "violation" else "PASS")
    return Verdict(status, tuple(results), counts, settings.expect, as_expected, reason)


__all__ = ["RESTART_FS", "CheckResult", "CheckSettings", "FinalState", "check"]
