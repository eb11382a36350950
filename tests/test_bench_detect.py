"""Detection: the index of the first proven loss on hand-built histories."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from loadtests.bench.detect import LossDetector, Scenario, first_proven_loss, measure, watch
from loadtests.bench.load import measure_driver, reference_target
from loadtests.history import History, Op


def vote(history: History, process: int, choice: str, count: int | None, **kw: Any) -> Op:
    inv = history.invoke(process, "vote", {"choice": choice}, f"v-{len(history)}")
    value = {"choice": choice, "count": count, "pid": kw.get("pid", 1), "resolution_id": 1}
    return history.complete(inv, kw.get("outcome", "ok"), value)


def test_the_first_repeated_count_is_the_proof_and_its_position_is_counted_in_votes() -> None:
    h = History()
    vote(h, 0, "yes", 1)
    vote(h, 1, "no", 1)  # another counter: not a collision
    vote(h, 2, "yes", 2)
    vote(h, 3, "yes", None, outcome="info")  # unknown outcomes still count as votes sent
    vote(h, 4, "yes", 2)  # the 5th vote repeats yes=2: proof
    vote(h, 5, "yes", 2)
    assert first_proven_loss(h.ops()) == 5


def test_no_repeat_means_no_proof() -> None:
    h = History()
    for i in range(1, 50):
        vote(h, i % 4, "yes", i)
    assert first_proven_loss(h.ops()) is None


def test_counts_from_different_server_processes_do_not_prove_a_loss() -> None:
    h = History()
    vote(h, 0, "yes", 1, pid=10)
    vote(h, 1, "yes", 1, pid=11)
    assert first_proven_loss(h.ops()) is None


def test_interleaved_completions_are_counted_in_history_order() -> None:
    h = History()
    a = h.invoke(0, "vote", {"choice": "yes"}, "a")
    b = h.invoke(1, "vote", {"choice": "yes"}, "b")
    ok = {"choice": "yes", "count": 1, "pid": 1, "resolution_id": 1}
    h.complete(b, "ok", ok)
    h.complete(a, "ok", ok)
    assert first_proven_loss(h.ops()) == 2


def test_the_watcher_stops_the_load_at_the_first_proof() -> None:
    stop = threading.Event()
    h = History()
    vote(h, 0, "yes", 1)
    detector = LossDetector()
    watcher = threading.Thread(target=watch, args=(h, stop, detector))
    watcher.start()
    vote(h, 1, "yes", 1)
    watcher.join(timeout=30)  # it returns by itself once it has seen the proof
    assert not watcher.is_alive() and stop.is_set()
    assert detector.detected_at == 2


def test_a_detector_keeps_its_first_answer() -> None:
    h = History()
    vote(h, 0, "yes", 1)
    vote(h, 1, "yes", 1)
    vote(h, 2, "yes", 1)
    detector = LossDetector()
    for op in h.ops():
        detector.feed(op)
    assert detector.detected_at == 2 and detector.votes == 2


def test_scenario_environment() -> None:
    assert Scenario("d").env() == {}
    env = Scenario("c", race_window="-1", switch_interval=1e-6).env()
    assert env == {"RACECHECK_RACE_WINDOW": "-1", "RACECHECK_SWITCH_INTERVAL": "1e-06"}


@pytest.mark.e2e
def test_the_driver_measurement_counts_every_acknowledged_vote(tmp_path: Path) -> None:
    with reference_target("waitress", 4, "locked", tmp_path) as target:
        result = measure_driver(target.url, 200, 8)
    assert (result.ok, result.errors) == (200, 0)
    assert result.seconds > 0 and result.cpu_s > 0


@pytest.mark.e2e
def test_a_detection_run_on_the_unlocked_build_proves_a_loss(tmp_path: Path) -> None:
    scenario = Scenario("default", max_votes=1000)
    summary = measure(scenario, runs=1, threads=8, clients=16, scratch=tmp_path)
    (run,) = summary["results"]
    assert run["verdict"] == "FAIL"
    assert run["detected"] and 2 <= run["votes_to_detect"] <= run["votes_sent"]
