"""Per-request isolation: each reply carries its own request's value and no other's.

An app that keeps per-request data in a shared variable (``global req; req =
request.form``) answers one request with another's data under load. Each op sends a
value of its own (``{op_id}``); the reply's echo is extracted. Another op's value
in a reply is a leak, with both ops as witnesses; a 2xx reply with no op's value at
all did not carry its own either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadtests.check.checks import plural
from loadtests.check.evidence import Evidence
from loadtests.check.kinds import EXTRA_FS, Done, done
from loadtests.check.verdict import MAX_WITNESSES, CheckResult


def expected(op_value: Any, op_id: str | None) -> str | None:
    """The value an op sent and must see again: its echo value, its element, or its id."""
    value = op_value if isinstance(op_value, Mapping) else {}
    for key in ("expect", "element"):
        if value.get(key) is not None:
            return str(value[key])
    return op_id


def echo(ev: Evidence) -> CheckResult | None:
    """Every reply that echoes carries its own op's value, never another op's."""
    echoed: list[Done] = []
    owners: dict[str, Done | None] = {}
    for f in sorted(EXTRA_FS):
        for item in done(ev, f):
            own = expected(item.op.value, item.op.vote_id)
            if own is not None:
                owners[own] = item
            if "echo" in item.value:
                echoed.append(item)
    if not echoed:
        return None
    leaks: list[dict[str, Any]] = []
    blanks: list[dict[str, Any]] = []
    for item in echoed:
        own, got = expected(item.op.value, item.op.vote_id), item.value.get("echo")
        if got == own:
            continue
        owner = owners.get(str(got)) if got is not None else None
        if owner is not None:
            leaks.append(
                item.witness(expected=own, problem="carries another request's value")
                | {"owner": owner.witness()}
            )
        else:
            blanks.append(item.witness(expected=own, problem="carries no request's value"))
    if not leaks and not blanks:
        return CheckResult(
            "echo",
            "PASS",
            f"each of the {len(echoed)} replies carried its own request's value",
        )
    parts = []
    if leaks:
        parts.append(
            f"{len(leaks)} of {len(echoed)} replies carried another request's value: "
            "per-request data leaked between concurrent requests (a shared variable?)"
        )
    if blanks:
        parts.append(f"{plural(len(blanks), 'reply')} carried no request's value at all")
    witnesses = leaks + blanks
    return CheckResult(
        "echo", "FAIL", "; ".join(parts), tuple(witnesses[:MAX_WITNESSES]), len(witnesses)
    )
