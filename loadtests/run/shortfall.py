"""A run that sent far fewer votes than asked says so, instead of judging what little it sent.

Client threads that stopped early (a bug, a reply nobody foresaw) once let a run of
3,000 requested votes PASS on 320. A ``--duration`` run asks for time, not a count,
so it is never short; an interrupted run already says it was cut short.
"""

from __future__ import annotations

from collections.abc import Iterable

from loadtests.history import LOAD_FS, Op


def votes_sent(ops: Iterable[Op]) -> int:
    """How many load requests were invoked (sent, whatever became of them): votes, and
    the adds, decrements and calls of a target file beyond counters."""
    return sum(1 for op in ops if op.type == "invoke" and op.f in LOAD_FS)


def shortfall(requested: int | None, ops: Iterable[Op]) -> str | None:
    """Why the run is short of the ``requested`` votes, or None when it is not."""
    if requested is None:
        return None
    sent = votes_sent(ops)
    if sent >= requested:
        return None
    return (
        f"only {sent} of the {requested} votes asked for were sent: the load stopped early"
        " (see the errors in history.jsonl and the driver's log), so the run did not test"
        " what was asked"
    )
