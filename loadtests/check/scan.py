"""One pass over the history, collecting everything the checks judge.

The pass runs once per op, so it is written for speed (names bound to locals,
witnesses built only when kept); the checks then read the :class:`Scan` alone.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests.check.ackstore import AckStore, CountIndex
from loadtests.check.model import RESTART_FS, Ack, CheckSettings, FinalState
from loadtests.check.verdict import MAX_WITNESSES
from loadtests.history import Op

# The process name of the harness's own requests; its read is the final read,
# judged by `bounds` against the final state, not again as a read of the run.
HARNESS = "harness"


@dataclass
class Timeline:
    """The votes of one (round, choice): what bounds every read of that counter.

    ``done`` holds when each acknowledged vote completed (with its vote id in
    ``ids``): a read invoked after it must include it. ``invoked`` holds when each
    vote that did not definitely fail was invoked: a read that completed before
    that cannot include it. Sorted lazily, only when a read is checked.
    """

    done: array[int] = field(default_factory=lambda: array("q"))
    ids: list[Any] = field(default_factory=list)
    invoked: list[int] = field(default_factory=list)


@dataclass
class Scan:
    """Everything one pass over the history collects."""

    counts: dict[str, list[int]] = field(default_factory=dict)  # choice -> [ok, fail, info]
    open: dict[tuple[Any, str], Op] = field(default_factory=dict)  # invokes never completed
    vote_ids: set[str] = field(default_factory=set)
    duplicate_ids: list[str] = field(default_factory=list)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    collisions: list[tuple[Ack, Ack]] = field(default_factory=list)
    collision_total: int = 0
    collisions_by_choice: dict[str, int] = field(default_factory=dict)
    acks_with_count: int = 0
    pid_acks: dict[int, Ack] = field(default_factory=dict)
    pid_epochs: dict[int, set[int]] = field(default_factory=dict)
    resolutions: dict[int, Ack] = field(default_factory=dict)
    above_final: list[Ack] = field(default_factory=list)
    above_final_total: int = 0
    restarts: list[Op] = field(default_factory=list)
    acks_before_restart: int = 0
    last_vote_ns: int = 0
    # (round, choice) -> its votes' times; round None: the vote did not say (info, open).
    timelines: dict[tuple[Any, str | None], Timeline] = field(default_factory=dict)
    # The load's ok reads, with their invoke times (None: no invoke was seen).
    reads: list[tuple[int | None, Op]] = field(default_factory=list)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    malformed_total: int = 0

    def bad(self, op: Op, field_name: str, value: Any, problem: str) -> None:
        """Record a piece of malformed evidence (the op, the field, what is wrong)."""
        self.malformed_total += 1
        if len(self.malformed) < MAX_WITNESSES:
            self.malformed.append(
                {
                    "index": op.index,
                    "process": op.process,
                    "f": op.f,
                    "field": field_name,
                    "value": repr(value)[:80],
                    "problem": problem,
                }
            )


def _timeline(timelines: dict[tuple[Any, str | None], Timeline], key: Any) -> Timeline:
    line = timelines.get(key)
    if line is None:
        line = timelines[key] = Timeline()
    return line


def scan(ops: Iterable[Op], final: FinalState, settings: CheckSettings) -> Scan:
    """One pass over the history (any iterable: a list, or a file being streamed).

    Names are bound to locals and witnesses (Ack objects) are built only when
    kept. The first ack of each count lives in an AckStore, about 50 bytes per
    vote instead of a dict entry, a tuple key and an object. The pairing rule
    is history.pair_key's (process, vote_id or f), inlined: a call per op would
    cost the checker a fifth of its speed.
    """
    result = Scan()
    counts, open_, vote_ids = result.counts, result.open, result.vote_ids
    for choice in settings.choices:
        counts.setdefault(choice, [0, 0, 0])
    final_counts = final.counts if isinstance(final.counts, Mapping) else {}
    # A returned count bounds the final tally only in the round that was read, and only
    # when the vote completed before the final read began (a later one may not be in it).
    final_round = final.resolution_id
    read_ns = final.time_ns if type(final.time_ns) is int else None
    shared = settings.shared_state
    store = AckStore()
    remember, slots = store.add, 0
    indexes: dict[tuple[Any, ...], CountIndex] = {}
    timelines = result.timelines
    pid_acks, resolutions = result.pid_acks, result.resolutions
    epoch, epoch_pids = 0, None
    last_vote_ns = acks_before_restart = acks_with_count = 0
    for op in ops:
        process, kind, f, vote_id = op.process, op.type, op.f, op.vote_id
        if process == "nemesis":
            if f in RESTART_FS and kind != "invoke":
                result.restarts.append(op)
                # Each restart starts a new epoch: a fresh process with fresh counters.
                epoch, epoch_pids = len(result.restarts), None
            continue
        key = (process, vote_id or f)
        if kind == "invoke":
            if f == "vote" and vote_id is not None:
                if vote_id in vote_ids:
                    result.duplicate_ids.append(vote_id)
                vote_ids.add(vote_id)
            open_[key] = op
            continue
        invocation = open_.pop(key, None)
        if invocation is None:
            result.orphans.append(op.to_dict())
            invoke_ns = None
        else:
            invoke_ns = invocation.time_ns
        if f != "vote":
            if f == "read" and kind == "ok" and process != HARNESS:
                result.reads.append((invoke_ns, op))
            continue
        value = op.value
        if type(value) is not dict and not isinstance(value, Mapping):
            if kind == "ok":
                result.bad(op, "value", value, "an acknowledged vote's value must be an object")
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
        pid = value.get("pid")
        if pid is not None and type(pid) is not int:
            result.bad(op, "pid", pid, "a pid must be an integer")
            pid = None
        if kind != "ok":
            if kind == "fail":
                tally[1] += 1
            else:
                tally[2] += 1
                # An unknown outcome may have landed in any round, from its invoke on.
                _timeline(timelines, (None, choice)).invoked.append(
                    time_ns if invoke_ns is None else invoke_ns
                )
            if pid is not None:
                # A process that refused a vote answered too: a gunicorn worker
                # that never saw the round refuses everything, and only its pid
                # shows that the state is split between processes.
                if pid not in pid_acks:
                    pid_acks[pid] = Ack(vote_id, process, invoke_ns, time_ns, None, pid, None)
                if epoch_pids is None:
                    epoch_pids = result.pid_epochs.setdefault(epoch, set())
                epoch_pids.add(pid)
            continue
        tally[0] += 1
        if epoch == 0:
            acks_before_restart += 1
        count, resolution_id = value.get("count"), value.get("resolution_id")
        if resolution_id is not None and type(resolution_id) is not int:
            result.bad(op, "resolution_id", resolution_id, "a resolution id must be an integer")
            resolution_id = None
        line = timelines.get((resolution_id, choice))
        if line is None:
            line = timelines[(resolution_id, choice)] = Timeline()
        line.done.append(time_ns)
        line.ids.append(vote_id)
        line.invoked.append(time_ns if invoke_ns is None else invoke_ns)
        if pid is not None:
            if pid not in pid_acks:
                pid_acks[pid] = Ack(vote_id, process, invoke_ns, time_ns, count, pid, resolution_id)
            if epoch_pids is None:
                epoch_pids = result.pid_epochs.setdefault(epoch, set())
            epoch_pids.add(pid)
        if resolution_id is not None and resolution_id not in resolutions:
            resolutions[resolution_id] = Ack(
                vote_id, process, invoke_ns, time_ns, count, pid, resolution_id
            )
        if type(count) is not int:
            if count is not None:
                # bool is an int subclass: True is not a count, and is refused here too.
                result.bad(op, "count", count, "a count must be a non-negative integer")
            continue
        if count < 0:
            result.bad(op, "count", count, "a count must be a non-negative integer")
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
            result.collision_total += 1
            by_choice = result.collisions_by_choice
            by_choice[choice] = by_choice.get(choice, 0) + 1
            if len(result.collisions) < MAX_WITNESSES:
                ack = Ack(vote_id, process, invoke_ns, time_ns, count, pid, resolution_id)
                result.collisions.append((_stored_ack(store, first, count, resolution_id), ack))
        limit = final_counts.get(choice)
        if (
            type(limit) is int
            and count > limit
            and resolution_id == final_round
            and (read_ns is None or time_ns < read_ns)
        ):
            result.above_final_total += 1
            if len(result.above_final) < MAX_WITNESSES:
                result.above_final.append(
                    Ack(vote_id, process, invoke_ns, time_ns, count, pid, resolution_id)
                )
    _open_votes(result)
    result.last_vote_ns = last_vote_ns
    result.acks_before_restart = acks_before_restart
    result.acks_with_count = acks_with_count
    return result


def _open_votes(result: Scan) -> None:
    """Votes invoked but never completed may have landed: they count as unknown, from invoke.

    As in Jepsen's counter, an add that did not definitely fail raises the upper
    bound from the moment it was invoked, completed or not. Their round is not
    known (round None); a vote whose invoke names no choice may be any counter's.
    """
    for inv in result.open.values():
        if inv.f != "vote":
            continue
        value = inv.value
        choice = value.get("choice") if isinstance(value, Mapping) else None
        key = str(choice) if choice is not None else None
        _timeline(result.timelines, (None, key)).invoked.append(inv.time_ns)


def _stored_ack(store: AckStore, slot: int, count: Any, resolution_id: Any) -> Ack:
    vote_id, process, pid, invoke_ns, complete_ns = store.get(slot)
    return Ack(vote_id, process, invoke_ns, complete_ns, count, pid, resolution_id)
