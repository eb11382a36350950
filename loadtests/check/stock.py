"""Bounded resources: stock, seats, tickets, taken one at a time by ``decrement`` ops.

The harness reads each stock before the load (the initial level) and after it (the
final). Three promises, with the counter's ok / fail / info honesty: the stock never
reads below its floor; it fell by exactly the acknowledged decrements (each unknown
one may or may not have happened); and no more decrements were acknowledged than
there was stock to give (no oversell, no double booking).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests.check.checks import plural
from loadtests.check.evidence import Evidence
from loadtests.check.kinds import NOT_LOAD, done, still_open
from loadtests.check.verdict import MAX_WITNESSES, CheckResult, Status


@dataclass
class Level:
    """One stock's story: its reads over time and the load's decrements."""

    floor: int = 0
    initial: int | None = None
    initial_ns: int | None = None
    ok: int = 0
    fail: int = 0
    unknown: int = 0
    # (time_ns, level, op index or None for the final read, process)
    reads: list[tuple[int, Any, int | None, Any]] = field(default_factory=list)


def levels(ev: Evidence) -> dict[str, Level]:
    """Each stock named by a decrement, with its initial level, reads and outcomes."""
    stocks: dict[str, Level] = {}
    for item in done(ev, "decrement"):
        level = stocks.setdefault(str(item.value.get("stock")), Level())
        floor = item.value.get("floor")
        level.floor = floor if type(floor) is int else 0
    for inv in still_open(ev, "decrement"):
        value = inv.value if isinstance(inv.value, Mapping) else {}
        stocks.setdefault(str(value.get("stock")), Level()).unknown += 1
    if not stocks:
        return {}
    # The initial level is the harness's read that completed before the load's first
    # decrement began (and after calibration); a later harness read is the final one.
    load_starts = [
        item.invoke.time_ns
        for item in done(ev, "decrement")
        if item.invoke is not None and item.op.process not in NOT_LOAD
    ]
    load_ns = min(load_starts, default=None)
    final_ns = ev.final.time_ns
    for item in done(ev, "read"):
        seen = item.value.get("stocks")
        if item.op.type != "ok" or not isinstance(seen, Mapping):
            continue
        harness = item.op.process == "harness"
        if harness and final_ns is not None and item.op.time_ns >= final_ns:
            continue  # the final read: added below from the final state
        for name, value in seen.items():
            if str(name) not in stocks:
                continue
            level = stocks[str(name)]
            before_load = load_ns is None or item.op.time_ns <= load_ns
            if level.initial is None and harness and before_load:
                level.initial, level.initial_ns = value, item.op.time_ns
            level.reads.append((item.op.time_ns, value, item.op.index, item.op.process))
    final = ev.final.stocks if isinstance(ev.final.stocks, Mapping) else {}
    for name, level in stocks.items():
        if name in final and ev.final.time_ns is not None:
            level.reads.append((ev.final.time_ns, final[name], None, "harness"))
    for item in done(ev, "decrement"):
        level = stocks[str(item.value.get("stock"))]
        invoked = item.invoke.time_ns if item.invoke is not None else item.op.time_ns
        if item.op.process in NOT_LOAD and (level.initial_ns is None or invoked < level.initial_ns):
            continue  # calibration: before the initial read, already in its level
        if item.op.type == "ok":
            level.ok += 1
        elif item.op.type == "fail":
            level.fail += 1
        else:
            level.unknown += 1
    return stocks


def _final(ev: Evidence, name: str) -> Any:
    final = ev.final.stocks if isinstance(ev.final.stocks, Mapping) else {}
    return final.get(name)


def _ints(level: Level, final: Any) -> bool:
    return type(level.initial) is int and type(final) is int


def floor(ev: Evidence) -> CheckResult | None:
    """No read of a stock, during the run or after it, is below its floor."""
    stocks = levels(ev)
    if not stocks:
        return None
    witnesses: list[dict[str, Any]] = []
    for name, level in sorted(stocks.items()):
        for time_ns, value, index, process in level.reads:
            if type(value) is int and value < level.floor:
                read = "the final read" if index is None else f"read op {index}"
                witnesses.append(
                    {
                        "stock": name,
                        "level": value,
                        "floor": level.floor,
                        "read": read,
                        "process": process,
                        "time_ns": time_ns,
                    }
                )
    reads = sum(len(level.reads) for level in stocks.values())
    if witnesses:
        worst = min(w["level"] for w in witnesses)
        return CheckResult(
            "stock-floor",
            "FAIL",
            f"{plural(len(witnesses), 'read')} of the stock fell below its floor (lowest: "
            f"{worst}): two buyers both saw stock left and both took it",
            tuple(witnesses[:MAX_WITNESSES]),
            len(witnesses),
        )
    if not any(len(level.reads) > 1 for level in stocks.values()):
        return CheckResult("stock-floor", "UNKNOWN", "the stock was not read after the load")
    return CheckResult(
        "stock-floor", "PASS", f"none of {plural(reads, 'read')} was below the floor"
    )


def conservation(ev: Evidence) -> CheckResult | None:
    """initial - final equals the acknowledged decrements, within the unknown ones."""
    stocks = levels(ev)
    if not stocks:
        return None
    status: Status = "PASS"
    parts, witnesses = [], []
    for name, level in sorted(stocks.items()):
        final = _final(ev, name)
        if not _ints(level, final):
            return CheckResult(
                "stock-conservation",
                "UNKNOWN",
                f"{name!r}: no initial and final level to compare (initial {level.initial!r}, "
                f"final {final!r})",
            )
        taken = level.initial - final
        row = {
            "stock": name,
            "initial": level.initial,
            "final": final,
            "taken": taken,
            "ok": level.ok,
            "fail": level.fail,
            "unknown": level.unknown,
        }
        if taken < level.ok:
            status = "FAIL"
            parts.append(
                f"{level.ok - taken} of {level.ok} acknowledged decrements of {name!r} are "
                f"missing from its level ({level.initial} - {final} = {taken}): concurrent "
                "updates overwrote each other"
            )
            witnesses.append(row)
        elif taken > level.ok + level.unknown:
            status = "FAIL"
            parts.append(
                f"{name!r} fell by {taken}, more than the {level.ok} acknowledged and "
                f"{level.unknown} unknown decrements together"
            )
            witnesses.append(row)
        elif status == "PASS":
            extra = (
                f", {taken - level.ok} of {level.unknown} unknown ones landed"
                if level.unknown
                else ""
            )
            parts.append(f"{name!r} fell by {taken}: the {level.ok} acknowledged decrements{extra}")
    if status == "PASS" and not any(level.ok for level in stocks.values()):
        return CheckResult(
            "stock-conservation",
            "UNKNOWN",
            "no decrement was acknowledged, so nothing could be lost: the run proves nothing",
        )
    return CheckResult("stock-conservation", status, "; ".join(parts), tuple(witnesses))


def oversell(ev: Evidence) -> CheckResult | None:
    """No more decrements acknowledged than there was stock above the floor."""
    stocks = levels(ev)
    if not stocks:
        return None
    parts, witnesses = [], []
    for name, level in sorted(stocks.items()):
        if type(level.initial) is not int:
            return CheckResult(
                "oversell", "UNKNOWN", f"{name!r}: no initial level was read before the load"
            )
        available = max(0, level.initial - level.floor)
        if level.ok > available:
            parts.append(
                f"{level.ok} acknowledged decrements of {name!r} but only {available} "
                f"available: {level.ok - available} oversold"
            )
            witnesses.append(
                {
                    "stock": name,
                    "initial": level.initial,
                    "floor": level.floor,
                    "acknowledged": level.ok,
                    "oversold": level.ok - available,
                }
            )
    if parts:
        return CheckResult("oversell", "FAIL", "; ".join(parts), tuple(witnesses))
    summary = ", ".join(
        f"{name!r}: {level.ok} of {level.initial}" for name, level in sorted(stocks.items())
    )
    return CheckResult("oversell", "PASS", f"no more acknowledged than available ({summary})")
