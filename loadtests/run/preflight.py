"""Preflight: one pass of the workload before any load, so a typo costs seconds, not a run.

Setup, one increment of each counter, one read through the real extractors, then the
teardown: the same client and classification as the load. A path that answers 404, a
JSON field that is not there, a reply that never matches ``ok`` stop the run here with
the reply's first words, before a single load request. Its ops go to their own
history (preflight.jsonl), never the one the checker judges; what they changed in the
app is in the baseline read that follows, so they count nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.check.exitcodes import EXIT_ERROR, EXIT_USAGE
from loadtests.check.outcomes import first_traceback
from loadtests.drive.client import Client
from loadtests.history import Op
from loadtests.target.workload import RequestSpec

PREFLIGHT_FILE = "preflight.jsonl"


@dataclass(frozen=True)
class Problem:
    """Why the run stops before its load, and its exit code (2: the file, 4: the app)."""

    message: str
    exit_code: int


def _what(op: Op) -> tuple[int | None, str, str]:
    value: Mapping[str, Any] = op.value if isinstance(op.value, Mapping) else {}
    status = value.get("status")
    return (
        (status if type(status) is int else None),
        str(value.get("error") or ""),
        str(value.get("body") or ""),
    )


def _problem(where: str, request: RequestSpec, op: Op, log_text: str) -> Problem:
    status, error, body = _what(op)
    said = f"HTTP {status}" if status is not None else "no reply"
    body_part = f"; the reply began: {body[:200]!r}" if body and body[:200] not in error else ""
    message = f"preflight: {where} ({request.method} {request.path}) got {said}: {error}{body_part}"
    if status is not None and status < 500:
        # The app answered, and not as the file says it would: the file is at fault.
        return Problem(f"{message}. Fix the target file (or the app) and run again.", EXIT_USAGE)
    traceback = first_traceback(log_text)
    if traceback:
        message += f"\nfirst traceback in the target's log:\n{traceback}"
    return Problem(message, EXIT_ERROR)


def read_log(log_path: Path | None) -> str:
    """The target's log as text ("" when there is none to read)."""
    if log_path is None:
        return ""
    try:
        return log_path.read_text(errors="replace")
    except OSError:
        return ""


def preflight(client: Client, log_path: Path | None = None) -> Problem | None:
    """Send setup, one increment per counter, one read, teardown; the first problem, if any."""
    workload = client.workload
    for i, step in enumerate(workload.setup):
        op = client.step(step)
        if op.type != "ok":
            return _problem(f"setup[{i}]", step.request, op, read_log(log_path))
    for i, counter in enumerate(workload.counters):
        op = client.vote(counter.name, f"preflight-{i}")
        if op.type != "ok":
            return _problem(f"counters[{i}].increment", counter.increment, op, read_log(log_path))
    op = client.read()
    if op.type != "ok":
        failing = workload.counters[0]
        _, error, _ = _what(op)
        for i, counter in enumerate(workload.counters):
            if repr(counter.name) in error:
                return _problem(f"counters[{i}].read", counter.read, op, read_log(log_path))
        return _problem("counters[0].read", failing.read, op, read_log(log_path))
    for i, step in enumerate(workload.teardown):
        op = client.step(step)
        if op.type != "ok":
            return _problem(f"teardown[{i}]", step.request, op, read_log(log_path))
    return None
