"""Verdicts and check results: plain data that the checker returns and reports render."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["PASS", "FAIL", "UNKNOWN", "ERROR", "SKIP"]
# FAIL > ERROR > UNKNOWN > PASS; SKIP (not applicable) does not count.
SEVERITY: Mapping[str, int] = {"SKIP": -1, "PASS": 0, "UNKNOWN": 1, "ERROR": 2, "FAIL": 3}
MAX_WITNESSES = 20


@dataclass(frozen=True)
class CheckResult:
    """One named check: its status, a one-line detail, and the evidence behind it."""

    name: str
    status: Status
    detail: str
    witnesses: tuple[Mapping[str, Any], ...] = ()
    # How many witnesses existed before the list was cut to MAX_WITNESSES.
    witness_total: int = 0
    # Set when the check itself raised (check_safe): the harness's bug, for its fixers.
    traceback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form used in result.json."""
        raw: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "witnesses": [dict(w) for w in self.witnesses],
            "witness_total": max(self.witness_total, len(self.witnesses)),
        }
        if self.traceback is not None:
            raw["traceback"] = self.traceback
        return raw

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CheckResult:
        """Rebuild a check from result.json."""
        return cls(
            str(raw["name"]),
            raw["status"],
            str(raw["detail"]),
            tuple(raw.get("witnesses", ())),
            int(raw.get("witness_total", 0)),
            raw.get("traceback"),
        )


def combine(statuses: Iterable[str]) -> Status:
    """The verdict of several checks: the most severe; all-SKIP (or none) is UNKNOWN."""
    worst: Status = "SKIP"
    for status in statuses:
        if SEVERITY[status] > SEVERITY[worst]:
            worst = status  # type: ignore[assignment]
    return "UNKNOWN" if worst == "SKIP" else worst


@dataclass(frozen=True)
class ChoiceCounts:
    """One counter's outcome counts against its final value, and what they prove.

    ``lower`` and ``upper`` are Jepsen's counter bounds for the final read: the
    votes acknowledged before the read was invoked (it must include them) and the
    votes invoked, not definitely failed, in its round (it may include no more).
    None means "not computed": then ``ok`` and ``ok + info`` stand in.
    """

    ok: int = 0
    fail: int = 0
    info: int = 0
    final: int | None = None
    lower: int | None = None
    upper: int | None = None
    # Acknowledged votes that returned a count another vote of the same counter, round
    # and server process had returned: each one proves an overwritten increment.
    overwritten: int = 0

    @property
    def shortfall(self) -> int:
        """Acknowledged votes the final value must include but does not (net, proven)."""
        if self.final is None:
            return 0
        lower = self.ok if self.lower is None else self.lower
        return max(0, lower - self.final)

    @property
    def lost(self) -> int:
        """Proven lost updates: the larger of the net shortfall and the overwritten votes.

        Both are proofs; phantoms never cancel them out (a net acked - final would).
        """
        return max(self.shortfall, self.overwritten)

    @property
    def phantom(self) -> int:
        """Increments in the final value that no ok, info or open op can explain."""
        if self.final is None:
            return 0
        upper = self.ok + self.info if self.upper is None else self.upper
        return max(0, self.final - upper)

    def to_dict(self) -> dict[str, int | None]:
        """The JSON-ready form used in result.json."""
        return {
            "ok": self.ok,
            "fail": self.fail,
            "info": self.info,
            "final": self.final,
            "lost": self.lost,
            "phantom": self.phantom,
            "shortfall": self.shortfall,
            "overwritten": self.overwritten,
            "lower": self.lower,
            "upper": self.upper,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ChoiceCounts:
        """Rebuild from result.json (older files have no bounds or overwritten)."""
        return cls(
            int(raw["ok"]),
            int(raw["fail"]),
            int(raw["info"]),
            raw.get("final"),
            raw.get("lower"),
            raw.get("upper"),
            int(raw.get("overwritten") or 0),
        )


@dataclass(frozen=True)
class Verdict:
    """What the checker concluded, with every check and the counts behind it."""

    status: Status
    checks: tuple[CheckResult, ...]
    counts: Mapping[str, ChoiceCounts] = field(default_factory=dict)
    expected: str | None = None
    as_expected: bool = False
    reason: str = ""

    @property
    def lost(self) -> int:
        """Acknowledged votes lost, over all choices."""
        return sum(c.lost for c in self.counts.values())

    @property
    def phantom(self) -> int:
        """Unexplained extra votes, over all choices."""
        return sum(c.phantom for c in self.counts.values())

    @property
    def shortfall(self) -> int:
        """Acknowledged votes missing from the final tally, net, over all choices."""
        return sum(c.shortfall for c in self.counts.values())

    @property
    def overwritten(self) -> int:
        """Acknowledged votes proven overwritten by duplicate counts, over all choices."""
        return sum(c.overwritten for c in self.counts.values())

    def check(self, name: str) -> CheckResult:
        """The check called ``name``."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)
