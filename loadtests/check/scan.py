"""One pass over the history, collecting everything the checks judge.

The pass runs once per op, so it is written for speed (names bound to locals,
witnesses built only when kept); the checks then read the :class:`Scan` alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests.check.ackstore import AckStore, CountIndex
from loadtests.check.model import RESTART_FS, Ack, CheckSettings, FinalState
from loadtests.check.verdict import MAX_WITNESSES
from loadtests.history import LOAD_FS, Op

# The process name of the harness's own requests; its read is the final read,
# judged by `bounds` against the final state, not again as a read of the run.
HARNESS = "harness"


@dataclass(frozen=True, slots=True)
class ReadSeen:
    """A read the load took during the run, with Jepsen's bounds as the history stood.

    ``lower`` holds the votes acknowledged, per (round, choice), before the read was
    invoked; ``acked`` the same when it completed, and ``unknown`` the votes per choice
    that might still land then (info so far, and invoked but not yet completed; key
    None for votes that named no choice). History order is real-time order (History
    stamps each op under one lock; merge sorts by time), so "before" is "earlier in
    the history", exactly as Jepsen's counter folds it.
    """

    op: Op
    invoke_ns: int | None
    lower: dict[tuple[Any, str], int]
    acked: dict[tuple[Any, str], int]
    unknown: dict[str | None, int]
    last_slot: int  # AckStore slots below this were acknowledged before the read began


@dataclass
class Scan:
    """Everything one pass over the history collects."""

    counts: dict[str, list[int]] = field(default_factory=dict)  # choice -> [ok, fail, info]
    open: dict[tuple[Any, str], Op] = field(default_factory=dict)  # invokes never completed
    vote_ids: set[str] = field(default_factory=set)
    duplicate_ids: list[str] = field(default_factory=list)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    collisions: list[tuple[Ack, Ack]] = field(default_factory=list)
    collision_choices: list[str] = field(default_factory=list)  # the choice of each, in order
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
    # (round, choice) -> [acknowledged votes]; round None: the reply named none.
    round_acks: dict[tuple[Any, str], list[int]] = field(default_factory=dict)
    # Of those, the ones acknowledged after the final read was invoked.
    late_acks: dict[tuple[Any, str], int] = field(default_factory=dict)
    # Votes invoked and never completed, per choice (None: the invoke named no choice).
    open_votes: dict[str | None, int] = field(default_factory=dict)
    # The load's ok reads during the run, with their bounds.
    reads: list[ReadSeen] = field(default_factory=list)
    store: AckStore = field(default_factory=AckStore)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    malformed_total: int = 0
    # Every completion that is not a vote, with its invoke (None: orphan), in history
    # order: setup, reads, and the op kinds beyond counters (adds, decrements, calls),
    # which their own checks fold (check/sets.py and its siblings).
    others: list[tuple[Op | None, Op]] = field(default_factory=list)
    # Votes that were not acknowledged (fail and info), for the errors check.
    unacked_votes: list[Op] = field(default_factory=list)
    # The most load requests (votes, adds, decrements, calls) ever in flight at once
    # (invoked, not yet completed): below 2, no two overlapped and no race could happen.
    peak_in_flight: int = 0
    # Load requests other than votes that were invoked (the op kinds beyond counters).
    extra_invoked: int = 0

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


# Per counter group: its round's ack counter, its CountIndex, and that index's dense
# array and base once known, so the loop looks most counts up inline (a method call per
# ack cost the scan about a tenth of its speed).
_Group = list[Any]


def _group(round_acks: dict[tuple[Any, str], list[int]], resolution_id: Any, choice: str) -> _Group:
    cell = round_acks.get((resolution_id, choice))
    if cell is None:
        cell = round_acks[(resolution_id, choice)] = [0]
    index = CountIndex()
    dense, base = index.dense()
    return [cell, index, dense, base]


def _unknown_now(result: Scan) -> dict[str | None, int]:
    """Votes per choice that may still land: info so far, and those in flight now."""
    unknown: dict[str | None, int] = {c: t[2] for c, t in result.counts.items() if t[2]}
    for inv in result.open.values():
        if inv.f == "vote":
            value = inv.value
            choice = value.get("choice") if isinstance(value, Mapping) else None
            name = None if choice is None else str(choice)
            unknown[name] = unknown.get(name, 0) + 1
    return unknown


def scan(ops: Iterable[Op], final: FinalState, settings: CheckSettings) -> Scan:
    """One pass over the history (any iterable: a list, or a file being streamed).

    Names are bound to locals and witnesses (Ack objects) are built only when
    kept. The first ack of each count lives in an AckStore, about 50 bytes per
    vote instead of a dict entry, a tuple key and an object.

    The pairing rule is history.pair_key's (process, vote_id or f), inlined rather
    than history.pairs(): the scan must act on each invoke where it stands in the
    history (a read's lower bound is what was acknowledged before its invoke;
    duplicate vote ids show at the invoke), which pairs() yields only with its
    completion; and a pair_key() call costs 23 ns per op more than the inline
    tuple (66 vs 43 ns, measured on 200,000 synthetic ops), 2-3% of the scan.
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
    # Acks at or after this were acknowledged after the final read began (rare: counted).
    late_ns = read_ns if read_ns is not None else 1 << 100  # an int: int compares are faster
    shared = settings.shared_state
    store = result.store
    remember, slots = store.add, 0
    indexes: dict[tuple[Any, ...], _Group] = {}
    round_acks = result.round_acks
    reads_open: dict[tuple[Any, str], tuple[dict[tuple[Any, str], int], int]] = {}
    pid_acks, resolutions = result.pid_acks, result.resolutions
    epoch, epoch_pids = 0, None
    last_vote_ns = acks_before_restart = acks_with_count = 0
    others, unacked_votes = result.others, result.unacked_votes
    in_flight = peak = extra_invoked = 0
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
            if f in LOAD_FS:
                in_flight += 1
                if in_flight > peak:  # noqa: PLR1730 (max() is a call per op: slower)
                    peak = in_flight
                if f != "vote":
                    extra_invoked += 1
            if f == "vote" and vote_id is not None:
                if vote_id in vote_ids:
                    result.duplicate_ids.append(vote_id)
                vote_ids.add(vote_id)
            elif f == "read" and process != HARNESS:
                # Jepsen's lower bound: what was acknowledged before the read began.
                reads_open[key] = ({k: v[0] for k, v in round_acks.items()}, slots)
            open_[key] = op
            continue
        invocation = open_.pop(key, None)
        if invocation is None:
            result.orphans.append(op.to_dict())
            invoke_ns = None
        else:
            invoke_ns = invocation.time_ns
        if f != "vote":
            others.append((invocation, op))
            if invocation is not None and f in LOAD_FS:
                in_flight -= 1
            if f == "read" and process != HARNESS:
                lower, last_slot = reads_open.pop(key, ({}, slots))
                if kind == "ok":
                    acked = {k: v[0] for k, v in round_acks.items()}
                    unknown = _unknown_now(result)
                    result.reads.append(ReadSeen(op, invoke_ns, lower, acked, unknown, last_slot))
            continue
        if invocation is not None:
            in_flight -= 1
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
        if type(pid) is not int and pid is not None:
            result.bad(op, "pid", pid, "a pid must be an integer")
            pid = None
        if kind != "ok":
            unacked_votes.append(op)
            if kind == "fail":
                tally[1] += 1
            else:
                tally[2] += 1  # unknown: it may have landed, in any round
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
        if type(resolution_id) is not int and resolution_id is not None:
            result.bad(op, "resolution_id", resolution_id, "a resolution id must be an integer")
            resolution_id = None
        # Counts are compared within one counter of one resolution in one process
        # (unless the state is shared): equal counts there mean two increments
        # read the same value, so one overwrote the other. One lookup per ack finds
        # the group's count index and its round's timeline (see _Group).
        group = (resolution_id, choice, None if shared else pid, epoch)
        entry = indexes.get(group)
        if entry is None:
            entry = indexes[group] = _group(round_acks, resolution_id, choice)
            # The final tally bounds a returned count only in the round that was read.
            limit = final_counts.get(choice) if resolution_id == final_round else None
            entry.append(limit if type(limit) is int else None)
        cell, index, dense, base, limit = entry
        cell[0] += 1
        if time_ns >= late_ns:
            late = result.late_acks
            late[(resolution_id, choice)] = late.get((resolution_id, choice), 0) + 1
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
        if base is not None and 0 <= (offset := count - base) < len(dense):
            # CountIndex.first's dense path, inlined (it only ever grows this array).
            first = dense[offset] - 1
            if first < 0:
                dense[offset] = slots + 1
                first = None
        else:
            first = index.first(count, slots)
            if base is None:
                entry[3] = index.dense()[1]
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
                result.collision_choices.append(choice)
        if limit is not None and count > limit and (read_ns is None or time_ns < read_ns):
            result.above_final_total += 1
            if len(result.above_final) < MAX_WITNESSES:
                result.above_final.append(
                    Ack(vote_id, process, invoke_ns, time_ns, count, pid, resolution_id)
                )
    _open_votes(result)
    result.last_vote_ns = last_vote_ns
    result.acks_before_restart = acks_before_restart
    result.acks_with_count = acks_with_count
    result.peak_in_flight = peak
    result.extra_invoked = extra_invoked
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
        result.open_votes[key] = result.open_votes.get(key, 0) + 1


def _stored_ack(store: AckStore, slot: int, count: Any, resolution_id: Any) -> Ack:
    vote_id, process, pid, invoke_ns, complete_ns = store.get(slot)
    return Ack(vote_id, process, invoke_ns, complete_ns, count, pid, resolution_id)
