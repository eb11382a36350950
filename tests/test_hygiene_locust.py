"""Ctrl-C and SIGTERM with Locust and compare: the run, Locust's processes and the target all go.

Like tests/test_hygiene.py, for the commands that run more than one process of their
own: `racecheck run --driver locust` (a Locust process, or a master and workers),
`racecheck compare` (one run per cell) and `racecheck locust` (a target and Locust's
web UI). While they run, every port any of their processes listens on must be on
loopback; after the signal, nothing of them may be left.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
import requests
from support.hygiene import Job, listening_addresses, wait_for
from test_hygiene import EXIT_LIMIT, assert_interrupted, assert_result_interrupted, voted

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
LOOPBACK = {"127.0.0.1", "::1"}


def assert_loopback_only(job: Job) -> None:
    listening = listening_addresses(job.tag)
    assert listening, "found no listening socket at all: the check would prove nothing"
    assert all(addresses <= LOOPBACK for addresses in listening.values()), listening


@pytest.mark.parametrize(
    ("server", "processes", "sig"),
    [("gunicorn", "1", signal.SIGINT), ("waitress", "2", signal.SIGTERM)],
    ids=["gunicorn-one-process-int", "waitress-master-and-workers-term"],
)
def test_the_locust_driver_stops_with_the_run(
    tmp_path: Path, server: str, processes: str, sig: signal.Signals
) -> None:
    job = Job.start(
        tmp_path, "--driver", "locust", "--server", server, "--processes", processes,
        "--clients", "8", "--duration", "60",
    )  # fmt: skip
    with job:
        job.wait_for_target()
        assert wait_for(lambda: voted(job, 300)), job.describe()
        assert_loopback_only(job)
        outcome = job.interrupt(sig)
    assert_interrupted(outcome)


def cell_target_log(root: Path) -> Path | None:
    logs = sorted(root.glob("*/target.log"))
    return logs[0] if logs else None


def test_compare_stops_the_cell_it_is_in_and_writes_what_it_has(tmp_path: Path) -> None:
    job = Job.start(tmp_path, "--quick", command="compare")
    comparison = job.run_dir
    with job:
        assert wait_for(lambda: cell_target_log(comparison) is not None), job.describe()
        log = cell_target_log(comparison)
        assert log is not None
        job.run_dir = log.parent  # the first cell: its target, its run directory
        job.wait_for_target()
        assert wait_for(lambda: voted(job, 300)), job.describe()
        outcome = job.interrupt(signal.SIGINT)
    assert outcome.seconds < EXIT_LIMIT, outcome.describe()
    assert "Traceback" not in outcome.stderr
    summary: dict[str, Any] = json.loads((comparison / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert outcome.exit_code != 0  # not every cell got its expected verdict: none finished
    assert "Interrupted after 1 of 6 cells" in outcome.stdout
    assert_result_interrupted(outcome.run_dir)  # the cell that was running


def web_ui(job: Job) -> str | None:
    announce = job.run_dir / "locust-web.json"
    try:
        port = json.loads(announce.read_text())["web_port"]
    except (OSError, ValueError, KeyError):
        return None
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("swarm", [True, False], ids=["swarming", "idle"])
def test_racecheck_locust_stops_the_web_ui_and_the_target(tmp_path: Path, swarm: bool) -> None:
    job = Job.start(tmp_path, "--web-port", "0", command="locust")
    with job:
        assert wait_for(lambda: web_ui(job) is not None), job.describe()
        job.wait_for_target()
        url = web_ui(job)
        assert url is not None
        assert_loopback_only(job)
        if swarm:
            form = {"user_count": 8, "spawn_rate": 8, "host": job.url}
            assert requests.post(url + "/swarm", data=form, timeout=10).ok
            assert wait_for(lambda: voted(job, 300)), job.describe()
        outcome = job.interrupt(signal.SIGINT)
    assert outcome.seconds < EXIT_LIMIT, outcome.describe()
    assert "Traceback" not in outcome.stderr
    assert "stopped Locust and the target" in outcome.stderr
    runs = [p for p in job.run_dir.glob("*/result.json")]
    if swarm:
        # Ctrl-C is how `racecheck locust` ends: Locust stops its users, lets their
        # requests finish, and checks the whole history. What was recorded is written.
        (result_path,) = runs
        result = json.loads(result_path.read_text())
        assert result["verdict"] in ("PASS", "UNKNOWN"), result["reason"]
        assert sum(c["ok"] for c in result["counts"].values()) >= 300
        assert outcome.exit_code == result["exit_code"]
