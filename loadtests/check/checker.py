"""The checker: a pure function from (history, final state, settings) to a verdict.

Every check has one shape (a name, the question it answers, one function of the
same :class:`Evidence`) and :data:`CHECKS` composes them, as Jepsen's
``checker/compose`` does: the verdict, the reason and the report's questions
all come from that one list. :func:`check_safe` is Jepsen's ``check-safe``: a
check that raises becomes ERROR with its traceback, never a lost run.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from loadtests.check import checks, counter, echo, errors, ids, overlap, sets, stock
from loadtests.check.evidence import Evidence, gather
from loadtests.check.kinds import counters_only
from loadtests.check.model import RESTART_FS, CheckSettings, FinalState
from loadtests.check.verdict import CheckResult, Status, Verdict, combine
from loadtests.errors import RacecheckError
from loadtests.history import Op


@dataclass(frozen=True)
class Check:
    """One check: its name, the question it answers, and a function of the evidence.

    ``rank`` orders the checks whose detail explains a verdict (lower: more telling;
    None: never the reason unless nothing else is). A ``root_cause`` FAIL explains a
    FAIL before any other: split state makes the other checks' numbers moot.
    """

    name: str
    question: str
    run: Callable[[Evidence], CheckResult | None]
    rank: int | None = None
    root_cause: bool = False
    # Its FAIL proves acknowledged updates were lost (the report must never say "0 lost").
    proves_loss: bool = False


# In the order they are shown. Checks outside the checker (the run's own) are listed in
# QUESTIONS below, so the report can still ask each one its question.
CHECKS: tuple[Check, ...] = (
    Check(
        "history-complete",
        "Was every request recorded from start to finish?",
        checks.history_complete,
    ),
    Check("evidence", "Is any evidence missing?", checks.evidence),
    Check(
        "well-formed",
        "Did the target return counts that are counts?",
        counters_only(counter.well_formed),
        7,
    ),
    Check(
        "final-read",
        "Was the final tally read after the load stopped?",
        counters_only(checks.final_read),
    ),
    Check("resolution", "Did every vote go to the resolution that was counted?", checks.resolution),
    Check(
        "bounds",
        "Is every acknowledged vote in the final tally?",
        counters_only(counter.bounds),
        1,
        proves_loss=True,
    ),
    Check(
        "reads",
        "Did every read during the run see every vote acknowledged before it?",
        counters_only(counter.reads),
        2,
        proves_loss=True,
    ),
    Check(
        "unique-counts",
        "Did every vote get a count of its own?",
        counters_only(counter.unique_counts),
        3,
        proves_loss=True,
    ),
    Check(
        "counts-within-final",
        "Did the tally ever go backwards?",
        counters_only(counter.counts_within_final),
        5,
        proves_loss=True,
    ),
    Check(
        "split-state",
        "Did one server process hold all the votes?",
        checks.split_state,
        4,
        root_cause=True,
    ),
    Check(
        "concurrency",
        "Did any two votes overlap in time, so that a race could happen?",
        overlap.concurrency,
    ),
    Check("restart", "Did the server keep its memory?", checks.restart, 6),
    Check("recycle", "Did the server keep its processes?", checks.recycled, 6),
    # Beyond counters (issue 12): each applies only when the history has its op kind.
    Check(
        "collections",
        "Is every acknowledged add in the collection exactly once, and nothing nobody added?",
        sets.collections,
        1,
        proves_loss=True,
    ),
    Check(
        "unique-ids",
        "Did every acknowledged create get an id of its own?",
        ids.unique_ids,
        3,
    ),
    Check("stock-floor", "Did the stock stay at or above its floor?", stock.floor, 2),
    Check(
        "stock-conservation",
        "Did the stock fall by exactly the acknowledged decrements?",
        stock.conservation,
        1,
        proves_loss=True,
    ),
    Check("oversell", "Were no more acknowledged than there was stock?", stock.oversell, 2),
    Check("echo", "Did each reply carry its own request's data and no other's?", echo.echo, 2),
    Check(
        "errors",
        "Did the load meet no errors that a single client never meets?",
        errors.errors,
        4,
    ),
    Check("interrupted", "Did the run finish?", checks.interrupted),
)

# The question of every check a result can hold: the composed ones, then those the
# checker adds after composing (expectation, checker) and those of the run itself.
QUESTIONS: dict[str, str] = {
    **{c.name: c.question for c in CHECKS},
    "expectation": "Did the run show what was expected?",
    "checker": "Could the checker judge the evidence?",
    "setup": "Could the run be set up?",
    "harness": "Could the harness run at all?",
}


_DEFAULT_SETTINGS = CheckSettings()

LOSS_CHECKS: tuple[str, ...] = tuple(c.name for c in CHECKS if c.proves_loss)


def loss_checks_failed(result: Mapping[str, Any]) -> list[str]:
    """The checks of a result.json that prove lost updates (it FAILed them)."""
    return [
        c["name"]
        for c in result.get("checks") or ()
        if c.get("status") == "FAIL" and c.get("name") in LOSS_CHECKS
    ]


def _reason(results: list[CheckResult], status: Status) -> str:
    """One sentence for the verdict: the detail of the most telling check with that status."""
    matching = [r for r in results if r.status == status]
    by_name = {c.name: c for c in CHECKS}

    def order(result: CheckResult) -> tuple[int, int]:
        spec = by_name.get(result.name)
        root = 0 if status == "FAIL" and spec is not None and spec.root_cause else 1
        rank = spec.rank if spec is not None and spec.rank is not None else len(CHECKS)
        return root, rank

    return min(matching, key=order).detail if matching else ""


def _judge(ev: Evidence, results: list[CheckResult]) -> Verdict:
    settings = ev.settings
    recycled = next((r for r in results if r.name == "recycle" and r.status != "PASS"), None)
    if recycled is not None:
        results = [checks.unproven_when_recycled(r) for r in results]
    status: Status = combine(r.status for r in results)
    reason = _reason(results, status)
    if recycled is not None and status == "UNKNOWN":
        reason = recycled.detail
    if any(r.name == "well-formed" and r.status == "ERROR" for r in results):
        # Malformed evidence proves nothing, not even a loss: never FAIL on it.
        status, reason = "ERROR", _reason(results, "ERROR")
    if settings.gaps and status != "ERROR":
        # A worker's counts are missing: its acknowledged votes are not in the
        # history, so neither a PASS nor a FAIL can be trusted.
        status, reason = "UNKNOWN", f"evidence is missing: {'; '.join(settings.gaps)}"
    expectation = checks.expectation(status, settings.expect)
    if expectation is not None:
        results.append(expectation)
        if expectation.status == "UNKNOWN":
            status, reason = "UNKNOWN", expectation.detail
    as_expected = status == ("FAIL" if settings.expect == "violation" else "PASS")
    return Verdict(status, tuple(results), ev.counts, settings.expect, as_expected, reason)


def check(
    ops: Iterable[Op], final: FinalState, settings: CheckSettings = _DEFAULT_SETTINGS
) -> Verdict:
    """Judge a history against the final state. Pure: same inputs, same verdict."""
    ev = gather(ops, final, settings)
    results = [r for spec in CHECKS if (r := spec.run(ev)) is not None]
    return _judge(ev, results)


def _crashed(name: str, exc: BaseException) -> CheckResult:
    text = "".join(traceback.format_exception(exc))
    return CheckResult(
        name,
        "ERROR",
        f"the check raised {type(exc).__name__}: {str(exc)[:200]} (a harness bug; the "
        "history is saved and `racecheck check RUN_DIR` re-checks it once fixed)",
        traceback=text,
    )


def check_safe(
    ops: Iterable[Op], final: FinalState, settings: CheckSettings = _DEFAULT_SETTINGS
) -> Verdict:
    """check(), but an exception in any check is an ERROR check with its traceback.

    Jepsen's check-safe: the other checks still run and are reported; a crash in
    the scan itself (a history that cannot be read) is one ERROR check, "checker".
    """
    try:
        ev = gather(ops, final, settings)
    except RacecheckError:
        raise  # a deliberate error (an unreadable history file) already says what to do
    except Exception as exc:  # any bug in the checker must become ERROR
        crashed = _crashed("checker", exc)
        return Verdict("ERROR", (crashed,), {}, settings.expect, False, crashed.detail)
    results = []
    for spec in CHECKS:
        try:
            result = spec.run(ev)
        except Exception as exc:
            result = _crashed(spec.name, exc)
        if result is not None:
            results.append(result)
    return _judge(ev, results)


__all__ = [
    "CHECKS",
    "LOSS_CHECKS",
    "QUESTIONS",
    "RESTART_FS",
    "Check",
    "CheckResult",
    "CheckSettings",
    "FinalState",
    "check",
    "check_safe",
    "loss_checks_failed",
]
