"""Each nemesis against real servers: faults are recorded, verdicts stay honest, nothing is left.

Runs go through :func:`loadtests.run.execute.execute`, the very path of ``racecheck run``, with
short schedules so that the faults strike early in short loads. The rules checked:
a restarted in-memory target is never PASS and the blame goes to the restart; stalls
and resets make ``info`` outcomes and never turn the locked build into a FAIL; and
faults do not hide a real race either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtests.history import Op, iter_file
from loadtests.run.execute import RunOutcome, execute
from loadtests.run.settings import RunSettings
from loadtests.target.launcher import group_members

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TARGETS = Path(__file__).parent / "targets"


def run(tmp_path: Path, **options: Any) -> RunOutcome:
    settings: dict[str, Any] = {"clients": 16, "progress": False, "out": tmp_path / "run"}
    settings.update(options)
    outcome = execute(RunSettings(**settings))
    assert_nothing_left(outcome)
    return outcome


def nemesis_ops(outcome: RunOutcome) -> list[Op]:
    return [op for op in iter_file(outcome.run_dir / "history.jsonl") if op.process == "nemesis"]


def assert_nothing_left(outcome: RunOutcome) -> None:
    """Every target process of the run (each one a restart started) is gone, workers too."""
    leaders = {
        op.value["pid"] for op in nemesis_ops(outcome) if op.type == "ok" and "pid" in op.value
    }
    leaders.update(outcome.result["final"]["pids"])
    for pid in leaders:
        assert group_members(pid) == set(), f"target process group {pid} is still running"


def counts(outcome: RunOutcome, kind: str) -> int:
    return sum(c[kind] for c in outcome.result["counts"].values())


def check(outcome: RunOutcome, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in outcome.result["checks"] if c["name"] == name)
    return found


@pytest.mark.parametrize("server", ["waitress", "gunicorn"])
def test_kill_restart_is_recorded_named_and_never_pass(tmp_path: Path, server: str) -> None:
    outcome = run(
        tmp_path,
        server=server,
        duration=4.0,
        nemesis=("kill-restart",),
        nemesis_schedule="at=1,count=1",
    )
    ops = nemesis_ops(outcome)
    kinds = [(op.f, op.type) for op in ops]
    assert kinds == [
        ("kill", "invoke"),
        ("kill", "ok"),
        ("restart", "invoke"),
        ("restart", "ok"),
        ("start", "invoke"),  # the round re-opened on the new process
        ("start", "ok"),
    ], kinds
    killed, restarted = ops[1].value, ops[3].value
    assert killed["pid"] != restarted["pid"] and killed["port"] == restarted["port"]
    if server == "gunicorn":
        assert len(killed["pids"]) == 2  # the arbiter and its worker, as one group
    assert ops[0].time_ns < ops[3].time_ns

    assert outcome.verdict.status == "UNKNOWN", outcome.result["reason"]
    restart = check(outcome, "restart")
    assert restart["status"] == "UNKNOWN"
    assert "killed and restarted" in restart["detail"]
    assert [w["f"] for w in restart["witnesses"]] == ["kill", "restart"]
    # The blame goes to the restart, never to a race.
    assert "restarted and lost its memory" in check(outcome, "bounds")["detail"]
    assert "overwrote" not in outcome.result["reason"]


def test_a_durable_sqlite_target_keeps_its_votes_across_a_restart(tmp_path: Path) -> None:
    outcome = run(
        tmp_path,
        build="sqlite",
        duration=3.0,
        nemesis=("kill-restart",),
        nemesis_schedule="at=1,count=1",
    )
    assert (tmp_path / "run" / "votes.sqlite3").is_file()
    assert check(outcome, "restart")["status"] == "PASS"
    # Votes killed in flight are info; no acknowledged vote was lost.
    assert outcome.result["lost"] == 0
    assert outcome.verdict.status in ("PASS", "UNKNOWN")


def test_stalled_votes_are_info_and_the_locked_build_does_not_fail(tmp_path: Path) -> None:
    # --timeout 1: a stall of 2 s outlasts it, and the test stays short. One stall: how
    # many the default schedule fits in depends on how fast the machine takes 1,500 votes.
    outcome = run(
        tmp_path, votes=1500, timeout=1.0, nemesis=("stall",), nemesis_schedule="at=1,count=1"
    )
    (invoke, done) = nemesis_ops(outcome)
    assert invoke.f == done.f == "stall" and done.type == "ok"
    assert done.value["stall_seconds"] == 2.0 and isinstance(done.value["pid"], int)
    assert counts(outcome, "info") > 0
    assert all(
        "timed out" in op.value["error"]
        for op in iter_file(outcome.run_dir / "history.jsonl")
        if op.f == "vote" and op.type == "info"
    )
    assert outcome.verdict.status in ("PASS", "UNKNOWN"), outcome.result["reason"]
    assert outcome.result["lost"] == 0


def test_reset_connections_are_info_and_the_locked_build_does_not_fail(tmp_path: Path) -> None:
    outcome = run(
        tmp_path,
        duration=2.5,
        nemesis=("reset-connections",),
        nemesis_schedule="at=0.5,duration=1",
    )
    windows = [op for op in nemesis_ops(outcome) if op.type == "ok"]
    assert windows and windows[0].value["resets"] > 0
    assert counts(outcome, "info") > 0
    assert outcome.verdict.status in ("PASS", "UNKNOWN"), outcome.result["reason"]
    assert outcome.result["lost"] == 0


def test_faults_do_not_hide_a_real_race(tmp_path: Path) -> None:
    outcome = run(
        tmp_path,
        build="unlocked",
        race_window=0.001,
        votes=1500,
        nemesis=("reset-connections",),
        nemesis_schedule="at=0.2,duration=0.5",
        expect="violation",
    )
    assert outcome.verdict.status == "FAIL", outcome.result["reason"]
    assert check(outcome, "unique-counts")["status"] == "FAIL"
    assert counts(outcome, "info") > 0


def test_the_restarted_round_is_reopened_after_logging_in_again(tmp_path: Path) -> None:
    """Opening the motion needs a login (tests/targets/board.py): the nemesis logs in first."""
    outcome = run(
        tmp_path,
        target_file=TARGETS / "board.toml",
        duration=3.0,
        nemesis=("kill-restart",),
        nemesis_schedule="at=1,count=1",
    )
    kinds = [(op.f, op.type) for op in nemesis_ops(outcome)]
    assert kinds[4:] == [("login", "invoke"), ("login", "ok"), ("setup", "invoke"), ("setup", "ok")]
    # Votes after the reopening are acknowledged again: the round is open on the new process.
    reopened = next(op for op in nemesis_ops(outcome) if op.f == "setup" and op.type == "ok")
    later = [
        op
        for op in iter_file(outcome.run_dir / "history.jsonl")
        if op.f == "vote" and op.type == "ok" and op.time_ns > reopened.time_ns
    ]
    assert later, "no vote was acknowledged after the restart"
