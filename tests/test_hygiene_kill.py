"""SIGKILL and SIGHUP: racecheck killed outright leaves nothing; a hangup stops it cleanly.

A SIGKILLed racecheck runs no cleanup at all, so only its keeper (loadtests/target/
lifeline.py) can end what it started: the target and its workers, Locust's master and
workers, the web UI. The command runs in its own session, as a shell runs a job, and
only racecheck's own pid gets the SIGKILL. Every process it started carries the
command's environment tag (which survives re-parenting): none may be alive 5 s later.

SIGHUP (the terminal closes) is treated like SIGTERM: the run stops, its directory is
written, and nothing is left.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from support.cli import tagged_processes
from support.hygiene import Job, alive, wait_for
from test_hygiene import assert_interrupted, voted
from test_hygiene_locust import web_ui

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GONE_LIMIT = 5.0  # the bound: nothing it started is alive 5 s after racecheck died


def kill_racecheck(job: Job) -> None:
    """SIGKILL racecheck alone (not its children's groups); all it started must follow."""
    started = [pid for pid in tagged_processes(job.tag) if pid != job.process.pid]
    assert started, "racecheck had started nothing: the test would prove nothing"
    os.kill(job.process.pid, signal.SIGKILL)
    job.process.wait()

    def everything_gone() -> bool:
        # A process mid-exit has no environment left to read but is not a zombie yet:
        # the pids seen before the kill are watched as well as the tag.
        return not tagged_processes(job.tag) and not any(alive(pid) for pid in started)

    gone = wait_for(everything_gone, timeout=GONE_LIMIT)
    left = {pid: _command(pid) for pid in tagged_processes(job.tag)}
    assert gone, f"alive {GONE_LIMIT:g} s after SIGKILL: {left}\n{job.describe()}"
    left = {pid: _command(pid) for pid in started if alive(pid)}
    assert not left, f"alive {GONE_LIMIT:g} s after SIGKILL: {left}"


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


@pytest.mark.parametrize(
    ("server", "driver", "processes"),
    [
        ("gunicorn", "requests", "1"),
        ("waitress", "locust", "2"),
        ("gunicorn", "locust", "1"),
        ("apache", "requests", "1"),
    ],
    ids=["requests-gunicorn", "locust-master-and-workers", "locust-one-process", "apache"],
)
def test_sigkill_of_racecheck_run_leaves_nothing(
    tmp_path: Path, server: str, driver: str, processes: str
) -> None:
    job = Job.start(
        tmp_path, "--driver", driver, "--server", server, "--processes", processes,
        "--clients", "4", "--duration", "40",
    )  # fmt: skip
    with job:
        if server == "apache":
            # Apache logs no "racecheck target" line: wait for its daemon processes.
            assert wait_for(lambda: len(_apache(job)) >= 2), job.describe()
        else:
            job.wait_for_target()
            assert wait_for(lambda: voted(job, 100)), job.describe()
        kill_racecheck(job)


def _apache(job: Job) -> list[int]:
    return [p for p in tagged_processes(job.tag) if "apache2" in _command(p)]


def test_sigkill_of_racecheck_locust_leaves_nothing(tmp_path: Path) -> None:
    job = Job.start(tmp_path, "--web-port", "0", "--processes", "2", command="locust")
    with job:
        assert wait_for(lambda: web_ui(job) is not None), job.describe()
        job.wait_for_target()
        kill_racecheck(job)


@pytest.mark.parametrize("driver", ["requests", "locust"])
def test_sighup_stops_the_run_like_sigterm(tmp_path: Path, driver: str) -> None:
    job = Job.start(tmp_path, "--driver", driver, "--clients", "4", "--duration", "60")
    with job:
        job.wait_for_target()
        assert wait_for(lambda: voted(job, 100)), job.describe()
        outcome = job.interrupt(signal.SIGHUP)
    assert_interrupted(outcome)
    assert outcome.result()["final"]["counts"] is not None  # the closing read happened
    assert (outcome.run_dir / "history.jsonl").stat().st_size > 0
