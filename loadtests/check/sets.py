"""Collections (Jepsen's set and set-full): every acknowledged add is there, once.

Each add carries a value of its own. After the load the collection is read back:
an acknowledged add whose value is missing was lost; a value present twice was
duplicated; a value nobody added (or whose add was refused) appeared from nowhere.
An add with an unknown outcome (info, or never completed) may or may not be there.
Reads during the run are held to the same rules for duplicates and strangers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from loadtests.check.checks import plural
from loadtests.check.evidence import Evidence
from loadtests.check.kinds import Done, done, still_open
from loadtests.check.verdict import MAX_WITNESSES, CheckResult, Status


class _Adds:
    """The adds of one collection, by element and outcome."""

    def __init__(self) -> None:
        self.ok: dict[str, Done] = {}
        self.unknown: set[str] = set()
        self.refused: dict[str, Done] = {}

    @property
    def everything(self) -> set[str]:
        return set(self.ok) | self.unknown | set(self.refused)


def _fold(ev: Evidence) -> dict[str, _Adds]:
    adds: dict[str, _Adds] = {}
    for item in done(ev, "add"):
        name, element = str(item.value.get("collection")), item.value.get("element")
        if element is None:
            continue
        entry = adds.setdefault(name, _Adds())
        if item.op.type == "ok":
            entry.ok[str(element)] = item
        elif item.op.type == "fail":
            entry.refused[str(element)] = item
        else:
            entry.unknown.add(str(element))
    for inv in still_open(ev, "add"):
        value = inv.value if isinstance(inv.value, Mapping) else {}
        if value.get("element") is not None:
            adds.setdefault(str(value.get("collection")), _Adds()).unknown.add(
                str(value["element"])
            )
    return adds


def _strangers(members: list[Any], adds: _Adds, where: str) -> list[dict[str, Any]]:
    """Duplicated members, members nobody added, members whose add was refused."""
    rows: list[dict[str, Any]] = []
    added = adds.everything
    for element, times in Counter(str(m) for m in members).items():
        if times > 1:
            rows.append({"element": element, "problem": f"present {times} times", "in": where})
        if element not in added:
            rows.append({"element": element, "problem": "nobody added it", "in": where})
        elif element in adds.refused and element not in adds.ok and element not in adds.unknown:
            rows.append(
                adds.refused[element].witness(problem="its add was refused, yet it is present")
                | {"in": where}
            )
    return rows


def collections(ev: Evidence) -> CheckResult | None:
    """Every acknowledged add in the final read, exactly once; nothing nobody added."""
    adds = _fold(ev)
    if not adds:
        return None
    final = ev.final
    found = final.collections if isinstance(final.collections, Mapping) else {}
    if final.counts is None and not found:
        return CheckResult(
            "collections", "UNKNOWN", "no final read of the collections to compare the adds to"
        )
    witnesses: list[dict[str, Any]] = []
    lost_parts, odd_parts, passed = [], [], []
    for name, entry in sorted(adds.items()):
        if name not in found:
            continue  # a collection without a read (only its ids are checked)
        members = found[name]
        if not isinstance(members, list):
            return CheckResult(
                "collections", "ERROR", f"the final read of {name!r} is not a list: {members!r}"
            )
        present = {str(m) for m in members}
        lost = [item for element, item in entry.ok.items() if element not in present]
        if lost:
            lost_parts.append(
                f"{len(lost)} of {len(entry.ok)} acknowledged adds missing from {name!r}"
            )
            witnesses += [item.witness(problem="acknowledged, then lost") for item in lost]
        strangers = _strangers(members, entry, "final read")
        for read in done(ev, "read"):
            seen = read.value.get("collections")
            ours = seen.get(name) if isinstance(seen, Mapping) else None
            if read.op.type == "ok" and isinstance(ours, list) and read.op.process != "harness":
                strangers += _strangers(ours, entry, f"read op {read.op.index}")
        if strangers:
            dup = sum(1 for s in strangers if str(s["problem"]).startswith("present"))
            odd_parts.append(
                f"{name!r} holds {plural(dup, 'duplicated value')} and "
                f"{plural(len(strangers) - dup, 'value')} nobody added"
            )
            witnesses += strangers
        landed = len(entry.unknown & present)
        passed.append(
            f"all {len(entry.ok)} acknowledged adds are in {name!r} once"
            + (f" ({landed} of {len(entry.unknown)} unknown adds landed)" if entry.unknown else "")
        )
    if not passed:
        return None
    status: Status = "FAIL" if lost_parts or odd_parts else "PASS"
    if status == "PASS" and not any(entry.ok for entry in adds.values()):
        return CheckResult(
            "collections",
            "UNKNOWN",
            "no add was acknowledged, so there was nothing to lose: the run proves nothing",
        )
    detail = "; ".join(lost_parts + odd_parts) if status == "FAIL" else "; ".join(passed)
    if lost_parts:
        detail += " (each was acknowledged before the final read began)"
    return CheckResult(
        "collections", status, detail, tuple(witnesses[:MAX_WITNESSES]), len(witnesses)
    )
