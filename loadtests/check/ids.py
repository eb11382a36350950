"""Unique ids (Jepsen's unique-ids): acknowledged creates get ids no other create got."""

from __future__ import annotations

from typing import Any

from loadtests.check.checks import plural
from loadtests.check.evidence import Evidence
from loadtests.check.kinds import Done, done
from loadtests.check.verdict import MAX_WITNESSES, CheckResult


def unique_ids(ev: Evidence) -> CheckResult | None:
    """Two acknowledged creates that were handed the same id collided."""
    by_id: dict[str, list[Done]] = {}
    for item in done(ev, "add"):
        if item.op.type == "ok" and "id" in item.value:
            by_id.setdefault(str(item.value["id"]), []).append(item)
    if not by_id:
        return None
    creates = sum(len(items) for items in by_id.values())
    shared = {key: items for key, items in by_id.items() if len(items) > 1}
    if not shared:
        return CheckResult(
            "unique-ids", "PASS", f"the {creates} acknowledged creates got {creates} distinct ids"
        )
    witnesses: list[dict[str, Any]] = []
    for key, items in shared.items():
        witnesses += [item.witness(shared_id=key, creates=len(items)) for item in items]
    colliding = sum(len(items) for items in shared.values())
    return CheckResult(
        "unique-ids",
        "FAIL",
        f"{colliding} of {creates} acknowledged creates share {plural(len(shared), 'id')} "
        f"({len(by_id)} distinct ids in all): concurrent creates were handed the same id",
        tuple(witnesses[:MAX_WITNESSES]),
        len(witnesses),
    )
