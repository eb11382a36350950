"""The individual checks. Each turns what the scan collected into one CheckResult.

Details are written for a student reading the report: what was seen, in plain
words, and why it matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loadtests.check.verdict import MAX_WITNESSES, CheckResult, ChoiceCounts, Status

if TYPE_CHECKING:
    from loadtests.check.checker import CheckSettings, FinalState, _Scan


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def processes_by_epoch(scan: _Scan, final: FinalState) -> dict[int, set[int]]:
    """Server pids that answered, per epoch (between restarts), the final read included.

    The final read counts: with several workers it may reach one that never saw
    a single vote, and that is exactly the split state this must reveal.
    """
    epochs = {epoch: set(pids) for epoch, pids in scan.pid_epochs.items()}
    if final.pids:
        epochs.setdefault(len(scan.restarts), set()).update(final.pids)
    return epochs


def is_split(scan: _Scan, final: FinalState, settings: CheckSettings) -> bool:
    """Several processes with their own in-memory state answered within one epoch."""
    most = max((len(p) for p in processes_by_epoch(scan, final).values()), default=0)
    return most > 1 and not settings.shared_state


def history_complete(scan: _Scan) -> CheckResult:
    """Every invoke has exactly one completion; vote ids are unique."""
    if scan.duplicate_ids or scan.orphans:
        witnesses: list[Mapping[str, Any]] = [
            {"vote_id": v, "problem": "vote id used twice"} for v in scan.duplicate_ids
        ]
        witnesses += [{"op": o, "problem": "completion without an invoke"} for o in scan.orphans]
        return CheckResult(
            "history-complete",
            "ERROR",
            f"the history is inconsistent ({_plural(len(scan.duplicate_ids), 'reused vote id')}, "
            f"{_plural(len(scan.orphans), 'completion')} without an invoke): a harness bug",
            tuple(witnesses[:MAX_WITNESSES]),
            len(witnesses),
        )
    if scan.open:
        return CheckResult(
            "history-complete",
            "UNKNOWN",
            f"{_plural(len(scan.open), 'operation')} never completed, so their outcome is unknown",
            tuple({"process": p, "op": k} for p, k in list(scan.open)[:MAX_WITNESSES]),
            len(scan.open),
        )
    return CheckResult(
        "history-complete", "PASS", "every operation was invoked once and completed once"
    )


def evidence(settings: CheckSettings) -> CheckResult | None:
    """Gaps the harness knows of (e.g. a Locust worker whose final counts never arrived)."""
    if not settings.gaps:
        return None
    return CheckResult(
        "evidence",
        "UNKNOWN",
        f"evidence is missing: {'; '.join(settings.gaps)}",
        tuple({"gap": g} for g in settings.gaps),
    )


def final_read(scan: _Scan, final: FinalState) -> CheckResult:
    """The final state was read, after every vote had completed."""
    if final.counts is None:
        return CheckResult(
            "final-read",
            "UNKNOWN",
            "the target's final tally could not be read, so lost votes cannot be ruled out",
        )
    if final.time_ns is not None and scan.last_vote_ns and final.time_ns < scan.last_vote_ns:
        return CheckResult(
            "final-read",
            "UNKNOWN",
            "the final tally was read before the last vote completed, so it may miss votes",
            ({"read_ns": final.time_ns, "last_vote_ns": scan.last_vote_ns},),
        )
    return CheckResult("final-read", "PASS", "the final tally was read after all load had stopped")


def resolution(scan: _Scan, final: FinalState) -> CheckResult:
    """The acknowledged votes went to the resolution that was stopped and read."""
    if not scan.resolutions:
        return CheckResult("resolution", "SKIP", "the target does not name its resolutions")
    if final.resolution_id is None:
        if final.counts is None:
            return CheckResult("resolution", "SKIP", "there was no final read")
        return CheckResult(
            "resolution",
            "UNKNOWN",
            f"votes were acknowledged for resolution(s) {sorted(scan.resolutions)} but the "
            "final read saw no resolution at all",
            tuple(ack.witness() for ack in list(scan.resolutions.values())[:MAX_WITNESSES]),
        )
    strays = {rid: ack for rid, ack in scan.resolutions.items() if rid != final.resolution_id}
    if strays:
        return CheckResult(
            "resolution",
            "UNKNOWN",
            f"votes were acknowledged for resolution(s) {sorted(strays)} but resolution "
            f"{final.resolution_id} was the one read at the end",
            tuple(ack.witness() for ack in list(strays.values())[:MAX_WITNESSES]),
            len(strays),
        )
    return CheckResult(
        "resolution",
        "PASS",
        f"every acknowledged vote went to resolution {final.resolution_id}, "
        "the one read at the end",
    )


def bounds(
    scan: _Scan, counts: Mapping[str, ChoiceCounts], final: FinalState, split: bool = False
) -> CheckResult:
    """Jepsen's counter check, per choice: ok <= final <= ok + info."""
    if final.counts is None:
        return CheckResult("bounds", "UNKNOWN", "no final tally to compare the votes against")
    witnesses = []
    lost_parts, phantom_parts, hidden_parts = [], [], []
    for choice, c in counts.items():
        row = {"choice": choice, **c.to_dict()}
        if c.final is None:
            hidden_parts.append(f"{choice}: not in the final tally")
            witnesses.append(row)
        elif c.lost:
            lost_parts.append(f"{c.lost} acknowledged {choice.upper()} votes")
            witnesses.append(row)
        elif c.phantom:
            phantom_parts.append(f"{c.phantom} {choice.upper()} votes nobody sent")
            witnesses.append(row)
        elif c.ok + c.info > c.final:
            hidden_parts.append(
                f"{choice}: {_plural(c.info, 'vote')} had unknown outcomes; up to "
                f"{c.ok + c.info - c.final} acknowledged ones could be missing behind them"
            )
            witnesses.append(row)
    if lost_parts:
        if scan.restarts:
            cause = "the target was restarted and lost its memory"
        elif split:
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
            f"{' and '.join(lost_parts)} are missing from the final tally: {cause}",
            tuple(witnesses),
        )
    if phantom_parts:
        return CheckResult(
            "bounds",
            "FAIL",
            f"the final tally holds {' and '.join(phantom_parts)} (more than every acknowledged "
            "and unknown vote together)",
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
            f"no vote was acknowledged ({_plural(refused, 'vote')} refused), so there was "
            "nothing to lose: the run proves nothing about thread safety",
            tuple({"choice": choice, **c.to_dict()} for choice, c in counts.items()),
        )
    unknown = sum(c.info for c in counts.values())
    if unknown:
        # Every unknown outcome must have landed for the tally to reach ok + info.
        detail = (
            f"the final tally equals the {total} acknowledged votes plus all "
            f"{_plural(unknown, 'vote')} whose outcome was unknown (so every one of them "
            "landed), choice by choice"
        )
    else:
        detail = f"the final tally equals the {total} acknowledged votes, choice by choice"
    return CheckResult("bounds", "PASS", detail)


def unique_counts(scan: _Scan, settings: CheckSettings | None = None) -> CheckResult:
    """No two acknowledged increments of one counter returned the same post-increment value."""
    if settings is not None and settings.reply == "reread" and scan.acks_with_count:
        # A handler that writes, then reads back for its reply, can return a count that another
        # thread wrote after it: equal counts with nothing lost. Only the bounds can prove it.
        return CheckResult(
            "unique-counts",
            "SKIP",
            'the target\'s replies re-read the counter after writing it (reply = "reread"), '
            "so two equal counts do not prove a lost update; the bounds check decides",
        )
    if scan.acks_with_count == 0:
        return CheckResult("unique-counts", "SKIP", "the target does not return the count it wrote")
    if scan.collision_total:
        witnesses = [
            {"count": a.count, "votes": [a.witness(), b.witness()]} for a, b in scan.collisions
        ]
        return CheckResult(
            "unique-counts",
            "FAIL",
            f"{_plural(scan.collision_total, 'acknowledged vote')} returned a count another vote "
            "had already returned: both read the same value and both wrote value+1, so one "
            "vote overwrote the other",
            tuple(witnesses),
            scan.collision_total,
        )
    return CheckResult(
        "unique-counts",
        "PASS",
        f"all {scan.acks_with_count} acknowledged votes returned distinct counts",
    )


def counts_within_final(scan: _Scan, final: FinalState, settings: CheckSettings) -> CheckResult:
    """No acknowledged vote returned a count above the final tally."""
    if scan.acks_with_count == 0 or final.counts is None:
        return CheckResult("counts-within-final", "SKIP", "no returned counts or no final tally")
    if scan.restarts or is_split(scan, final, settings):
        return CheckResult(
            "counts-within-final",
            "SKIP",
            "several processes kept their own counts, so one final tally cannot bound them",
        )
    if scan.above_final_total:
        return CheckResult(
            "counts-within-final",
            "FAIL",
            f"{_plural(scan.above_final_total, 'acknowledged vote')} returned a count above the "
            "final tally: the tally once reached that value, then was overwritten by a lower one",
            tuple(ack.witness() for ack in scan.above_final),
            scan.above_final_total,
        )
    return CheckResult(
        "counts-within-final", "PASS", "no acknowledged vote returned a count above the final tally"
    )


def split_state(scan: _Scan, settings: CheckSettings, final: FinalState) -> CheckResult:
    """One process answered (or the state is declared shared, e.g. in SQLite)."""
    epochs = processes_by_epoch(scan, final)
    most = max((len(p) for p in epochs.values()), default=0)
    if most == 0:
        if settings.workers is not None and settings.workers > 1 and not settings.shared_state:
            return CheckResult(
                "split-state",
                "UNKNOWN",
                f"{settings.workers} server processes ran but replies do not say which one "
                "answered, so split in-memory state cannot be ruled out",
            )
        return CheckResult("split-state", "SKIP", "replies do not say which process answered")
    pids = sorted(set().union(*epochs.values()))
    if most == 1:
        if settings.workers is not None and settings.workers > 1 and not settings.shared_state:
            return CheckResult(
                "split-state",
                "UNKNOWN",
                f"{settings.workers} server processes ran but only pid {pids[0]} answered: "
                "the others' in-memory tallies were never observed, so the state may be split",
            )
        if len(epochs) > 1:
            return CheckResult(
                "split-state",
                "PASS",
                f"one server process answered at a time ({len(pids)} across the restarts)",
            )
        return CheckResult("split-state", "PASS", "one server process answered every request")
    if settings.shared_state:
        return CheckResult(
            "split-state",
            "PASS",
            f"{len(pids)} server processes answered and share their state outside memory",
        )
    witnesses = [
        {"pid": pid, "vote": scan.pid_acks[pid].witness()}
        if pid in scan.pid_acks
        else {"pid": pid, "answered": "the final read"}
        for pid in pids[:MAX_WITNESSES]
    ]
    return CheckResult(
        "split-state",
        "FAIL",
        f"{len(pids)} server processes answered (pids {', '.join(map(str, pids))}): each keeps "
        "its own in-memory tally, so the votes are split between processes and no single "
        "tally is right",
        tuple(witnesses),
        len(pids),
    )


def restart(scan: _Scan, settings: CheckSettings) -> CheckResult | None:
    """A restarted in-memory target lost its state: say so, never PASS."""
    if not scan.restarts:
        return None
    when = ", ".join(str(op.time_ns) for op in scan.restarts[:5])
    witnesses = tuple(op.to_dict() for op in scan.restarts[:MAX_WITNESSES])
    if settings.shared_state:
        return CheckResult(
            "restart",
            "PASS",
            f"the target was restarted ({len(scan.restarts)} nemesis ops) and keeps its state "
            "outside memory",
            witnesses,
        )
    return CheckResult(
        "restart",
        "UNKNOWN",
        f"the target was killed and restarted (at {when}); the "
        f"{scan.acks_before_restart} votes acknowledged before that lived only in its memory "
        "and are gone, so this run cannot judge thread safety from the final tally",
        witnesses,
    )


def interrupted(settings: CheckSettings) -> CheckResult | None:
    """The run was cut short; only what is already proven stands."""
    if settings.interrupted is None:
        return None
    return CheckResult("interrupted", "UNKNOWN", f"the run was interrupted: {settings.interrupted}")


def expectation(status: str, expect: str | None) -> CheckResult | None:
    """With --expect violation, a PASS means the race was not provoked."""
    if expect != "violation":
        return None
    if status == "FAIL":
        return CheckResult(
            "expectation", "PASS", "a violation was expected, and the checker proved one"
        )
    return CheckResult(
        "expectation",
        "UNKNOWN",
        f"a violation was expected but the verdict was {status}: the race was not provoked "
        "(try more clients, more votes, --burst, or a larger race window)",
    )
