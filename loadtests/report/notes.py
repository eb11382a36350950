"""Sentences a run carries beside its verdict: what --preempt makes of a FAIL or a PASS.

One place for the words, so the console, result.json ("notes") and the report say the same.
"""

from __future__ import annotations

from loadtests.target.preempt import FAIL_MEANING, GIL_MAY_HIDE, PASS_MEANING


def run_notes(status: str, preempted: bool) -> list[str]:
    """The notes for a run with this verdict, with or without --preempt."""
    if preempted:
        if status == "FAIL":
            return [FAIL_MEANING]
        if status == "PASS":
            return [PASS_MEANING]
        return []
    if status == "PASS":
        return [GIL_MAY_HIDE]
    return []
