"""Locust users classify like every other client: refused is ``fail``, a timeout is ``info``.

The Locust driver runs alone here (no harness round), so every op in the
history is a Locust user's.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from loadtests.history import History, iter_file
from loadtests.journal import merge_streams
from loadtests.run.settings import RunSettings
from loadtests.swarm.accounting import count_votes
from loadtests.swarm.driver import LocustDriver
from loadtests.target.launcher import RunningTarget
from loadtests.target.workload import reference_workload

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def drive(url: str, run_dir: Path, **settings: object) -> tuple[History, LocustDriver]:
    history = History("locust")
    driver = LocustDriver(RunSettings(driver="locust", clients=2, **settings), run_dir)  # type: ignore[arg-type]
    driver.run(url, reference_workload(), history)
    # The workers' ops stay in their files (streamed, #16); the round merges them.
    loaded = History("locust", merge_streams([iter_file(path) for path in driver.sources]))
    return loaded, driver


def test_a_refused_connection_is_a_definite_failure(tmp_path: Path) -> None:
    history, driver = drive(f"http://127.0.0.1:{closed_port()}", tmp_path, votes=6)
    assert driver.gaps == ()
    assert sum(row[1] for row in count_votes(history.ops()).values()) == 6  # all fail
    failures = [op for op in history.ops() if op.type == "fail"]
    assert failures and all("ConnectionRefused" in op.value["error"] for op in failures)


def test_a_reply_that_takes_too_long_is_unknown(
    racecheck_target: Callable[..., RunningTarget], tmp_path: Path
) -> None:
    # Every vote sleeps 1 s inside the lock: with a 0.3 s timeout none is answered in time.
    target = racecheck_target(build="locked", race_window=1.0)
    opened = requests.post(f"{target.url}/api/resolutions", json={"text": "slow"}, timeout=10)
    assert opened.status_code == 201
    history, driver = drive(target.url, tmp_path, votes=4, timeout=0.3)
    assert driver.gaps == ()
    counts = count_votes(history.ops())
    assert sum(row[2] for row in counts.values()) == 4  # all info, none lost or failed
    infos = [op for op in history.ops() if op.type == "info"]
    assert all("timeout" in op.value["error"].lower() for op in infos), infos[0].value
