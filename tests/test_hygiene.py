"""Ctrl-C and SIGTERM in the middle of `racecheck run`: prompt exit, a run directory, no leftovers.

Each command runs in its own session, as a shell runs a job, and gets the signal the
way a terminal sends Ctrl-C: to its whole process group. The signal is sent once the
load is really flowing (the target's tally is moving), not after a fixed sleep. Then:
exit within 15 s, result.json written with an ``interrupted`` check and verdict
UNKNOWN (or FAIL when the evidence already proved one), and nothing of the run left:
not in racecheck's group, not the target (whose pid was read before the signal), and
no process carrying the command's environment tag (which survives re-parenting).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import requests
from support.hygiene import Interrupted, Job, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXIT_LIMIT = 15.0  # the bound, from the signal to the exit


def voted(job: Job, at_least: int) -> bool:
    """Whether the target has counted at least ``at_least`` votes."""
    tally = job.get("/api/tally")
    return tally is not None and tally["yes"] + tally["no"] >= at_least


def stalled(job: Job) -> bool:
    """Whether the target has stopped answering promptly."""
    try:
        requests.get(job.url + "/api/tally", timeout=0.5)
    except requests.Timeout:
        return True
    return False


def assert_interrupted(outcome: Interrupted, verdict: str = "UNKNOWN") -> None:
    """Out within the bound, exit code of the verdict, and the run directory written."""
    assert outcome.seconds < EXIT_LIMIT, outcome.describe()
    assert "Traceback" not in outcome.stderr
    result = outcome.result()
    assert outcome.exit_code == result["exit_code"] == {"UNKNOWN": 3, "FAIL": 1}[verdict]
    assert_result_interrupted(outcome.run_dir, verdict)


def assert_result_interrupted(run_dir: Path, verdict: str = "UNKNOWN") -> None:
    """result.json says the run was interrupted, and keeps a FAIL it had already proved."""
    result = json.loads((run_dir / "result.json").read_text())
    assert result["verdict"] == verdict, result["reason"]
    check = next(c for c in result["checks"] if c["name"] == "interrupted")
    assert check["status"] == "UNKNOWN"
    assert "Ctrl-C or SIGTERM" in check["detail"]
    if verdict == "UNKNOWN":
        assert "interrupted" in result["reason"]
    assert (run_dir / "history.jsonl").is_file()
    assert (run_dir / "junit.xml").is_file()


@pytest.mark.parametrize(
    ("server", "sig"),
    [
        ("gunicorn", signal.SIGINT),
        ("gunicorn", signal.SIGTERM),
        ("waitress", signal.SIGINT),
        ("werkzeug", signal.SIGINT),
    ],
    ids=["gunicorn-int", "gunicorn-term", "waitress-int", "werkzeug-int"],
)
def test_a_signal_mid_load_stops_everything_and_writes_the_run(
    tmp_path: Path, server: str, sig: signal.Signals
) -> None:
    job = Job.start(tmp_path, "--server", server, "--duration", "60")
    with job:
        job.wait_for_target()
        assert wait_for(lambda: voted(job, 300)), job.describe()
        outcome = job.interrupt(sig)
    assert_interrupted(outcome)
    result = outcome.result()
    assert result["final"]["counts"] is not None  # the closing read still happened
    assert sum(c["ok"] for c in result["counts"].values()) >= 300
    with pytest.raises(requests.ConnectionError):  # the port is closed, not just quiet
        requests.get(job.url + "/health", timeout=2)


def test_a_signal_while_the_target_starts(tmp_path: Path) -> None:
    job = Job.start(tmp_path, "--server", "gunicorn", "--duration", "60")
    with job:
        # The target's log appears as soon as the launcher starts it, before it is ready.
        assert wait_for((job.run_dir / "target.log").exists, poll=0.005)
        outcome = job.interrupt(signal.SIGINT)
    assert_interrupted(outcome)


def test_evidence_of_a_race_survives_the_interruption(tmp_path: Path) -> None:
    job = Job.start(tmp_path, "--build", "unlocked", "--race-window", "0.001", "--duration", "60")
    with job:
        job.wait_for_target()
        assert wait_for(lambda: voted(job, 1000)), job.describe()
        outcome = job.interrupt(signal.SIGINT)
    assert_interrupted(outcome, verdict="FAIL")


def test_a_signal_while_votes_are_stalled(tmp_path: Path) -> None:
    job = Job.start(
        tmp_path, "--duration", "60", "--timeout", "2", "--nemesis", "stall",
        "--nemesis-schedule", "at=0.5,duration=1",
    )  # fmt: skip
    with job:
        job.wait_for_target()
        assert wait_for(lambda: voted(job, 1)), job.describe()
        # Stalled handlers sleep 3 s and hold every server thread: then even a read
        # of the tally waits in the queue. That is the moment to interrupt.
        assert wait_for(lambda: stalled(job)), job.describe()
        outcome = job.interrupt(signal.SIGINT)
    assert_interrupted(outcome)
    assert sum(c["info"] for c in outcome.result()["counts"].values()) > 0


def test_a_signal_while_the_target_is_being_restarted(tmp_path: Path) -> None:
    job = Job.start(
        tmp_path, "--duration", "60", "--nemesis", "kill-restart",
        "--nemesis-schedule", "at=0.5,every=1",
    )  # fmt: skip
    with job:
        job.wait_for_target()
        assert wait_for(lambda: len(job.target_pids()) >= 2), job.describe()
        outcome = job.interrupt(signal.SIGINT)
    assert_interrupted(outcome)
    for pid in job.target_pids():  # every incarnation of the target is gone
        assert not os.path.exists(f"/proc/{pid}") or _zombie(pid), pid


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True
