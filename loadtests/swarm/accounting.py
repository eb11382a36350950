"""Exact counts across Locust workers: each worker's ledger, the master's, and the merge.

Locust's own statistics are sampled (workers report every few seconds, and the
master's ``test_stop`` fires while they still report), so racecheck never
counts from them. Instead:

    worker   records every op in its own History, numbers its votes with its
             own prefix, and at its ``test_stop`` writes the history to a file
             and sends one final message: the file's path and its counts
    master   waits (bounded) until every worker that took part has sent its
             final message, then merges the files exactly; a worker whose
             final message never came is a *gap*, and a gap makes the verdict
             UNKNOWN, never PASS and never FAIL

Nothing here imports locust: the locustfile wires these objects to events.
Locust runs users as greenlets, which switch only at I/O, so the ledgers need
no locks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.errors import HistoryError
from loadtests.history import History, Op, iter_file, merge
from loadtests.journal import Journal
from loadtests.swarm.live import CollisionWatch, merge_collisions
from loadtests.swarm.protocol import WorkerFinal, describe_worker

Tally = dict[str, list[int]]  # choice -> [ok, fail, info]


def count_votes(ops: Iterable[Op]) -> Tally:
    """Completed votes per choice, as [ok, fail, info]."""
    counts: Tally = {}
    for op in ops:
        if op.f != "vote" or op.type == "invoke":
            continue
        choice = str(op.value.get("choice")) if isinstance(op.value, Mapping) else "?"
        row = counts.setdefault(choice, [0, 0, 0])
        row[("ok", "fail", "info").index(op.type)] += 1
    return counts


def split_quota(votes: int, nodes: Sequence[str]) -> dict[str, int]:
    """Share ``votes`` among ``nodes`` as evenly as whole votes allow."""
    if not nodes:
        return {}
    share, extra = divmod(votes, len(nodes))
    return {node: share + (1 if i < extra else 0) for i, node in enumerate(nodes)}


class WorkerLedger:
    """One worker's part of one run: its history, its vote quota and running counts."""

    def __init__(
        self,
        run_id: str,
        worker: str,
        node: str,
        path: Path,
        *,
        prefix: str,
        quota: int | None,
        choices: Sequence[str],
        watch: CollisionWatch | None = None,
    ) -> None:
        self.run_id, self.worker, self.node, self.path = run_id, worker, node, path
        self.prefix = prefix
        self.quota = quota
        # Streamed to its file as votes complete: a long run's worker stays flat in memory,
        # and a killed one leaves what it recorded (see loadtests/journal.py).
        self.history = History("locust", journal=Journal(path))
        self.acked = dict.fromkeys(choices, 0)
        # For the live bounds: votes sent (counted before the request goes out) and
        # votes definitely refused, per choice.
        self.sent = dict.fromkeys(choices, 0)
        self.refused = dict.fromkeys(choices, 0)
        self.watch = watch if watch is not None else CollisionWatch()
        self.claimed = 0
        self.active = 0
        self.final: WorkerFinal | None = None
        self._users = itertools.count()

    def new_user(self) -> str:
        """A process name for a user that starts now, e.g. ``w1/u7``."""
        self.active += 1
        return f"{self.worker}/u{next(self._users)}"

    def claim(self) -> str | None:
        """A fresh vote id, or None once the quota is spent or the run is over."""
        if self.final is not None or (self.quota is not None and self.claimed >= self.quota):
            return None
        self.claimed += 1
        return f"{self.prefix}{self.worker}-{self.claimed}"

    def sending(self, choice: str) -> None:
        """A vote for ``choice`` is about to be sent (before its invoke is recorded)."""
        self.sent[choice] = self.sent.get(choice, 0) + 1

    def note(self, op: Op) -> None:
        """Count a completed vote for the live tally, and look for a collision."""
        if not isinstance(op.value, Mapping):
            return
        choice = str(op.value.get("choice"))
        if op.type == "ok":
            self.acked[choice] = self.acked.get(choice, 0) + 1
            self.watch.see(op)
        elif op.type == "fail":
            self.refused[choice] = self.refused.get(choice, 0) + 1

    def upper(self) -> dict[str, int]:
        """Votes sent so far that were not definitely refused, per choice."""
        return {c: n - self.refused.get(c, 0) for c, n in self.sent.items()}

    def user_stopped(self) -> bool:
        """Note a user ending; True when the quota is spent and no user is left."""
        self.active = max(0, self.active - 1)
        return self.quota is not None and self.claimed >= self.quota and self.active == 0

    def snapshot(self) -> dict[str, Any]:
        """Cumulative live counts for the master (totals, so a lost report loses nothing)."""
        return {
            "run_id": self.run_id,
            "worker": self.worker,
            "acked": dict(self.acked),
            "votes": self.claimed,
            "collisions": self.watch.to_dict(),
        }

    def finish(self) -> WorkerFinal:
        """Close what is still in flight as info, write the history, and say what it holds."""
        if self.final is not None:
            return self.final
        closed = self.history.close_pending("still in flight when the Locust user stopped")
        assert self.history.journal is not None
        self.history.journal.close()
        self.final = WorkerFinal(
            self.run_id,
            self.worker,
            self.node,
            str(self.path),
            len(self.history),
            count_votes(self.history.stream()),
            len(closed),
        )
        return self.final


@dataclass
class MasterLedger:
    """What the master knows of the workers in one run: who took part, reported, finished."""

    run_id: str
    quotas: Mapping[str, int] | None = None
    participants: dict[str, str] = field(default_factory=dict)  # node -> worker label
    finals: dict[str, WorkerFinal] = field(default_factory=dict)
    live: dict[str, dict[str, int]] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    collisions: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # node -> found
    # The single local runner's own ledger: its live counts are exact, in this process.
    local: WorkerLedger | None = None

    def join(self, node: str, worker: str) -> None:
        """A worker started voting in this run."""
        self.participants.setdefault(node, worker)

    def note_report(self, node: str, snapshot: Mapping[str, Any]) -> None:
        """A worker's periodic report; reports of other runs are ignored."""
        if snapshot.get("run_id") != self.run_id:
            return
        self.join(node, str(snapshot.get("worker", "?")))
        acked = snapshot.get("acked")
        if isinstance(acked, Mapping):
            self.live[node] = {str(k): int(v) for k, v in acked.items()}
        found = snapshot.get("collisions")
        if isinstance(found, Mapping):
            self.collisions[node] = found

    def upper(self) -> dict[str, int] | None:
        """Live upper bounds per choice, when exact (a single local runner), else None."""
        if self.local is None or set(self.participants) - {self.local.node}:
            return None
        return self.local.upper()

    def live_collisions(self) -> dict[str, Any]:
        """Collisions found so far, each within one worker's votes."""
        parts = list(self.collisions.values())
        if self.local is not None:
            parts.append(self.local.watch.to_dict())
        return merge_collisions(parts)

    def accept_final(self, final: WorkerFinal) -> bool:
        """Record a worker's final message; False if it belongs to another run."""
        if final.run_id != self.run_id:
            return False
        self.join(final.node, final.worker)
        self.finals[final.node] = final
        return True

    def finished_quota(self, node: str, run_id: str) -> None:
        """A worker spent its vote quota and its users have stopped."""
        if run_id == self.run_id:
            self.done.add(node)

    def all_done(self) -> bool:
        """Every worker that was given votes has spent them."""
        if not self.quotas:
            return False
        return all(node in self.done for node, votes in self.quotas.items() if votes > 0)

    def waiting(self) -> list[str]:
        """Nodes that took part but have not sent their final counts yet."""
        return [node for node in self.participants if node not in self.finals]

    def acked(self) -> dict[str, int]:
        """Acknowledged votes per choice: exact for finished workers, live for the rest."""
        total: dict[str, int] = {}
        for node in self.participants:
            if node in self.finals:
                counts = {k: v[0] for k, v in self.finals[node].counts.items()}
            else:
                counts = self.live.get(node, {})
            for choice, n in counts.items():
                total[choice] = total.get(choice, 0) + n
        return total

    def missing(self) -> list[str]:
        """One gap per worker whose final counts never came."""
        return [
            f"{describe_worker(self.participants[node], node)} sent no final counts (it was "
            "killed or lost its connection to the master), so the votes it acknowledged "
            "are not in the history"
            for node in self.waiting()
        ]


@dataclass(frozen=True)
class Collected:
    """Every worker's ops, merged exactly, and what could not be accounted for.

    ``paths`` are the verified workers' history files, each in time order; with
    ``keep=False`` the ops are not read into memory and the caller streams the paths.
    """

    ops: list[Op]
    gaps: tuple[str, ...]
    workers: int
    paths: tuple[Path, ...] = ()


def _tally_file(path: Path) -> tuple[int, Tally]:
    """How many ops a history file holds and its vote counts, in one streaming pass."""
    length = 0

    def counted() -> Iterator[Op]:
        nonlocal length
        for op in iter_file(path):
            length += 1
            yield op

    counts = count_votes(counted())
    return length, counts


def collect(
    finals: Iterable[WorkerFinal], gaps: Iterable[str] = (), keep: bool = True
) -> Collected:
    """Check each worker's history file against its final message; merge them (``keep``)."""
    found = list(gaps)
    paths: list[Path] = []
    finals = sorted(finals, key=lambda f: f.worker)
    for final in finals:
        try:
            length, counts = _tally_file(Path(final.path))
        except HistoryError as exc:
            found.append(
                f"{final.describe()} wrote a history the master cannot read ({exc}); share "
                "--racecheck-results-dir between the master and the workers"
            )
            continue
        expected = {k: list(v) for k, v in final.counts.items()}
        if length != final.ops or counts != expected:
            found.append(
                f"{final.describe()} reported {final.ops} ops {expected} but its history file "
                f"{final.path} holds {length} ops {counts}"
            )
            continue
        paths.append(Path(final.path))
    merged = merge([list(iter_file(p)) for p in paths], driver="locust").ops() if keep else []
    return Collected(merged, tuple(found), len(paths), tuple(paths))
