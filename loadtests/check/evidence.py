"""The evidence every check reads: the scan, the final state, the settings and the bounds.

Jepsen's counter bounds live here, once, for the final read and every read of
the run alike: a read invoked at ``i`` and completed at ``c`` must count every
vote acknowledged before ``i`` (lower) and cannot count more than the votes
invoked before ``c`` that did not definitely fail (upper), in its own round.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests.check.model import CheckSettings, FinalState
from loadtests.check.scan import Scan, Timeline, scan
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


@dataclass
class Bounds:
    """Lower and upper bounds of any read, from the scan's timelines (sorted on first use)."""

    scan: Scan
    _sorted: set[tuple[Any, str | None]] = field(default_factory=set)

    def _line(self, key: tuple[Any, str | None]) -> Timeline | None:
        line = self.scan.timelines.get(key)
        if line is not None and key not in self._sorted:
            order = sorted(range(len(line.done)), key=line.done.__getitem__)
            line.done = type(line.done)("q", (line.done[i] for i in order))
            line.ids = [line.ids[i] for i in order]
            line.invoked.sort()
            self._sorted.add(key)
        return line

    def round_of(self, round_id: Any) -> Any:
        """The round a read is compared within: None when no vote named its round."""
        return round_id if self.scan.resolutions else None

    def lower(self, round_id: Any, choice: str, invoke_ns: int | None) -> tuple[int, list[Any]]:
        """Votes of the round acknowledged before ``invoke_ns``, with the last ones' ids."""
        line = self._line((self.round_of(round_id), choice))
        if line is None:
            return 0, []
        n = len(line.done) if invoke_ns is None else bisect_left(line.done, invoke_ns)
        return n, line.ids[max(0, n - 5) : n]

    def upper(self, round_id: Any, choice: str, complete_ns: int | None) -> int:
        """Votes that may be in a read of the round completed at ``complete_ns``."""
        round_id = self.round_of(round_id)
        if round_id is None:
            # The read does not say its round: any round's vote may be in it.
            keys = [k for k in self.scan.timelines if k[1] == choice]
        else:
            keys = [(round_id, choice), (None, choice)]
        total = 0
        for key in [*keys, (None, None)]:  # (None, None): open votes naming no choice
            line = self._line(key)
            if line is not None:
                invoked = line.invoked
                total += len(invoked) if complete_ns is None else bisect_left(invoked, complete_ns)
        return total


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
        final = FinalState(None, final.resolution_id, final.time_ns, final.pids, final.source)
    result = scan(ops, final, settings)
    bounds = Bounds(result)
    finals: Mapping[str, Any] = final.counts if final.counts is not None else {}
    choices = set(result.counts) | set(finals)
    counts = {}
    for choice in sorted(choices):
        ok, fail, info = result.counts.get(choice, (0, 0, 0))
        value = finals.get(choice)
        lower = upper = None
        if final.counts is not None:
            lower, _ = bounds.lower(final.resolution_id, choice, final.time_ns)
            # When the final read completed is not recorded: every vote may be in it.
            upper = bounds.upper(final.resolution_id, choice, None)
        overwritten = result.collisions_by_choice.get(choice, 0)
        counts[choice] = ChoiceCounts(ok, fail, info, value, lower, upper, overwritten)
    return Evidence(result, final, settings, counts, bounds, tuple(problems), raw_final)
