"""What the checker judges besides the history: the final state and the run's settings.

Plain data shared by the scan, the checks and the run directory; nothing here
imports a check, so the modules of check/ form a line, not a circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loadtests.history import Op

# Nemesis ops that replace the target process (its in-memory state is gone).
RESTART_FS = frozenset({"kill", "restart", "kill-restart"})


@dataclass(frozen=True)
class FinalState:
    """The target's state after the load stopped, as the harness read it.

    ``counts`` is kept as the target returned it: a malformed tally (a string, a
    bool, a negative number) is evidence the checker reports as ERROR, so it is
    never coerced or refused here.
    """

    counts: Mapping[str, Any] | None
    resolution_id: int | None = None
    time_ns: int | None = None  # when the final read was invoked
    pids: tuple[int, ...] = ()
    source: str = "read"
    # What the final read found beyond counters (only when the workload has them):
    # each collection's members, each stock's level, as the target returned them.
    collections: Mapping[str, Any] | None = None
    stocks: Mapping[str, Any] | None = None
    # What the counters held before the load (the baseline read), and what the harness's
    # own reads added since (a read that itself increments): the load's share of a
    # count is the count minus both, so an app need not start at zero.
    baseline: Mapping[str, int] | None = None
    harness_added: Mapping[str, int] | None = None

    def offset(self, choice: str) -> int:
        """How much of ``choice``'s final count the load did not send."""
        base = (self.baseline or {}).get(choice, 0)
        added = (self.harness_added or {}).get(choice, 0)
        return (base if type(base) is int else 0) + (added if type(added) is int else 0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form used in result.json."""
        raw = {
            "counts": dict(self.counts) if isinstance(self.counts, Mapping) else self.counts,
            "resolution_id": self.resolution_id,
            "time_ns": self.time_ns,
            "pids": list(self.pids),
            "source": self.source,
        }
        # Additive keys: a counter-only run's result.json is unchanged.
        if self.collections is not None:
            raw["collections"] = dict(self.collections)
        if self.stocks is not None:
            raw["stocks"] = dict(self.stocks)
        if self.baseline is not None:
            raw["baseline"] = dict(self.baseline)
        if self.harness_added:
            raw["harness_added"] = dict(self.harness_added)
        return raw

    @classmethod
    def from_read(cls, read: Op, invoked_ns: int) -> FinalState:
        """The final state from the harness's last read op (no counts if the read failed)."""
        if read.type != "ok" or not isinstance(read.value, Mapping):
            return cls(None)
        pid = read.value.get("pid")
        return cls(
            counts=read.value.get("counts"),
            resolution_id=read.value.get("resolution_id"),
            time_ns=invoked_ns,
            pids=(pid,) if type(pid) is int else (),
            source="read",
            collections=read.value.get("collections"),
            stocks=read.value.get("stocks"),
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> FinalState:
        """Rebuild the final state from result.json (None: there was no final read)."""
        if not raw:
            return cls(None)
        counts = raw.get("counts")
        pids = raw.get("pids") or ()
        return cls(
            {str(k): v for k, v in counts.items()} if isinstance(counts, Mapping) else counts,
            raw.get("resolution_id"),
            raw.get("time_ns"),
            tuple(pids) if isinstance(pids, list | tuple) else (),
            str(raw.get("source", "read")),
            raw.get("collections"),
            raw.get("stocks"),
            _ints(raw.get("baseline")),
            _ints(raw.get("harness_added")),
        )


def _ints(raw: Any) -> dict[str, int] | None:
    """A saved mapping of counts, keeping only the integer ones."""
    if not isinstance(raw, Mapping):
        return None
    return {str(k): v for k, v in raw.items() if type(v) is int}


@dataclass(frozen=True)
class CheckSettings:
    """What the checker must know beyond the history: expectations and known gaps."""

    expect: str | None = None  # "pass" or "violation"
    choices: tuple[str, ...] = ()
    shared_state: bool = False
    workers: int | None = None
    gaps: tuple[str, ...] = ()
    interrupted: str | None = None
    # Server processes are recycled after this many requests (apache's maximum_requests;
    # 0: never): a new pid is then a fresh process, not a second one beside the first.
    recycle_after: int = 0
    # What a returned count is (--preempt): "written", the value the handler wrote, or
    # "reread", read back after the write, where equal counts do not prove a lost update.
    reply: str = "written"


@dataclass(frozen=True, slots=True)
class Ack:
    """The minimum kept per acknowledged vote: enough to be a witness."""

    vote_id: str | None
    process: Any
    invoke_ns: int | None
    complete_ns: int
    count: Any
    pid: Any
    resolution_id: Any

    def witness(self) -> dict[str, Any]:
        """The JSON-ready form shown as a witness."""
        return {
            "vote_id": self.vote_id,
            "process": self.process,
            "invoke_ns": self.invoke_ns,
            "complete_ns": self.complete_ns,
            "count": self.count,
            "pid": self.pid,
            "resolution_id": self.resolution_id,
        }
