"""Why ops went wrong, for people: fail and info outcomes grouped by status and reason.

Pure functions of the history (and of the target's log text): the console, result.json
and the report all print the same breakdown. ``1,398 info: HTTP 500 "Internal Server
Error"`` says more than a count of unknowns, and the first traceback in the target's
log usually says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from loadtests.history import Op

MAX_GROUPS = 10
MAX_TRACEBACK_LINES = 25
CONSOLE_TRACEBACK_LINES = 4
TRACEBACK = "Traceback (most recent call last):"


def _reason(value: Any) -> tuple[int | None, str, str]:
    """(status, reason, body excerpt) of a fail or info op's value."""
    if not isinstance(value, Mapping):
        return None, "no details recorded", ""
    status = value.get("status")
    error = _readable(str(value.get("error") or "no details recorded"))
    return (status if type(status) is int else None), error[:160], str(value.get("body") or "")


def _readable(text: str) -> str:
    """An error page's title (or text without tags), on one line."""
    if text.lstrip().startswith("<"):
        title = re.search(r"<title>(.*?)</title>", text, re.S | re.I)
        text = title.group(1) if title else re.sub(r"<[^>]*>", " ", text)
    return " ".join(text.split())


def breakdown(ops: Iterable[Op], limit: int = MAX_GROUPS) -> list[dict[str, Any]]:
    """fail and info completions, grouped by (outcome, operation, status, reason), most first."""
    groups: dict[tuple[str, str, int | None, str], dict[str, Any]] = {}
    for op in ops:
        if op.type not in ("fail", "info"):
            continue
        status, reason, body = _reason(op.value)
        # Numbers vary per op (ids, counts): groups are by the words around them.
        key = (op.type, op.f, status, re.sub(r"\d+", "N", reason))
        group = groups.get(key)
        if group is None:
            groups[key] = {
                "type": op.type,
                "f": op.f,
                "status": status,
                "reason": reason,
                "count": 1,
                "first_index": op.index,
                "body": body[:200],
            }
        else:
            group["count"] += 1
    ranked = sorted(groups.values(), key=lambda g: (-g["count"], g["first_index"] or 0))
    return ranked[:limit]


def first_traceback(log_text: str) -> str | None:
    """The first Python traceback in a log, up to and including its exception line."""
    lines = log_text.splitlines()
    for start, line in enumerate(lines):
        if TRACEBACK not in line:
            continue
        block = [line.strip()]
        for follow in lines[start + 1 :]:
            block.append(follow.rstrip())
            # The frames are indented; the first unindented line is the exception itself.
            if follow and not follow[0].isspace():
                break
        if len(block) > MAX_TRACEBACK_LINES:
            block = [*block[:3], "  ...", *block[-(MAX_TRACEBACK_LINES - 4) :]]
        return "\n".join(block)
    return None


def describe(group: Mapping[str, Any]) -> str:
    """One line for a group: ``1398 info vote: HTTP 500 "Internal Server Error" (body: ...)``."""
    status = f"HTTP {group['status']}" if group.get("status") is not None else "no reply"
    body = f" (body: {group['body'][:100]})" if group.get("body") else ""
    return f"{group['count']} {group['type']} {group['f']}: {status}, {group['reason']}{body}"


def summary(
    ops: Iterable[Op], log_text: str = "", final_read_error: str | None = None
) -> dict[str, Any]:
    """result.json's ``outcomes``: the groups, the target's first traceback, the final read."""
    return {
        "groups": breakdown(ops),
        "target_traceback": first_traceback(log_text) if log_text else None,
        "final_read_error": final_read_error,
    }


def lines(outcomes: Mapping[str, Any] | None) -> list[str]:
    """The breakdown as lines for the console and the report (empty when nothing went wrong)."""
    if not outcomes:
        return []
    out = [describe(g) for g in outcomes.get("groups") or ()]
    if outcomes.get("final_read_error"):
        out.append(f"final read: {outcomes['final_read_error']}")
    traceback = outcomes.get("target_traceback")
    if traceback:
        # The app's own frames and the exception are last; result.json keeps the rest.
        tail = str(traceback).splitlines()[-CONSOLE_TRACEBACK_LINES:]
        out.append("first traceback in the target's log (its end):\n" + "\n".join(tail))
    return out
