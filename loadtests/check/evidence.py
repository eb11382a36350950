"""The evidence every check reads: the scan, the final state, the settings and the bounds.

Jepsen's counter bounds live here, once, for the final read and every read of
the run alike: a read invoked at ``i`` and completed at ``c`` must count every
vote acknowledged before ``i`` (lower) and cannot count more than the votes
invoked before ``c`` that did not definitely fail (upper), in its own round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from loadtests.check.model import CheckSettings, FinalState
from loadtests.check.scan import ReadSeen, Scan, scan
from loadtests.check.verdict import ChoiceCounts
from loadtests.history import Op


def count_problem(value: Any) -> str | None:
    """Why ``value`` is not a counter's value (None: it is a non-negative int, not a bool)."""
    if type(value) is not int:
        return f"a count must be a non-negative integer, not {type(value).__name__}"
    if value < 0:
        return "a count must be a non-negative integer, not negative"
    return None


def final_problems(final: FinalState) -> list[dict[str, Any]]:
    """Each malformed field of the final read, as a witness."""
    counts = final.counts
    if counts is None:
        return []
    if not isinstance(counts, Mapping):
        return [{"field": "final.counts", "value": repr(counts)[:80], "problem": "not an object"}]
    problems = []
    for name, value in counts.items():
        problem = count_problem(value)
        if problem is not None:
            problems.append(
                {"field": f"final.counts.{name}", "value": repr(value)[:80], "problem": problem}
            )
    return problems


@dataclass(frozen=True)
class Bounds:
    """Lower and upper bounds of the final read and of each read of the run."""

    scan: Scan

    def round_of(self, round_id: Any) -> Any:
        """The round a read is compared within: None when no vote named its round."""
        return round_id if self.scan.resolutions else None

    def _acked(self, acks: Mapping[tuple[Any, str], int], round_id: Any, choice: str) -> int:
        """Acks that may be in a read of the round: its own and those naming no round."""
        if round_id is None:  # the read does not say its round: any round's vote may be in it
            return sum(n for (_, c), n in acks.items() if c == choice)
        return acks.get((round_id, choice), 0) + acks.get((None, choice), 0)

    def final(self, round_id: Any, choice: str) -> tuple[int, int]:
        """(lower, upper) of the final read: acks before it began; every vote that may land."""
        scan, key = self.scan, (self.round_of(round_id), choice)
        cell = scan.round_acks.get(key)
        lower = (cell[0] if cell else 0) - scan.late_acks.get(key, 0)
        acks = {k: v[0] for k, v in scan.round_acks.items()}
        info = scan.counts.get(choice, (0, 0, 0))[2]
        unknown = info + scan.open_votes.get(choice, 0) + scan.open_votes.get(None, 0)
        return lower, self._acked(acks, key[0], choice) + unknown

    def read(self, seen: ReadSeen, choice: str) -> tuple[int, int]:
        """(lower, upper) of a read taken during the run."""
        round_id = self.round_of(seen.op.value.get("resolution_id"))
        lower = seen.lower.get((round_id, choice), 0)
        unknown = seen.unknown.get(choice, 0) + seen.unknown.get(None, 0)
        return lower, self._acked(seen.acked, round_id, choice) + unknown


@dataclass(frozen=True)
class Evidence:
    """What every check is a function of."""

    scan: Scan
    final: FinalState  # counts None when the final read failed or was malformed
    settings: CheckSettings
    counts: Mapping[str, ChoiceCounts]
    bounds: Bounds
    final_problems: tuple[dict[str, Any], ...] = ()
    raw_final: FinalState | None = None


def gather(ops: Iterable[Op], final: FinalState, settings: CheckSettings) -> Evidence:
    """Scan the history once and compute the final read's bounds per choice."""
    problems = final_problems(final)
    raw_final = final
    if problems:
        # A malformed tally is reported (well-formed: ERROR) and proves nothing else.
        final = replace(final, counts=None)
    result = scan(ops, final, settings)
    bounds = Bounds(result)
    finals: Mapping[str, Any] = final.counts if final.counts is not None else {}
    choices = set(result.counts) | set(finals)
    counts = {}
    for choice in sorted(choices):
        ok, fail, info = result.counts.get(choice, (0, 0, 0))
        value = finals.get(choice)
        if type(value) is int:
            value -= final.offset(choice)  # the load's share: apps need not start at zero
        lower = upper = None
        if final.counts is not None:
            lower, upper = bounds.final(final.resolution_id, choice)
        # Equal re-read counts prove nothing (see unique-counts), so they overwrite nothing.
        overwritten = (
            0 if settings.reply == "reread" else result.collisions_by_choice.get(choice, 0)
        )
        counts[choice] = ChoiceCounts(ok, fail, info, value, lower, upper, overwritten)
    return Evidence(result, final, settings, counts, bounds, tuple(problems), raw_final)
