"""The checker on hand-built histories: every check, every verdict, the info cases."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.check.verdict import CheckResult, combine
from loadtests.history import History, Op


class Builder:
    """Builds histories by hand: each vote is an invoke and one completion."""

    def __init__(self) -> None:
        self.history = History("requests")
        self._ids = itertools.count()
        self.clock = 1_000_000_000

    def _tick(self) -> int:
        self.clock += 1_000_000
        return self.clock

    def vote(
        self,
        choice: str = "yes",
        outcome: str = "ok",
        count: int | None = None,
        pid: int | None = 100,
        resolution: int | None = 1,
        process: int = 0,
    ) -> Op:
        vote_id = f"v-{next(self._ids)}"
        inv = self.history.append(
            process, "invoke", "vote", {"choice": choice}, vote_id, self._tick()
        )
        if outcome == "ok":
            value: dict[str, Any] = {
                "choice": choice,
                "count": count,
                "pid": pid,
                "resolution_id": resolution,
            }
        else:
            status = 409 if outcome == "fail" else None
            value = {"choice": choice, "status": status, "error": "x", "pid": pid}
        return self.history.complete(inv, outcome, value, self._tick())  # type: ignore[arg-type]

    def votes(
        self, n: int, choice: str = "yes", start: int = 1, counted: bool = True, **kw: Any
    ) -> None:
        """n acknowledged votes, all in flight together (a run that could race)."""
        pid, resolution = kw.get("pid", 100), kw.get("resolution", 1)
        invs = [
            self.history.append(
                kw.get("process", 0),
                "invoke",
                "vote",
                {"choice": choice},
                f"v-{next(self._ids)}",
                self._tick(),
            )
            for _ in range(n)
        ]
        for i, inv in enumerate(invs):
            value = {
                "choice": choice,
                "count": start + i if counted else None,
                "pid": pid(i) if callable(pid) else pid,
                "resolution_id": resolution,
            }
            self.history.complete(inv, "ok", value, self._tick())

    def nemesis(self, f: str) -> None:
        inv = self.history.append("nemesis", "invoke", f, None, None, self._tick())
        self.history.complete(inv, "ok", {"pid": 1}, self._tick())

    def final(self, yes: int, no: int = 0, resolution: int | None = 1) -> FinalState:
        return FinalState({"yes": yes, "no": no}, resolution, self._tick() + 10, (100,))

    def check(self, final: FinalState, **settings: Any) -> Any:
        settings.setdefault("choices", ("yes", "no"))
        return check(self.history.ops(), final, CheckSettings(**settings))


def statuses(verdict: Any) -> dict[str, str]:
    return {c.name: c.status for c in verdict.checks}


def test_correct_history_passes_with_every_check_named() -> None:
    b = Builder()
    b.votes(5, "yes")
    b.votes(3, "no")
    verdict = b.check(b.final(5, 3))
    assert verdict.status == "PASS"
    assert verdict.as_expected
    assert statuses(verdict) == {
        "history-complete": "PASS",
        "well-formed": "PASS",
        "final-read": "PASS",
        "resolution": "PASS",
        "bounds": "PASS",
        "unique-counts": "PASS",
        "counts-within-final": "PASS",
        "split-state": "PASS",
        "concurrency": "PASS",
    }
    assert verdict.counts["yes"].to_dict() == {
        "ok": 5,
        "fail": 0,
        "info": 0,
        "final": 5,
        "lost": 0,
        "phantom": 0,
        "shortfall": 0,
        "overwritten": 0,
        "lower": 5,
        "upper": 5,
    }


def test_lost_votes_fail_with_duplicate_count_witnesses() -> None:
    b = Builder()
    b.vote(count=1, process=0)
    b.vote(count=2, process=1)
    b.vote(count=2, process=2)  # read 1 as well: one increment overwrote the other
    b.vote(count=3, process=0)
    verdict = b.check(b.final(3))
    assert verdict.status == "FAIL"
    assert verdict.lost == 1
    bounds = verdict.check("bounds")
    assert bounds.status == "FAIL"
    assert "1 acknowledged YES votes are missing" in bounds.detail
    dup = verdict.check("unique-counts")
    assert dup.status == "FAIL"
    [witness] = dup.witnesses
    assert witness["count"] == 2
    assert [v["process"] for v in witness["votes"]] == [1, 2]
    assert all(v["invoke_ns"] < v["complete_ns"] for v in witness["votes"])


def test_count_above_final_is_an_overwritten_increment() -> None:
    b = Builder()
    b.votes(4, "yes")
    verdict = b.check(b.final(3))
    assert verdict.check("counts-within-final").status == "FAIL"
    assert verdict.check("counts-within-final").witnesses[0]["count"] == 4


def test_timeouts_that_explain_a_low_tally_are_not_a_fail() -> None:
    b = Builder()
    b.votes(10, "yes")
    for _ in range(3):
        b.vote("yes", outcome="info")  # timed out: may or may not have counted
    # 10 ok + up to 3 info: a final of 12 is within bounds and loses nothing provable.
    verdict = b.check(b.final(12))
    assert verdict.status == "UNKNOWN"
    assert verdict.check("bounds").status == "UNKNOWN"
    assert "could be missing" in verdict.check("bounds").detail
    assert verdict.lost == 0


def test_info_ops_that_all_landed_prove_nothing_was_lost() -> None:
    b = Builder()
    b.votes(10, "yes")
    b.vote("yes", outcome="info")
    verdict = b.check(b.final(11))
    assert verdict.status == "PASS"


def test_failed_votes_are_not_expected_in_the_tally() -> None:
    b = Builder()
    b.votes(4, "yes")
    b.vote("yes", outcome="fail")
    verdict = b.check(b.final(4))
    assert verdict.status == "PASS"
    assert verdict.counts["yes"].fail == 1


def test_phantom_votes_fail() -> None:
    b = Builder()
    b.votes(2, "yes")
    verdict = b.check(b.final(5))
    assert verdict.status == "FAIL"
    assert verdict.phantom == 3
    assert "nobody sent" in verdict.check("bounds").detail


def test_missing_final_read_is_unknown_never_pass() -> None:
    b = Builder()
    b.votes(3)
    verdict = b.check(FinalState(None))
    assert verdict.status == "UNKNOWN"
    assert verdict.check("final-read").status == "UNKNOWN"
    assert verdict.check("bounds").status == "UNKNOWN"


def test_final_read_during_the_load_is_unknown() -> None:
    b = Builder()
    b.votes(3)
    early = FinalState({"yes": 3, "no": 0}, 1, time_ns=5, pids=(100,))
    assert b.check(early).check("final-read").status == "UNKNOWN"


def test_open_invocation_is_unknown() -> None:
    b = Builder()
    b.votes(2)
    b.history.append(3, "invoke", "vote", {"choice": "yes"}, "open-1", b._tick())
    verdict = b.check(b.final(2))
    assert verdict.check("history-complete").status == "UNKNOWN"
    assert verdict.status == "UNKNOWN"


def test_reused_vote_id_is_a_harness_error() -> None:
    b = Builder()
    ops = b.history
    for _ in range(2):
        inv = ops.append(0, "invoke", "vote", {"choice": "yes"}, "same", b._tick())
        ops.complete(
            inv,
            "ok",
            {"choice": "yes", "count": None, "pid": None, "resolution_id": None},
            b._tick(),
        )
    verdict = b.check(b.final(2))
    assert verdict.check("history-complete").status == "ERROR"
    assert verdict.status == "ERROR"


def test_split_state_between_processes_fails_never_passes() -> None:
    b = Builder()
    b.votes(3, pid=100)
    b.votes(3, pid=200)  # the second worker counts from 1 again
    verdict = b.check(b.final(3))
    split = verdict.check("split-state")
    assert split.status == "FAIL"
    assert "2 server processes answered" in split.detail
    assert {w["pid"] for w in split.witnesses} == {100, 200}
    # Equal counts in different processes are split state, not a race.
    assert verdict.check("unique-counts").status == "PASS"
    assert verdict.status == "FAIL"


def test_split_state_seen_only_in_refusals_fails() -> None:
    # Worker 200 never saw the round start, so it refuses every vote it gets:
    # the acknowledged votes alone look like one healthy process.
    b = Builder()
    b.votes(3, pid=100)
    for _ in range(2):
        b.vote("yes", outcome="fail", pid=200)
    verdict = b.check(b.final(3))
    split = verdict.check("split-state")
    assert split.status == "FAIL"
    assert {w["pid"] for w in split.witnesses} == {100, 200}
    assert verdict.status == "FAIL"
    assert verdict.reason == split.detail  # the root cause explains the verdict


def test_split_state_seen_only_in_the_final_read_fails_and_blames_no_race() -> None:
    # Every vote rode keep-alive connections to worker 100; the final read
    # reached worker 300, which never saw the round and reads 0.
    b = Builder()
    b.votes(4, pid=100)
    verdict = b.check(FinalState({"yes": 0, "no": 0}, None, b._tick() + 10, (300,)))
    assert verdict.status == "FAIL"
    split = verdict.check("split-state")
    assert split.status == "FAIL"
    assert {"pid": 300, "answered": "the final read"} in split.witnesses
    bounds = verdict.check("bounds")
    # The read names no round, so no vote of round 1 is proven missing from it.
    assert bounds.status == "UNKNOWN"
    assert "overwrote" not in bounds.detail
    assert verdict.check("counts-within-final").status == "SKIP"
    assert verdict.check("resolution").status == "UNKNOWN"
    assert verdict.reason.startswith("2 server processes answered")


def test_shared_state_across_processes_is_fine() -> None:
    b = Builder()
    b.votes(6, pid=lambda i: 100 + i % 2)
    verdict = b.check(b.final(6), shared_state=True)
    assert verdict.check("split-state").status == "PASS"
    assert verdict.status == "PASS"


def test_several_workers_without_pids_cannot_pass_split_state() -> None:
    b = Builder()
    b.votes(3, pid=None)
    no_pid = FinalState({"yes": 3, "no": 0}, 1, b._tick() + 10, ())
    verdict = b.check(no_pid, workers=2)
    assert verdict.check("split-state").status == "UNKNOWN"
    assert verdict.status == "UNKNOWN"


def test_restart_is_named_never_pass_and_never_blamed_on_a_race() -> None:
    b = Builder()
    b.votes(5, pid=100)
    b.nemesis("kill")
    b.nemesis("restart")
    b.votes(2, pid=300, resolution=2)  # a new process, a new round, counting from 1
    verdict = b.check(FinalState({"yes": 2, "no": 0}, 2, b._tick() + 10, (300,)))
    assert verdict.status == "UNKNOWN"
    restart = verdict.check("restart")
    assert restart.status == "UNKNOWN"
    assert "5 votes acknowledged before" in restart.detail
    # Counted per round: round 2 (the one read) holds both of its votes.
    assert verdict.check("bounds").status == "PASS"
    assert verdict.check("split-state").status == "PASS"
    assert verdict.check("unique-counts").status == "PASS"


def test_race_within_one_epoch_still_fails_after_a_restart() -> None:
    b = Builder()
    b.nemesis("kill")
    b.vote(count=1)
    b.vote(count=1, process=1)
    verdict = b.check(b.final(1))
    assert verdict.check("unique-counts").status == "FAIL"
    assert verdict.status == "FAIL"


def test_votes_to_another_resolution_are_unknown() -> None:
    b = Builder()
    b.votes(2, resolution=7)
    verdict = b.check(b.final(2, resolution=1))
    assert verdict.check("resolution").status == "UNKNOWN"


def test_target_without_counts_or_pids_skips_those_checks() -> None:
    b = Builder()
    b.votes(3, counted=False, pid=None, resolution=None)
    verdict = b.check(FinalState({"yes": 3, "no": 0}, None, b._tick() + 10))
    assert statuses(verdict)["unique-counts"] == "SKIP"
    assert statuses(verdict)["split-state"] == "SKIP"
    assert statuses(verdict)["resolution"] == "SKIP"
    assert verdict.status == "PASS"  # the bounds check is evidence enough


def test_missing_worker_counts_are_unknown_even_with_proof() -> None:
    b = Builder()
    b.vote(count=1)
    b.vote(count=1, process=1)
    verdict = b.check(b.final(1), gaps=("worker w2 sent no final counts",))
    assert verdict.status == "UNKNOWN"
    assert "w2" in verdict.reason
    assert verdict.check("evidence").status == "UNKNOWN"


def test_interruption_keeps_a_proven_fail() -> None:
    b = Builder()
    b.vote(count=1)
    b.vote(count=1, process=1)
    verdict = b.check(b.final(1), interrupted="SIGINT")
    assert verdict.status == "FAIL"
    clean = Builder()
    clean.votes(2)
    assert clean.check(clean.final(2), interrupted="SIGINT").status == "UNKNOWN"


@pytest.mark.parametrize(
    ("racy", "status", "as_expected"),
    [(True, "FAIL", True), (False, "UNKNOWN", False)],
)
def test_expect_violation(racy: bool, status: str, as_expected: bool) -> None:
    b = Builder()
    b.vote(count=1)
    b.vote(count=1 if racy else 2, process=1)
    verdict = b.check(b.final(1 if racy else 2), expect="violation")
    assert verdict.status == status
    assert verdict.as_expected is as_expected
    assert verdict.check("expectation").status == ("PASS" if racy else "UNKNOWN")
    if not racy:
        assert "not provoked" in verdict.reason


def test_expect_pass_fail_is_not_as_expected() -> None:
    b = Builder()
    b.vote(count=1)
    b.vote(count=1, process=1)
    verdict = b.check(b.final(1), expect="pass")
    assert verdict.status == "FAIL"
    assert not verdict.as_expected


def test_witnesses_are_capped_but_counted() -> None:
    b = Builder()
    for i in range(30):
        b.vote(count=1, process=i)
    dup = b.check(b.final(1)).check("unique-counts")
    assert len(dup.witnesses) == 20
    assert dup.to_dict()["witness_total"] == 29


def test_check_is_pure() -> None:
    b = Builder()
    b.votes(3)
    ops = b.history.ops()
    first = check(ops, b.final(3), CheckSettings(choices=("yes", "no")))
    second = check(ops, b.final(3), CheckSettings(choices=("yes", "no")))
    assert [c.to_dict() for c in first.checks] == [c.to_dict() for c in second.checks]


def test_choice_with_no_votes_still_reported() -> None:
    b = Builder()
    b.votes(2, "yes")
    verdict = b.check(b.final(2, 0))
    assert verdict.counts["no"].to_dict()["ok"] == 0
    assert verdict.status == "PASS"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([], "UNKNOWN"),
        (["SKIP", "SKIP"], "UNKNOWN"),
        (["PASS", "SKIP"], "PASS"),
        (["PASS", "UNKNOWN"], "UNKNOWN"),
        (["UNKNOWN", "ERROR"], "ERROR"),
        (["ERROR", "FAIL", "PASS"], "FAIL"),
    ],
)
def test_combine_orders_fail_error_unknown_pass(given: list[str], expected: str) -> None:
    assert combine(given) == expected


def test_check_result_round_trips() -> None:
    result = CheckResult("bounds", "FAIL", "lost", ({"choice": "yes"},), 3)
    assert CheckResult.from_dict(result.to_dict()) == result


def test_no_acknowledged_vote_is_unknown_not_pass() -> None:
    b = Builder()
    for _ in range(5):
        b.vote("yes", outcome="fail")
    verdict = b.check(b.final(0))
    assert verdict.check("bounds").status == "UNKNOWN"
    assert "nothing to lose" in verdict.check("bounds").detail
    assert verdict.status == "UNKNOWN"


def test_only_one_of_several_workers_answering_is_unknown() -> None:
    b = Builder()
    b.votes(3, pid=100)
    verdict = b.check(b.final(3), workers=2)
    split = verdict.check("split-state")
    assert split.status == "UNKNOWN"
    assert "only pid 100 answered" in split.detail
    assert verdict.status == "UNKNOWN"


def test_votes_that_never_overlapped_prove_nothing() -> None:
    # One client: each vote completes before the next is sent, so nothing could race.
    b = Builder()
    for i in range(5):
        b.vote(count=i + 1)
    verdict = b.check(b.final(5))
    assert statuses(verdict)["bounds"] == "PASS"
    assert statuses(verdict)["concurrency"] == "UNKNOWN"
    assert verdict.status == "UNKNOWN"
    assert "no two of the 5 votes were ever in flight at the same moment" in verdict.reason


def test_overlapping_votes_let_a_clean_tally_pass() -> None:
    b = Builder()
    b.votes(3)
    verdict = b.check(b.final(3))
    assert verdict.check("concurrency").detail == "up to 3 votes were in flight at the same moment"
    assert verdict.status == "PASS"
