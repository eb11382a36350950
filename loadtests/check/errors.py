"""Errors that only concurrency causes.

Before the load one client sends a few dozen requests of the same mix, serially
(``calibrate = N``). Under load, a 5xx or a refusal of a kind that calibration never
saw is an error the app makes only when requests overlap (one sqlite connection
shared by every thread: "cannot start a transaction within a transaction"). With
``expect = "all-ok"`` every request of the load must be acknowledged. Tracebacks the
target logged during the load count too, when calibration saw no 5xx. Timeouts and
broken connections (no status) are never errors here: they are unknown outcomes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from loadtests.check.checks import plural
from loadtests.check.evidence import Evidence
from loadtests.check.kinds import CALIBRATION, EXTRA_FS, NOT_LOAD, done
from loadtests.check.verdict import MAX_WITNESSES, CheckResult
from loadtests.history import Op

# A refusal the target file declares (a stock's "sold out") is a legitimate answer.
DECLARED = "refused: "
_NUMBER = re.compile(r"\d+")
_TAG = re.compile(r"<[^>]*>")


def excerpt(body: str) -> str:
    """The start of a reply's body as text: an HTML error page's words, not its markup."""
    return " ".join(_TAG.sub(" ", body).split())[:160]


def kind(op: Op) -> tuple[Any, str]:
    """What sort of error an op met: its status and its error text with numbers blurred."""
    value = op.value if isinstance(op.value, Mapping) else {}
    return value.get("status"), _NUMBER.sub("#", str(value.get("error", "")))[:80]


def _unacked(ev: Evidence) -> Iterator[Op]:
    """Every op (vote or beyond) that was not acknowledged, in history order."""
    yield from ev.scan.unacked_votes
    for f in sorted(EXTRA_FS):
        for item in done(ev, f):
            if item.op.type != "ok":
                yield item.op


def _marker(ev: Evidence, f: str) -> Mapping[str, Any] | None:
    for item in done(ev, f):
        if item.op.process == "harness" and item.op.type == "ok":
            return item.value
    return None


def _sold_out(ev: Evidence, op: Op) -> bool:
    """A refused decrement of a stock that ended at its floor: a legitimate "sold out",
    even when the target file does not declare its text (calibration may never reach it)."""
    if op.f != "decrement" or not isinstance(op.value, Mapping):
        return False
    levels = ev.final.stocks if isinstance(ev.final.stocks, Mapping) else {}
    level, floor = levels.get(str(op.value.get("stock"))), op.value.get("floor", 0)
    return type(level) is int and type(floor) is int and level <= floor


def _witness(op: Op, problem: str) -> dict[str, Any]:
    value = op.value if isinstance(op.value, Mapping) else {}
    return {
        "op_id": op.vote_id,
        "f": op.f,
        "process": op.process,
        "type": op.type,
        "status": value.get("status"),
        "body": excerpt(str(value.get("error", ""))),
        "time_ns": op.time_ns,
        "problem": problem,
    }


def errors(ev: Evidence) -> CheckResult | None:
    """5xx and new kinds of refusal under load that one client alone never met."""
    marker = _marker(ev, CALIBRATION)
    if marker is None:
        return None  # no calibration and no expectation: nothing to judge against
    calibrated = int(marker.get("requests") or 0)
    all_ok = bool(marker.get("all_ok"))
    if not calibrated and not all_ok:
        return None
    unacked = list(_unacked(ev))
    seen = {kind(op) for op in unacked if op.process == CALIBRATION}
    calibration_5xx = any(isinstance(k[0], int) and k[0] >= 500 for k in seen)
    witnesses: list[dict[str, Any]] = []
    no_answer = 0
    load_ops = [op for op in unacked if op.process not in NOT_LOAD]
    for op in load_ops:
        status, text = kind(op)
        if status is None:
            no_answer += 1
            continue
        if all_ok:
            witnesses.append(_witness(op, 'not acknowledged (expect = "all-ok")'))
        elif text.startswith(DECLARED) or (status < 500 and _sold_out(ev, op)):
            continue
        elif (status, text) not in seen and calibrated:
            problem = "server error" if status >= 500 else "refusal"
            witnesses.append(_witness(op, f"{problem} one client never met in calibration"))
    log = _marker(ev, "target-log") or {}
    traces = [str(t) for t in log.get("excerpts") or ()]
    times = list(log.get("times") or ())
    count = int(log.get("tracebacks") or 0)
    if count and calibrated and not calibration_5xx:
        # The target's own account of what broke comes first: a 500 page says little.
        witnesses[:0] = [
            {
                "problem": "traceback in the target log during the load",
                "exception": t.splitlines()[-1],
                "times": times[i] if i < len(times) else None,
                "traceback": t,
            }
            for i, t in enumerate(traces)
        ]
    if witnesses:
        errors_seen = sum(1 for w in witnesses if "traceback" not in w)
        parts = [f"{plural(errors_seen, 'request')} of the load failed"]
        if calibrated:
            parts.append(f"in ways {calibrated} serial calibration requests never did")
        if count:
            parts.append(f"and the target logged {plural(count, 'traceback')}")
        return CheckResult(
            "errors",
            "FAIL",
            " ".join(parts) + ": errors that only concurrency causes",
            tuple(witnesses[:MAX_WITNESSES]),
            len(witnesses),
        )
    if no_answer and all_ok:
        return CheckResult(
            "errors",
            "UNKNOWN",
            f"{plural(no_answer, 'request')} got no answer (timeout or broken connection), "
            'so "all-ok" cannot be shown',
        )
    if calibrated:
        detail = (
            f"no error under load that {calibrated} serial calibration requests did not meet "
            f"too ({plural(len(seen), 'kind')} of refusal in both)"
        )
    else:
        detail = "every request of the load was acknowledged"
    return CheckResult("errors", "PASS", detail)
