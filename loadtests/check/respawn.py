"""A server process that was replaced mid-run (a crashed gunicorn worker respawned).

With one worker configured, only one server process runs at a time: a second pid
means the first died and its successor started with empty memory. That is the
documented rule for a restarted in-memory target (UNKNOWN, naming the restart),
the same as Apache's recycling, and never FAIL "split state": the processes took
turns, they never split the votes between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadtests.check.evidence import Evidence
from loadtests.check.scan import Scan
from loadtests.check.verdict import MAX_WITNESSES, CheckResult


def pid_witnesses(scan: Scan, pids: list[int]) -> tuple[tuple[Mapping[str, Any], ...], str]:
    """Each pid that answered, with a vote it acknowledged; and the pids for a sentence."""
    witnesses = tuple(
        {"pid": pid, "vote": scan.pid_acks[pid].witness()}
        if pid in scan.pid_acks
        else {"pid": pid, "answered": "the final read"}
        for pid in pids[:MAX_WITNESSES]
    )
    shown = ", ".join(map(str, pids[:10])) + (", ..." if len(pids) > 10 else "")
    return witnesses, shown


def respawned(ev: Evidence, pids: list[int]) -> CheckResult | None:
    """With one server process configured, several pids answered: name the restart."""
    scan, settings = ev.scan, ev.settings
    if settings.workers != 1 or len(pids) <= 1 or scan.restarts:
        return None  # several workers (split state), one pid, or the nemesis's own restarts
    if settings.shared_state:
        return CheckResult(
            "recycle",
            "PASS",
            f"the server process was replaced during the run ({len(pids)} pids answered) and "
            "the state lives outside its memory",
        )
    witnesses, shown = pid_witnesses(scan, pids)
    return CheckResult(
        "recycle",
        "UNKNOWN",
        f"the server restarted during the run: one process was configured but {len(pids)} "
        f"pids answered in turn ({shown}), so a process died (a crashed worker respawned, "
        "see target.log) and each successor started with empty memory; the votes its "
        "predecessors held are gone and this run cannot judge thread safety from the tallies",
        witnesses,
        len(pids),
    )
