"""The individual checks. Each turns what the scan collected into one CheckResult.

Details are written for a student reading the report: what was seen, in plain
words, and why it matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from loadtests.check.evidence import Evidence
from loadtests.check.model import CheckSettings, FinalState
from loadtests.check.respawn import pid_witnesses, respawned
from loadtests.check.scan import Scan
from loadtests.check.verdict import MAX_WITNESSES, CheckResult


def plural(n: int, word: str) -> str:
    """``1 vote``, ``2 votes``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def processes_by_epoch(scan: Scan, final: FinalState) -> dict[int, set[int]]:
    """Server pids that answered, per epoch (between restarts), the final read included.

    The final read counts: with several workers it may reach one that never saw
    a single vote, and that is exactly the split state this must reveal.
    """
    epochs = {epoch: set(pids) for epoch, pids in scan.pid_epochs.items()}
    if final.pids:
        epochs.setdefault(len(scan.restarts), set()).update(final.pids)
    return epochs


def is_split(scan: Scan, final: FinalState, settings: CheckSettings) -> bool:
    """Several processes with their own in-memory state answered within one epoch."""
    most = max((len(p) for p in processes_by_epoch(scan, final).values()), default=0)
    return most > 1 and not settings.shared_state


def history_complete(ev: Evidence) -> CheckResult:
    """Every invoke has exactly one completion; vote ids are unique."""
    scan = ev.scan
    if scan.duplicate_ids or scan.orphans:
        witnesses: list[Mapping[str, Any]] = [
            {"vote_id": v, "problem": "vote id used twice"} for v in scan.duplicate_ids
        ]
        witnesses += [{"op": o, "problem": "completion without an invoke"} for o in scan.orphans]
        return CheckResult(
            "history-complete",
            "ERROR",
            f"the history is inconsistent ({plural(len(scan.duplicate_ids), 'reused vote id')}, "
            f"{plural(len(scan.orphans), 'completion')} without an invoke): a harness bug",
            tuple(witnesses[:MAX_WITNESSES]),
            len(witnesses),
        )
    if scan.open:
        return CheckResult(
            "history-complete",
            "UNKNOWN",
            f"{plural(len(scan.open), 'operation')} never completed, so their outcome is unknown "
            "(each may have taken effect: they count in the upper bound from their invoke)",
            tuple({"process": p, "op": k} for p, k in list(scan.open)[:MAX_WITNESSES]),
            len(scan.open),
        )
    return CheckResult(
        "history-complete", "PASS", "every operation was invoked once and completed once"
    )


def evidence(ev: Evidence) -> CheckResult | None:
    """Gaps the harness knows of (e.g. a Locust worker whose final counts never arrived)."""
    settings = ev.settings
    if not settings.gaps:
        return None
    return CheckResult(
        "evidence",
        "UNKNOWN",
        f"evidence is missing: {'; '.join(settings.gaps)}",
        tuple({"gap": g} for g in settings.gaps),
    )


def final_read(ev: Evidence) -> CheckResult:
    """The final state was read, after every vote had completed."""
    scan, final = ev.scan, ev.final
    if ev.final_problems:
        return CheckResult("final-read", "SKIP", "the final tally was malformed (see well-formed)")
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
            "the final tally was read before the last vote completed: it is judged only "
            "against the votes acknowledged before it was read",
            ({"read_ns": final.time_ns, "last_vote_ns": scan.last_vote_ns},),
        )
    return CheckResult("final-read", "PASS", "the final tally was read after all load had stopped")


def resolution(ev: Evidence) -> CheckResult:
    """The acknowledged votes went to the resolution that was stopped and read."""
    scan, final = ev.scan, ev.final
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
            f"{final.resolution_id} was the one read at the end: those votes are not counted "
            "against it, and nothing read them",
            tuple(ack.witness() for ack in list(strays.values())[:MAX_WITNESSES]),
            len(strays),
        )
    return CheckResult(
        "resolution",
        "PASS",
        f"every acknowledged vote went to resolution {final.resolution_id}, "
        "the one read at the end",
    )


def split_state(ev: Evidence) -> CheckResult:
    """One process answered (or the state is declared shared, e.g. in SQLite)."""
    scan, settings, final = ev.scan, ev.settings, ev.final
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


def restart(ev: Evidence) -> CheckResult | None:
    """A restarted in-memory target lost its state: say so, never PASS."""
    scan, settings = ev.scan, ev.settings
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


# Recycled processes (apache's maximum_requests): a restart the harness did not cause;
# the successor starts with empty memory, under a new pid.
RECYCLE_BLIND = ("split-state", "bounds", "counts-within-final")


def recycled(ev: Evidence) -> CheckResult | None:
    """Server processes were recycled after N requests: name them, never PASS on memory."""
    scan, settings, final = ev.scan, ev.settings, ev.final
    pids = sorted(set().union(*processes_by_epoch(scan, final).values()))
    if not settings.recycle_after:
        return respawned(ev, pids)
    if len(pids) <= 1:
        return _unseen_recycle(ev, pids)
    if settings.shared_state:
        return CheckResult(
            "recycle",
            "PASS",
            f"server processes were recycled after {settings.recycle_after} requests "
            f"({len(pids)} pids answered) and the state lives outside their memory",
        )
    witnesses, shown = pid_witnesses(scan, pids)
    return CheckResult(
        "recycle",
        "UNKNOWN",
        f"server processes were recycled after {settings.recycle_after} requests "
        f"(maximum_requests): {len(pids)} pids answered ({shown}), and each new process "
        "started with empty memory, so the votes its predecessors held are gone and this "
        "run cannot judge thread safety from the tallies",
        witnesses,
        len(pids),
    )


def _unseen_recycle(ev: Evidence, pids: list[int]) -> CheckResult | None:
    """One pid or none seen, but the final read names no process: a recycle may be hidden.

    A process recycled after the last vote hands the final read to a successor with
    empty memory, and nothing in the history shows it unless the read says which
    process answered (a target file's reads carry no pid). A tally below the
    acknowledged votes then proves no race.
    """
    settings, final = ev.settings, ev.final
    if settings.shared_state or final.pids:
        return None
    seen = f" (pid {pids[0]} answered every vote)" if pids else ""
    return CheckResult(
        "recycle",
        "UNKNOWN",
        f"server processes are recycled after {settings.recycle_after} requests "
        f"(maximum_requests) and the final read does not say which process answered it"
        f"{seen}: a successor with empty memory may have answered it, so this run cannot "
        "judge thread safety from the final tally",
    )


def unproven_when_recycled(result: CheckResult) -> CheckResult:
    """A FAIL that recycling alone explains (another pid, a lower tally) proves nothing."""
    if result.name not in RECYCLE_BLIND or result.status != "FAIL":
        return result
    return replace(
        result,
        status="UNKNOWN",
        detail=f"{result.detail} (not proof: the server recycles its processes)",
    )


def interrupted(ev: Evidence) -> CheckResult | None:
    """The run was cut short; only what is already proven stands."""
    settings = ev.settings
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
