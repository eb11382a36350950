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

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form used in result.json."""
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "witnesses": [dict(w) for w in self.witnesses],
            "witness_total": max(self.witness_total, len(self.witnesses)),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CheckResult:
        """Rebuild a check from result.json."""
        return cls(
            str(raw["name"]),
            raw["status"],
            str(raw["detail"]),
            tuple(raw.get("witnesses", ())),
            int(raw.get("witness_total", 0)),
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
    """One counter's outcome counts against its final value."""

    ok: int = 0
    fail: int = 0
    info: int = 0
    final: int | None = None

    @property
    def lost(self) -> int:
        """Acknowledged increments missing from the final value (proof of loss)."""
        return max(0, self.ok - self.final) if self.final is not None else 0

    @property
    def phantom(self) -> int:
        """Increments in the final value that no ok or info op can explain."""
        if self.final is None:
            return 0
        return max(0, self.final - (self.ok + self.info))

    def to_dict(self) -> dict[str, int | None]:
        """The JSON-ready form used in result.json."""
        return {
            "ok": self.ok,
            "fail": self.fail,
            "info": self.info,
            "final": self.final,
            "lost": self.lost,
            "phantom": self.phantom,
        }


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

    def check(self, name: str) -> CheckResult:
        """The check called ``name``."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)
