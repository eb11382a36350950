"""Hand-built histories with explicit times, for checker tests of ordering (Jepsen style)."""

from __future__ import annotations

from typing import Any

from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.check.verdict import Verdict
from loadtests.history import Op, Process


class Timed:
    """Ops at the times a test names (ms), sorted into one history when judged."""

    def __init__(self) -> None:
        self._ops: list[tuple[int, int, Op]] = []

    def _add(
        self, process: Process, kind: str, f: str, value: Any, ms: int, vote_id: str | None
    ) -> None:
        op = Op(0, process, kind, f, value, ms * 1_000_000, vote_id)  # type: ignore[arg-type]
        self._ops.append((ms, len(self._ops), op))

    def invoke(self, process: Process, vote_id: str, choice: str, ms: int) -> None:
        """A vote invoked at ``ms`` (it may never complete)."""
        self._add(process, "invoke", "vote", {"choice": choice}, ms, vote_id)

    def done(self, process: Process, vote_id: str, choice: str, ms: int, **value: Any) -> None:
        """A vote's ok completion at ``ms`` with its reply fields."""
        value = {"choice": choice, "pid": 100, "resolution_id": 1, **value}
        self._add(process, "ok", "vote", value, ms, vote_id)

    def vote(
        self, process: Process, vote_id: str, choice: str, start: int, end: int, **value: Any
    ) -> None:
        """A vote invoked at ``start`` and acknowledged at ``end``."""
        self.invoke(process, vote_id, choice, start)
        self.done(process, vote_id, choice, end, **value)

    def outcome(self, process: Process, vote_id: str, choice: str, ms: int, kind: str) -> None:
        """A vote's fail or info completion at ``ms``."""
        value = {"choice": choice, "status": None, "error": "x"}
        self._add(process, kind, "vote", value, ms, vote_id)

    def read(
        self, process: Process, start: int, end: int, counts: Any, resolution_id: Any = 1
    ) -> None:
        """An ok read taken by the load between ``start`` and ``end``."""
        self._add(process, "invoke", "read", None, start, None)
        value = {"counts": counts, "resolution_id": resolution_id, "pid": 100}
        self._add(process, "ok", "read", value, end, None)

    def ops(self) -> list[Op]:
        """The history in time order, indexed from 0."""
        ordered = [op for _, _, op in sorted(self._ops, key=lambda item: item[:2])]
        return [
            Op(i, op.process, op.type, op.f, op.value, op.time_ns, op.vote_id)
            for i, op in enumerate(ordered)
        ]


def final(counts: Any, read_ms: int = 10_000, resolution_id: int | None = 1) -> FinalState:
    """A final read invoked at ``read_ms``."""
    return FinalState(counts, resolution_id, read_ms * 1_000_000, (100,))


def assert_witnessed(verdict: Verdict) -> None:
    """Never FAIL without proof: every FAIL check names its witnesses."""
    for result in verdict.checks:
        if result.status == "FAIL":
            assert result.witnesses, f"{result.name} failed without witnesses"


def judge(
    timed: Timed, final_state: FinalState, choices: tuple[str, ...] = ("yes",), **settings: Any
) -> Verdict:
    """check() the history, asserting every FAIL has witnesses."""
    verdict = check(timed.ops(), final_state, CheckSettings(choices=choices, **settings))
    assert_witnessed(verdict)
    return verdict
