"""Exit codes, and the one rule that maps a verdict to one."""

from __future__ import annotations

from loadtests.check.verdict import Verdict

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3
EXIT_ERROR = 4

VERDICT_EXIT = {"PASS": EXIT_PASS, "FAIL": EXIT_FAIL, "UNKNOWN": EXIT_UNKNOWN, "ERROR": EXIT_ERROR}


def exit_code_for(verdict: Verdict) -> int:
    """0 when the outcome is the expected one (PASS, or FAIL under --expect violation)."""
    if verdict.as_expected:
        return EXIT_PASS
    return VERDICT_EXIT.get(verdict.status, EXIT_ERROR)
