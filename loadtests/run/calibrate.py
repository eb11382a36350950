"""Before and after the load, for the checks beyond counters (issue 12).

Calibration: one client sends a few dozen requests of the load's own mix, one at a
time, so the errors check can tell errors that only concurrency causes from those a
single client sees too. The initial read: a stock's level before anything is taken.
The target log: tracebacks the server printed while the load ran are evidence too.
Everything lands in the harness's history (history first: `racecheck check` needs no
other file), and nothing here runs for a workload of counters alone.
"""

from __future__ import annotations

import re
from pathlib import Path

from loadtests.check.kinds import CALIBRATION
from loadtests.drive.client import Client
from loadtests.history import History

# How many tracebacks (and lines of each) the history keeps as witnesses.
MAX_TRACEBACKS = 5
TRACEBACK_LINES = 6
_TRACEBACK = re.compile(r"^Traceback \(most recent call last\):", re.MULTILINE)


def calibrate(client: Client, harness: History) -> None:
    """Record the errors check's settings, then send the calibration requests serially."""
    extras = client.workload.extras
    marker = {"requests": extras.calibrate, "all_ok": extras.all_ok}
    harness.complete(harness.invoke("harness", CALIBRATION, marker), "ok", marker)
    serial = Client(client.transport, client.base_url, client.workload, harness, CALIBRATION)
    names = client.workload.op_names
    for number in range(extras.calibrate if names else 0):
        serial.perform(names[number % len(names)], f"{CALIBRATION}-{number}")


def initial_read(client: Client) -> None:
    """Read every stock's level before the load (the stock checks' starting point)."""
    if client.workload.extras.stocks:
        client.read()


def log_size(path: Path) -> int:
    """How far the target log reaches now (0 when there is none)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def tracebacks(path: Path, start: int) -> list[str]:
    """Each traceback the target log gained after byte ``start``, cut to its last lines."""
    try:
        with path.open("rb") as log:
            log.seek(start)
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return []
    found = []
    starts = [m.start() for m in _TRACEBACK.finditer(text)]
    for i, begin in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        lines = text[begin:end].splitlines()
        # A traceback ends at its first unindented line after the header: the exception.
        for n, line in enumerate(lines[1:], 1):
            if line and not line.startswith((" ", "\t")):
                lines = lines[: n + 1]
                break
        found.append("\n".join(lines[:2] + lines[2:][-TRACEBACK_LINES:]))
    return found


def record_tracebacks(harness: History, path: Path, start: int) -> None:
    """Record the tracebacks of the load (after ``start``) as one harness op."""
    found = tracebacks(path, start)
    # One excerpt per distinct exception (its last line), most frequent first.
    by_exception: dict[str, list[str]] = {}
    for excerpt in found:
        by_exception.setdefault(excerpt.splitlines()[-1], []).append(excerpt)
    ranked = sorted(by_exception.values(), key=len, reverse=True)[:MAX_TRACEBACKS]
    value = {
        "tracebacks": len(found),
        "excerpts": [group[0] for group in ranked],
        "times": [len(group) for group in ranked],
    }
    harness.complete(harness.invoke("harness", "target-log", None), "ok", value)
