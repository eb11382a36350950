"""``racecheck run --driver locust``: the same run directory and exit codes as with requests."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from loadtests.history import History
from loadtests.run.settings import RunSettings
from loadtests.swarm.driver import LocustDriver, locust_env
from loadtests.target.launcher import ManagedProcess, start_process

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def racecheck(*args: str, log: Path) -> ManagedProcess:
    command = [sys.executable, "-m", "loadtests", *args]
    return start_process(command, env=locust_env(), log_path=log)


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as processes:
        yield processes


def test_racecheck_run_with_two_locust_workers_passes_locked_and_fails_unlocked(
    tmp_path: Path, stack: ExitStack
) -> None:
    runs = {}
    for build in ("locked", "unlocked"):
        out = tmp_path / build
        process = racecheck(
            "run",
            "--build",
            build,
            "--driver",
            "locust",
            "--processes",
            "2",
            "--clients",
            "20",
            "--duration",
            "3",
            "--out",
            str(out),
            log=tmp_path / f"{build}.log",
        )
        stack.callback(process.stop)
        runs[build] = (process, out)

    process, out = runs["locked"]
    assert process.wait(180) == 0, (tmp_path / "locked.log").read_text()[-3000:]
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["verdict"] == "PASS" and result["gaps"] == []
    for counts in result["counts"].values():
        assert counts["ok"] == counts["final"] > 0 and counts["info"] == 0
    assert result["settings"]["driver"] == "locust"
    history = (out / "history.jsonl").read_text(encoding="utf-8").splitlines()
    drivers = {json.loads(line)["driver"] for line in history}
    assert drivers == {"harness", "locust"}
    processes = {json.loads(line)["process"] for line in history}
    assert {p.split("/")[0] for p in processes if p != "harness"} == {"w0", "w1"}
    logs = sorted(p.name for p in (out / "locust").iterdir() if p.suffix == ".log")
    assert logs == ["master.log", "worker-1.log", "worker-2.log"]

    process, out = runs["unlocked"]
    assert process.wait(180) == 1, (tmp_path / "unlocked.log").read_text()[-3000:]
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["verdict"] == "FAIL" and result["lost"] > 0


def test_a_missing_summary_is_a_gap_not_a_verdict(tmp_path: Path) -> None:
    """If Locust dies before it summarises its workers, the run cannot be judged."""
    driver = LocustDriver(RunSettings(driver="locust", votes=10), tmp_path)
    history = History("locust")
    driver.merge_into(history)
    assert len(history) == 0
    (gap,) = driver.gaps
    assert "left no summary" in gap and "locust.log" in gap
