"""The counter checks (after Jepsen's ``counter``): every read within its bounds.

A read is judged against ``lower`` (votes acknowledged before it was invoked)
and ``upper`` (votes invoked before it completed and not definitely failed), in
its own round. Below lower is a proven lost update; above upper, votes nobody
sent. Everything else, however odd, proves nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadtests.check.checks import is_split, plural
from loadtests.check.evidence import Evidence, count_problem
from loadtests.check.verdict import MAX_WITNESSES, CheckResult, Status


def well_formed(ev: Evidence) -> CheckResult:
    """Every count the target returned (votes, reads, the final tally) is a count."""
    scan = ev.scan
    witnesses = list(scan.malformed)
    total = scan.malformed_total
    for seen in scan.reads:
        read = seen.op
        problem = _read_problem(read.value)
        if problem is not None:
            total += 1
            if len(witnesses) < MAX_WITNESSES:
                witnesses.append({"index": read.index, "process": read.process, **problem})
    witnesses += ev.final_problems
    total += len(ev.final_problems)
    if total:
        first = witnesses[0]
        where = f"op {first['index']}" if "index" in first else "the final read"
        return CheckResult(
            "well-formed",
            "ERROR",
            f"the target returned {plural(total, 'malformed value')} where counts belong "
            f"(first: {where}, field {first['field']}: {first['problem']}); malformed "
            "evidence proves nothing either way",
            tuple(witnesses[:MAX_WITNESSES]),
            total,
        )
    return CheckResult("well-formed", "PASS", "every returned count is a non-negative integer")


def _read_problem(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return {"field": "value", "value": repr(value)[:80], "problem": "not an object"}
    counts = value.get("counts")
    if not isinstance(counts, Mapping):
        return {"field": "counts", "value": repr(counts)[:80], "problem": "not an object"}
    for name, count in counts.items():
        problem = count_problem(count)
        if problem is not None:
            return {"field": f"counts.{name}", "value": repr(count)[:80], "problem": problem}
    rid = value.get("resolution_id")
    if rid is not None and type(rid) is not int:
        return {"field": "resolution_id", "value": repr(rid)[:80], "problem": "not an integer"}
    return None


def bounds(ev: Evidence) -> CheckResult:
    """Jepsen's counter check on the final read, per choice: lower <= final <= upper."""
    final, counts, scan = ev.final, ev.counts, ev.scan
    if final.counts is None:
        return CheckResult("bounds", "UNKNOWN", "no final tally to compare the votes against")
    witnesses = []
    lost_parts, phantom_parts, hidden_parts = [], [], []
    for choice, c in counts.items():
        row = {"choice": choice, **c.to_dict()}
        upper = c.ok + c.info if c.upper is None else c.upper
        if c.final is None:
            hidden_parts.append(f"{choice}: not in the final tally")
            witnesses.append(row)
        elif c.shortfall:
            lost_parts.append(f"{c.shortfall} acknowledged {choice.upper()} votes")
            witnesses.append(row)
        elif c.phantom:
            phantom_parts.append(f"{c.phantom} {choice.upper()} votes nobody sent")
            witnesses.append(row)
        elif upper > c.final:
            hidden_parts.append(
                f"{choice}: {plural(upper - (c.ok if c.lower is None else c.lower), 'vote')} "
                f"had unknown outcomes or overlapped the read; up to {upper - c.final} "
                "acknowledged ones could be missing behind them"
            )
            witnesses.append(row)
    if lost_parts:
        if scan.restarts:
            cause = "the target was restarted and lost its memory"
        elif is_split(scan, final, ev.settings):
            cause = (
                "several server processes each kept their own tally, and the final read "
                "saw only one of them"
            )
        else:
            cause = "concurrent increments overwrote each other"
        status: Status = "UNKNOWN" if scan.restarts else "FAIL"
        return CheckResult(
            "bounds",
            status,
            f"{' and '.join(lost_parts)} are missing from the final tally (each was "
            f"acknowledged before the final read began): {cause}",
            tuple(witnesses),
        )
    if phantom_parts:
        return CheckResult(
            "bounds",
            "FAIL",
            f"the final tally holds {' and '.join(phantom_parts)} (more than every acknowledged, "
            "unknown and unfinished vote of its round together)",
            tuple(witnesses),
        )
    if hidden_parts:
        return CheckResult("bounds", "UNKNOWN", "; ".join(hidden_parts), tuple(witnesses))
    total = sum(c.ok for c in counts.values())
    if total == 0:
        refused = sum(c.fail for c in counts.values())
        return CheckResult(
            "bounds",
            "UNKNOWN",
            f"no vote was acknowledged ({plural(refused, 'vote')} refused), so there was "
            "nothing to lose: the run proves nothing about thread safety",
            tuple({"choice": choice, **c.to_dict()} for choice, c in counts.items()),
        )
    unknown = sum(c.info for c in counts.values())
    if unknown:
        # Every unknown outcome must have landed for the tally to reach ok + info.
        detail = (
            f"the final tally equals the {total} acknowledged votes plus all "
            f"{plural(unknown, 'vote')} whose outcome was unknown (so every one of them "
            "landed), choice by choice"
        )
    else:
        detail = f"the final tally equals the {total} acknowledged votes, choice by choice"
    return CheckResult("bounds", "PASS", detail)


def reads(ev: Evidence) -> CheckResult | None:
    """Every ok read taken during the run lies within its bounds (Jepsen's counter)."""
    scan = ev.scan
    if not scan.reads:
        return None
    if scan.restarts and not ev.settings.shared_state:
        return CheckResult(
            "reads", "SKIP", "the target was restarted: its counters started again from zero"
        )
    if is_split(scan, ev.final, ev.settings):
        return CheckResult(
            "reads", "SKIP", "several processes kept their own counts: no read sees them all"
        )
    below: list[dict[str, Any]] = []
    above: list[dict[str, Any]] = []
    checked = 0
    for seen in scan.reads:
        read = seen.op
        if _read_problem(read.value) is not None:
            continue  # well-formed reports it
        checked += 1
        for choice, raw in read.value["counts"].items():
            value = raw - (ev.final.baseline or {}).get(str(choice), 0)  # the load's share
            lower, upper = ev.bounds.read(seen, str(choice))
            witness = {
                "index": read.index,
                "process": read.process,
                "invoke_ns": seen.invoke_ns,
                "complete_ns": read.time_ns,
                "choice": choice,
                "read": value,
                "lower": lower,
                "upper": upper,
                "resolution_id": read.value.get("resolution_id"),
            }
            if value < lower:
                recent = range(max(0, seen.last_slot - 5), seen.last_slot)
                below.append(
                    {
                        **witness,
                        "acknowledged_before_the_read": lower,
                        "last_votes_acknowledged_before_it": [
                            _slot_witness(scan.store.get(slot)) for slot in recent
                        ],
                    }
                )
            elif value > upper:
                above.append(witness)
    if below:
        return CheckResult(
            "reads",
            "FAIL",
            f"{plural(len({w['index'] for w in below}), 'read')} during the run saw fewer votes "
            f"of a counter than had already been acknowledged before the read began ("
            f"{plural(len(below), 'counter value')}; first: read {below[0]['read']} of "
            f"{below[0]['choice']}, at least {below[0]['lower']} acknowledged): lost updates, "
            "even if a later tally hides them",
            tuple(below[:MAX_WITNESSES]),
            len(below),
        )
    if above:
        return CheckResult(
            "reads",
            "FAIL",
            f"{plural(len({w['index'] for w in above}), 'read')} during the run saw more votes "
            "than had been sent "
            f"by the time it completed (first: read {above[0]['read']} of {above[0]['choice']}, "
            f"at most {above[0]['upper']} possible)",
            tuple(above[:MAX_WITNESSES]),
            len(above),
        )
    if not checked:
        return CheckResult("reads", "SKIP", "no read during the run was well formed")
    return CheckResult(
        "reads",
        "PASS",
        f"all {plural(checked, 'read')} taken during the run lay within their bounds "
        "(every vote acknowledged before each began, none that was not yet sent)",
    )


def _slot_witness(stored: tuple[Any, Any, Any, Any, Any]) -> dict[str, Any]:
    vote_id, process, pid, invoke_ns, complete_ns = stored
    return {
        "vote_id": vote_id,
        "process": process,
        "pid": pid,
        "invoke_ns": invoke_ns,
        "complete_ns": complete_ns,
    }


def unique_counts(ev: Evidence) -> CheckResult:
    """No two acknowledged increments of one counter returned the same post-increment value."""
    scan = ev.scan
    if scan.acks_with_count == 0:
        return CheckResult("unique-counts", "SKIP", "the target does not return the count it wrote")
    if ev.settings.reply == "reread":
        # A handler that writes, then reads back for its reply, can return a count another
        # thread wrote after it: equal counts with nothing lost. Only the bounds can prove it.
        return CheckResult(
            "unique-counts",
            "SKIP",
            'the target\'s replies re-read the counter after writing it (reply = "reread"), '
            "so two equal counts do not prove a lost update; the bounds check decides",
        )
    if scan.collision_total:
        witnesses = [
            # The choice too: a report groups and labels collisions without the history.
            {"count": a.count, "choice": choice, "votes": [a.witness(), b.witness()]}
            for (a, b), choice in zip(scan.collisions, scan.collision_choices, strict=True)
        ]
        return CheckResult(
            "unique-counts",
            "FAIL",
            f"{plural(scan.collision_total, 'acknowledged vote')} returned a count another vote "
            "of the same counter, round and server process had already returned: both read "
            "the same value and both wrote value+1, so one vote overwrote the other",
            tuple(witnesses),
            scan.collision_total,
        )
    return CheckResult(
        "unique-counts",
        "PASS",
        f"all {scan.acks_with_count} acknowledged votes returned distinct counts (compared "
        "within one server process and one round)",
    )


def counts_within_final(ev: Evidence) -> CheckResult:
    """No acknowledged vote returned a count above the final tally."""
    scan, final = ev.scan, ev.final
    if scan.acks_with_count == 0 or final.counts is None:
        return CheckResult("counts-within-final", "SKIP", "no returned counts or no final tally")
    if scan.restarts or is_split(scan, final, ev.settings):
        return CheckResult(
            "counts-within-final",
            "SKIP",
            "several processes kept their own counts, so one final tally cannot bound them",
        )
    if scan.above_final_total:
        return CheckResult(
            "counts-within-final",
            "FAIL",
            f"{plural(scan.above_final_total, 'acknowledged vote')} returned a count above the "
            "final tally: the tally once reached that value, then was overwritten by a lower one",
            tuple(ack.witness() for ack in scan.above_final),
            scan.above_final_total,
        )
    return CheckResult(
        "counts-within-final", "PASS", "no acknowledged vote returned a count above the final tally"
    )
