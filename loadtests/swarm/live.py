"""The live view of a Locust run: the server's tally judged like with like, and collisions.

The live Tally tab used to put the votes acknowledged *now* beside a tally read
a moment earlier: a correct build looked as if it lost votes. Here every peek at
the server's tally is judged exactly as the checker judges a read (Jepsen's
counter, :mod:`loadtests.check.counter`):

    lower   votes acknowledged before the read began (counted before it is sent)
    upper   votes sent by the time the read completed, less those refused
            (known only when the ledger is in this process: a single Locust)

A tally below ``lower`` is a proven loss; above ``upper``, votes nobody sent.
Anything in between proves nothing, so a correct build never shows a loss.
Two acknowledged votes of one counter (one round, one server process) that
returned the same count are proof the moment the second one is seen.

Nothing here imports locust.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests.check.verdict import MAX_WITNESSES
from loadtests.history import Op

# The chart keeps at most this many points; older ones are thinned, never the latest.
MAX_POINTS = 1200


@dataclass(frozen=True)
class Peek:
    """One read of the server's tally during the run, with the bounds it is judged by."""

    seconds: float  # since the run started, when the read completed
    tally: Mapping[str, int]
    lower: Mapping[str, int]
    upper: Mapping[str, int] | None = None

    def lost(self, choice: str) -> int:
        """Acknowledged votes this read proves missing (0: it proves none)."""
        tally = self.tally.get(choice)
        return max(0, self.lower.get(choice, 0) - tally) if tally is not None else 0

    def phantom(self, choice: str) -> int:
        """Votes in the tally that nobody had sent by the time the read completed."""
        tally = self.tally.get(choice)
        if self.upper is None or tally is None:
            return 0
        return max(0, tally - self.upper.get(choice, 0))

    def point(self) -> dict[str, Any]:
        """The chart's point: totals over every choice."""
        choices = set(self.tally) | set(self.lower)
        return {
            "t": round(self.seconds, 2),
            "acked": sum(self.lower.values()),
            "tally": sum(self.tally.values()),
            "lost": sum(self.lost(c) for c in choices),
        }


@dataclass
class LiveView:
    """Every peek of one run: the latest, the largest loss proven, and the chart's points."""

    latest: Peek | None = None
    proven_lost: dict[str, int] = field(default_factory=dict)  # choice -> most lost in one read
    points: list[dict[str, Any]] = field(default_factory=list)

    def add(self, peek: Peek) -> None:
        """Record one peek (lost votes stay lost: the largest proof is kept)."""
        self.latest = peek
        for choice in set(peek.tally) | set(peek.lower):
            lost = peek.lost(choice)
            if lost > self.proven_lost.get(choice, 0):
                self.proven_lost[choice] = lost
        self.points.append(peek.point())
        if len(self.points) > MAX_POINTS:
            # Thin the older half; the recent points keep full detail.
            half = len(self.points) // 2
            self.points[:half] = self.points[:half:2]


class CollisionWatch:
    """Duplicate returned counts among one ledger's acknowledged votes, as they arrive."""

    def __init__(self, *, shared_state: bool = False, active: bool = True) -> None:
        # Inactive when replies re-read the counter: equal counts then prove nothing.
        self.active = active
        self.shared_state = shared_state
        self.total = 0
        self.by_choice: dict[str, int] = {}
        self.witnesses: list[dict[str, Any]] = []
        self._first: dict[tuple[Any, ...], dict[int, str | None]] = {}

    def see(self, op: Op) -> None:
        """Look at one completed vote; a count seen before in its group is a collision."""
        value = op.value
        if not self.active or op.type != "ok" or not isinstance(value, Mapping):
            return
        count = value.get("count")
        if type(count) is not int:
            return
        choice = str(value.get("choice"))
        pid = None if self.shared_state else value.get("pid")
        group = self._first.setdefault((value.get("resolution_id"), choice, pid), {})
        first = group.setdefault(count, op.vote_id)
        if first == op.vote_id:
            return
        self.total += 1
        self.by_choice[choice] = self.by_choice.get(choice, 0) + 1
        if len(self.witnesses) < MAX_WITNESSES:
            self.witnesses.append({"choice": choice, "count": count, "votes": [first, op.vote_id]})

    def to_dict(self) -> dict[str, Any]:
        """The form a worker reports and the page shows."""
        return {
            "total": self.total,
            "by_choice": dict(self.by_choice),
            "witnesses": list(self.witnesses),
        }


def merge_collisions(parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Several ledgers' collisions in one (each found within one ledger's votes)."""
    total = 0
    by_choice: dict[str, int] = {}
    witnesses: list[Any] = []
    for part in parts:
        total += int(part.get("total", 0))
        for choice, n in dict(part.get("by_choice", {})).items():
            by_choice[str(choice)] = by_choice.get(str(choice), 0) + int(n)
        witnesses += list(part.get("witnesses", ()))
    return {"total": total, "by_choice": by_choice, "witnesses": witnesses[:MAX_WITNESSES]}
