"""The live Tally: reads judged between Jepsen's bounds, collisions as they arrive."""

from __future__ import annotations

from pathlib import Path

from loadtests.history import Op
from loadtests.swarm.accounting import MasterLedger, WorkerLedger
from loadtests.swarm.live import CollisionWatch, LiveView, Peek, merge_collisions
from loadtests.swarm.tally import tally_rows


def ack(vote_id: str, count: int, choice: str = "yes", pid: int = 7) -> Op:
    value = {"choice": choice, "count": count, "pid": pid, "resolution_id": 1}
    return Op(0, "w0/u0", "ok", "vote", value, 0, vote_id)


def test_a_tally_below_the_acks_before_the_read_is_a_proven_loss() -> None:
    peek = Peek(2.0, {"yes": 8, "no": 5}, {"yes": 10, "no": 5}, {"yes": 12, "no": 6})
    assert (peek.lost("yes"), peek.lost("no")) == (2, 0)
    assert peek.point() == {"t": 2.0, "acked": 15, "tally": 13, "lost": 2}
    view = LiveView()
    view.add(peek)
    [yes, no] = tally_rows(view, None, state="running")
    assert (yes["status"], yes["tone"], yes["difference"], yes["lost"]) == ("LOST", "bad", -2, 2)
    assert no["tone"] == "" and no["status"] == "running"


def test_a_tally_ahead_of_the_acks_is_no_loss_and_above_upper_is_a_phantom() -> None:
    # Votes still in flight may already be counted: a tally above the acks proves nothing.
    ahead = Peek(1.0, {"yes": 14}, {"yes": 10}, {"yes": 14})
    assert ahead.lost("yes") == 0 and ahead.phantom("yes") == 0
    view = LiveView()
    view.add(ahead)
    assert tally_rows(view, None, state="running")[0]["tone"] == ""
    phantom = Peek(1.0, {"yes": 15}, {"yes": 10}, {"yes": 14})
    assert phantom.phantom("yes") == 1
    # Upper bounds unknown (Locust workers in other processes): never a phantom.
    assert Peek(1.0, {"yes": 99}, {"yes": 10}).phantom("yes") == 0


def test_the_largest_proven_loss_is_kept_and_the_chart_stays_bounded() -> None:
    view = LiveView()
    view.add(Peek(1.0, {"yes": 5}, {"yes": 9}))
    view.add(Peek(2.0, {"yes": 20}, {"yes": 21}))
    assert view.proven_lost == {"yes": 4}
    for i in range(3000):
        view.add(Peek(3.0 + i, {"yes": 30 + i}, {"yes": 30 + i}))
    assert len(view.points) <= 1200 + 1
    assert view.points[-1]["t"] == 3002.0


def test_a_repeated_count_in_one_group_is_a_collision_at_once() -> None:
    watch = CollisionWatch()
    watch.see(ack("a", 1))
    watch.see(ack("b", 2))
    watch.see(ack("c", 1, pid=8))  # another process keeps its own counter: no proof
    watch.see(ack("d", 1, choice="no"))  # another counter
    assert watch.total == 0
    watch.see(ack("e", 2))
    assert watch.to_dict() == {
        "total": 1,
        "by_choice": {"yes": 1},
        "witnesses": [{"choice": "yes", "count": 2, "votes": ["b", "e"]}],
    }
    shared = CollisionWatch(shared_state=True)
    shared.see(ack("a", 1))
    shared.see(ack("c", 1, pid=8))
    assert shared.total == 1
    reread = CollisionWatch(active=False)  # replies that re-read prove nothing
    reread.see(ack("a", 1))
    reread.see(ack("b", 1))
    assert reread.total == 0
    merged = merge_collisions([watch.to_dict(), shared.to_dict()])
    assert merged["total"] == 2 and merged["by_choice"] == {"yes": 2}


def test_a_local_ledger_gives_exact_upper_bounds_and_its_collisions(tmp_path: Path) -> None:
    ledger = WorkerLedger(
        "r1", "w0", "local", tmp_path / "h.jsonl", prefix="r1-", quota=None, choices=("yes",)
    )
    for vote_id, count in (("a", 1), ("b", 1)):
        ledger.sending("yes")
        ledger.note(ack(vote_id, count))
    ledger.sending("yes")
    ledger.note(Op(0, "w0/u0", "fail", "vote", {"choice": "yes", "status": 409}, 0, "c"))
    ledger.sending("yes")  # still in flight: it may land
    assert ledger.upper() == {"yes": 3}
    master = MasterLedger("r1")
    master.join("local", "w0")
    assert master.upper() is None  # no exact source yet
    master.local = ledger
    master.live["local"] = ledger.acked
    assert master.upper() == {"yes": 3} and master.acked() == {"yes": 2}
    assert master.live_collisions()["total"] == 1
    master.join("remote-node", "w1")  # a worker elsewhere: its in-flight votes are unknown
    assert master.upper() is None
