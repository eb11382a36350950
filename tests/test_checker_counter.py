"""Jepsen's counter semantics: open votes, reads overlapping votes, reads during the run, rounds.

Times are in ms; each case says which order of invoke and completion it tests.
"""

from __future__ import annotations

import pytest
from support.histories import Timed, final, judge


def statuses(verdict: object) -> dict[str, str]:
    return {c.name: c.status for c in verdict.checks}  # type: ignore[attr-defined]


def acked(n: int, start: int = 0) -> Timed:
    """n votes of yes, one every 10 ms, each 15 ms long (so they overlap), counts 1..n."""
    t = Timed()
    for i in range(n):
        t.vote(i, f"v{i}", "yes", start + 10 * i, start + 10 * i + 15, count=i + 1)
    return t


# --- open votes (invoked, never completed) ----------------------------------------------


def test_an_open_vote_that_landed_is_not_a_phantom() -> None:
    # Jepsen's counter "incomplete history": the add may have happened.
    t = acked(2)
    t.invoke(9, "open", "yes", 50)
    verdict = judge(t, final({"yes": 3}))
    assert verdict.status != "FAIL"
    assert verdict.check("bounds").status == "PASS"
    assert verdict.check("history-complete").status == "UNKNOWN"
    assert verdict.counts["yes"].upper == 3 and verdict.counts["yes"].phantom == 0


def test_an_open_vote_that_did_not_land_is_unknown_not_a_loss() -> None:
    t = acked(2)
    t.invoke(9, "open", "yes", 50)
    verdict = judge(t, final({"yes": 2}))
    assert verdict.status == "UNKNOWN"
    assert verdict.check("bounds").status == "UNKNOWN"
    assert verdict.lost == 0


def test_a_tally_above_every_open_and_acknowledged_vote_is_a_phantom() -> None:
    t = acked(2)
    t.invoke(9, "open", "yes", 50)
    verdict = judge(t, final({"yes": 4}))
    assert verdict.status == "FAIL"
    assert verdict.check("bounds").status == "FAIL"
    assert verdict.counts["yes"].phantom == 1


def test_an_info_vote_counts_in_the_upper_bound_and_is_never_lost() -> None:
    t = acked(2)
    t.invoke(9, "slow", "yes", 50)
    t.outcome(9, "slow", "yes", 60, "info")
    assert judge(t, final({"yes": 3})).check("bounds").status == "PASS"
    lower = judge(t, final({"yes": 2}))
    assert lower.status == "UNKNOWN" and lower.lost == 0


def test_a_failed_vote_raises_no_bound() -> None:
    t = acked(2)
    t.invoke(9, "refused", "yes", 50)
    t.outcome(9, "refused", "yes", 60, "fail")
    verdict = judge(t, final({"yes": 3}))
    assert verdict.check("bounds").status == "FAIL"
    assert verdict.counts["yes"].phantom == 1


# --- the final read overlapping votes ---------------------------------------------------


def test_final_read_invoked_before_late_acks_is_bounded_by_acks_before_it() -> None:
    t = acked(2)  # acknowledged by 15 ms
    t.vote(5, "late", "yes", 20, 200, count=3)  # acknowledged after the read began
    verdict = judge(t, final({"yes": 2}, read_ms=100))
    assert verdict.status != "FAIL"
    assert verdict.check("bounds").status != "FAIL"
    assert verdict.counts["yes"].lower == 2
    assert verdict.check("final-read").status == "UNKNOWN"


def test_final_read_missing_a_vote_acknowledged_before_it_began_fails() -> None:
    t = acked(3)
    t.vote(5, "late", "yes", 20, 200, count=4)
    verdict = judge(t, final({"yes": 2}, read_ms=100))
    assert verdict.status == "FAIL"
    bounds = verdict.check("bounds")
    assert bounds.status == "FAIL"
    assert verdict.counts["yes"].shortfall == 1
    assert "1 acknowledged YES votes are missing" in bounds.detail


# --- reads during the run, in every order against one vote ------------------------------

# (vote invoke, vote ok, read invoke, read ok, value read, status of the reads check)
ORDERS = [
    (0, 10, 20, 30, 1, "PASS"),  # vote entirely before the read: must be seen
    (0, 10, 20, 30, 0, "FAIL"),  # ... and missing it is a lost update
    (0, 25, 20, 30, 0, "PASS"),  # vote overlaps the read's start: either value
    (0, 25, 20, 30, 1, "PASS"),
    (22, 28, 20, 30, 0, "PASS"),  # vote inside the read: either value
    (22, 28, 20, 30, 1, "PASS"),
    (22, 40, 20, 30, 1, "PASS"),  # vote overlaps the read's end: either value
    (22, 40, 20, 30, 0, "PASS"),
    (35, 40, 20, 30, 0, "PASS"),  # vote after the read: cannot be seen
    (35, 40, 20, 30, 1, "FAIL"),  # ... and seeing it is a phantom
]


@pytest.mark.parametrize(("v0", "v1", "r0", "r1", "seen", "expected"), ORDERS)
def test_a_read_against_one_vote_in_every_order(
    v0: int, v1: int, r0: int, r1: int, seen: int, expected: str
) -> None:
    t = Timed()
    t.vote(0, "v", "yes", v0, v1, count=1)
    t.read("reader", r0, r1, {"yes": seen})
    verdict = judge(t, final({"yes": 1}))
    assert verdict.check("reads").status == expected
    assert verdict.check("bounds").status == "PASS"
    # One vote alone cannot race: a run of it proves nothing (concurrency is UNKNOWN).
    assert verdict.status == ("UNKNOWN" if expected == "PASS" else expected)


def test_interleaved_read_below_its_lower_bound_fails_though_the_final_read_is_fine() -> None:
    # Jepsen's counter test: a read of 100 mid-run after 200 acknowledged adds is invalid.
    t = acked(5)  # acknowledged by 45 ms
    t.read("reader", 100, 110, {"yes": 2})
    verdict = judge(t, final({"yes": 5}))
    assert verdict.check("bounds").status == "PASS"
    reads = verdict.check("reads")
    assert reads.status == "FAIL"
    assert verdict.status == "FAIL"
    [witness] = reads.witnesses
    assert (witness["read"], witness["lower"], witness["upper"]) == (2, 5, 5)
    assert witness["acknowledged_before_the_read"] == 5
    assert witness["last_votes_acknowledged_before_it"]  # acks it should have seen
    assert "even if a later tally hides them" in reads.detail


def test_reads_within_their_bounds_pass() -> None:
    t = acked(5)
    t.read("reader", 12, 18, {"yes": 1})  # v0 acknowledged at 15, v1 open from 10
    t.read("reader", 26, 27, {"yes": 3})
    t.read("reader", 100, 101, {"yes": 5})
    verdict = judge(t, final({"yes": 5}))
    assert verdict.check("reads").status == "PASS"
    assert verdict.status == "PASS"


def test_the_harness_final_read_in_the_history_is_judged_once_by_bounds() -> None:
    t = acked(2)
    t.read("harness", 100, 110, {"yes": 1})
    verdict = judge(t, final({"yes": 1}, read_ms=100))
    assert "reads" not in statuses(verdict)
    assert verdict.check("bounds").status == "FAIL"


# --- rounds -----------------------------------------------------------------------------


def test_votes_of_another_round_are_never_evidence_of_a_loss_in_this_one() -> None:
    t = Timed()
    for i in range(5):  # round 1, counts 1..5
        t.vote(i, f"a{i}", "yes", 10 * i, 10 * i + 5, count=i + 1, resolution_id=1)
    for i in range(2):  # round 2 starts again from 1: equal counts, another round
        t.vote(i, f"b{i}", "yes", 100 + 10 * i, 105 + 10 * i, count=i + 1, resolution_id=2)
    verdict = judge(t, final({"yes": 2}, resolution_id=2))
    assert verdict.status == "UNKNOWN"
    assert statuses(verdict)["bounds"] == "PASS"
    assert statuses(verdict)["unique-counts"] == "PASS"
    assert statuses(verdict)["counts-within-final"] == "PASS"  # counts 3..5 were round 1's
    assert statuses(verdict)["resolution"] == "UNKNOWN"


def test_a_loss_within_the_round_read_still_fails() -> None:
    t = Timed()
    t.vote(0, "a0", "yes", 0, 5, count=1, resolution_id=1)
    for i in range(3):
        t.vote(i, f"b{i}", "yes", 100 + 10 * i, 105 + 10 * i, count=min(i + 1, 2), resolution_id=2)
    verdict = judge(t, final({"yes": 2}, resolution_id=2))
    assert verdict.status == "FAIL"
    assert verdict.counts["yes"].shortfall == 1
    assert verdict.counts["yes"].overwritten == 1


def test_a_read_during_the_run_is_compared_within_its_own_round() -> None:
    t = Timed()
    t.vote(0, "a0", "yes", 0, 5, count=1, resolution_id=1)
    t.vote(0, "a1", "yes", 10, 15, count=2, resolution_id=1)
    t.vote(1, "b0", "yes", 30, 35, count=1, resolution_id=2)
    t.read("reader", 50, 60, {"yes": 1}, resolution_id=2)
    verdict = judge(t, final({"yes": 1}, resolution_id=2))
    assert verdict.check("reads").status == "PASS"


# --- undeclared counters ----------------------------------------------------------------


def test_votes_on_a_counter_nobody_voted_on_are_phantoms() -> None:
    t = acked(2)
    verdict = judge(t, final({"yes": 2, "maybe": 3}), choices=("yes", "no"))
    assert verdict.status == "FAIL"
    bounds = verdict.check("bounds")
    assert bounds.status == "FAIL"
    assert any(w["choice"] == "maybe" for w in bounds.witnesses)
    assert verdict.counts["maybe"].phantom == 3
    assert verdict.phantom == 3


def test_a_zero_on_an_undeclared_counter_is_fine() -> None:
    verdict = judge(acked(2), final({"yes": 2, "maybe": 0}))
    assert verdict.status == "PASS"


# --- honest numbers ---------------------------------------------------------------------


def test_phantoms_never_cancel_proven_losses() -> None:
    # Two votes share count 2 (one overwritten), and the final tally is not short:
    # a net acked - final would say 0 lost next to the duplicate-count witness.
    t = Timed()
    t.vote(0, "v0", "yes", 0, 5, count=1)
    t.vote(1, "v1", "yes", 10, 15, count=2)
    t.vote(2, "v2", "yes", 11, 16, count=2)
    t.invoke(3, "open", "yes", 20)
    verdict = judge(t, final({"yes": 3}))
    assert verdict.status == "FAIL"
    yes = verdict.counts["yes"]
    assert (yes.shortfall, yes.overwritten, yes.lost) == (0, 1, 1)
    assert verdict.lost == 1


def test_a_pass_is_explained_by_the_bounds() -> None:
    verdict = judge(acked(3), final({"yes": 3}))
    assert verdict.status == "PASS"
    assert verdict.reason == verdict.check("bounds").detail
