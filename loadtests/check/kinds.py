"""The ops beyond counters, as the checks of issue 12 read them from one scan.

The scan keeps every completion that is not a vote (``Scan.others``, with its invoke);
these helpers pick out one kind, and say whether a history has any at all, so the
counter's checks stay quiet on a history with no counter and vice versa.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from loadtests.check.evidence import Evidence
from loadtests.check.verdict import CheckResult
from loadtests.history import LOAD_FS, Op

# The op kinds beyond counters (see loadtests/drive/client.py).
EXTRA_FS = LOAD_FS - {"vote"}
# The checks of these kinds, by name (the report leaves out the votes' table without votes).
CHECK_NAMES = frozenset(
    {"collections", "unique-ids", "stock-floor", "stock-conservation", "oversell", "echo", "errors"}
)
# The process of calibration requests, and the f of the harness op that records the
# calibration's settings (see loadtests/run/calibrate.py).
CALIBRATION = "calibrate"
# Processes that are not the load: the harness itself, its calibration, the nemesis.
NOT_LOAD = frozenset({"harness", CALIBRATION, "nemesis"})


@dataclass(frozen=True, slots=True)
class Done:
    """One completed op of a kind: its invoke (None if orphaned) and its completion."""

    invoke: Op | None
    op: Op

    @property
    def value(self) -> Mapping[str, Any]:
        """The completion's value over its invoke's (an op closed as info when the run
        stopped completes with only an error: the invoke still says what it was)."""
        value = self.op.value if isinstance(self.op.value, Mapping) else {}
        start = self.invoke.value if self.invoke is not None else None
        return {**start, **value} if isinstance(start, Mapping) else value

    def witness(self, **extra: Any) -> dict[str, Any]:
        """The op as a witness: who, when, what came back."""
        value = self.value
        row: dict[str, Any] = {
            "op_id": self.op.vote_id,
            "f": self.op.f,
            "process": self.op.process,
            "type": self.op.type,
            "invoke_ns": self.invoke.time_ns if self.invoke is not None else None,
            "complete_ns": self.op.time_ns,
        }
        for key in ("status", "error", "element", "id", "echo"):
            if key in value:
                row[key] = value[key]
        row.update(extra)
        return row


def done(ev: Evidence, f: str) -> Iterator[Done]:
    """Every completion of kind ``f``, in history order."""
    for invoke, op in ev.scan.others:
        if op.f == f:
            yield Done(invoke, op)


def still_open(ev: Evidence, f: str) -> list[Op]:
    """Invokes of kind ``f`` that never completed: they may or may not have happened."""
    return [op for op in ev.scan.open.values() if op.f == f]


def has_extras(ev: Evidence) -> bool:
    """Whether the history holds any op beyond counters (or the errors check's marker)."""
    if any(op.f in EXTRA_FS or op.f == CALIBRATION for _, op in ev.scan.others):
        return True
    return any(op.f in EXTRA_FS for op in ev.scan.open.values())


def counters_only(
    run: Callable[[Evidence], CheckResult | None],
) -> Callable[[Evidence], CheckResult | None]:
    """A counter check that does not apply to a history without a single counter."""

    def check(ev: Evidence) -> CheckResult | None:
        # ev.counts is empty only when no counter was named anywhere: cheap to test first.
        if not ev.counts and has_extras(ev):
            return None
        return run(ev)

    check.__name__ = check.__qualname__ = getattr(run, "__name__", "check")
    check.__doc__ = run.__doc__
    return check
