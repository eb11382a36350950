"""Plain Locust with racecheck's locustfile, as users run it: headless, and master + workers.

Every Locust process is started through launcher.start_process (its own process
group) and stopped by the ExitStack, whatever happens in the test.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from loadtests.swarm.driver import locust_command, locust_env, wait_for_file
from loadtests.target.launcher import ManagedProcess, RunningTarget, start_process

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAIT = 120.0  # generous: two cores are shared with other test runs
Start = Callable[..., ManagedProcess]


@pytest.fixture
def locust(tmp_path: Path) -> Iterator[Start]:
    """Start ``locust -f loadtests/locustfile.py ARGS``, logging to a file; stopped at the end."""
    with ExitStack() as stack:

        def start(*args: str, log: str) -> ManagedProcess:
            process = start_process(
                locust_command(*args), env=locust_env(), log_path=tmp_path / log
            )
            stack.callback(process.stop)
            return process

        yield start


def verdict_line(process: ManagedProcess) -> str:
    """The one ``racecheck verdict:`` line the process printed."""
    assert process.log_path is not None
    text = process.log_path.read_text(encoding="utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.startswith("racecheck verdict:")]
    assert len(lines) == 1, text[-3000:]
    return lines[0]


def exit_status(process: ManagedProcess) -> int:
    status = process.wait(WAIT)
    assert status is not None, f"{process} did not finish in {WAIT} s"
    return status


def run_dir(line: str) -> Path:
    return Path(line.rsplit("run directory: ", 1)[1])


def headless(url: str, results: Path, run_time: str = "3s") -> list[str]:
    users = ["-u", "16", "-r", "16", "-t", run_time]
    return ["--headless", *users, "--host", url, "--racecheck-results-dir", str(results)]


def test_plain_headless_locust_passes_locked_and_fails_unlocked(
    racecheck_target: Callable[..., RunningTarget], locust: Start, tmp_path: Path
) -> None:
    locked = racecheck_target(build="locked")
    unlocked = racecheck_target(build="unlocked")
    # Both at once: the race needs contention anyway, and the suite needs the time.
    ok_run = locust(*headless(locked.url, tmp_path / "locked"), log="locked.log")
    bad_run = locust(*headless(unlocked.url, tmp_path / "unlocked"), log="unlocked.log")

    assert exit_status(ok_run) == 0, verdict_line(ok_run)
    line = verdict_line(ok_run)
    assert line.startswith("racecheck verdict: PASS")
    result = json.loads((run_dir(line) / "result.json").read_text(encoding="utf-8"))
    for choice, counts in result["counts"].items():
        assert counts["ok"] == counts["final"] > 0, choice
        assert counts["info"] == 0
    assert sorted(p.name for p in run_dir(line).iterdir()) == [
        "history.jsonl",
        "index.html",
        "junit.xml",
        "result.json",
        "workers",
    ]

    assert exit_status(bad_run) == 1, verdict_line(bad_run)
    bad = verdict_line(bad_run)
    assert bad.startswith("racecheck verdict: FAIL") and "lost=" in bad


def test_master_and_separate_workers_count_exactly_and_a_killed_worker_is_unknown(
    racecheck_target: Callable[..., RunningTarget], locust: Start, tmp_path: Path
) -> None:
    """Two distributed runs at once: one clean, one whose second worker is SIGKILLed mid-run.

    The second run has no short run time: once the worker is dead, the test stops
    the master with SIGTERM (as docker stop or Ctrl-C would), which must still
    collect, check and exit with the verdict.
    """
    runs = {}
    for name, run_time in (("clean", "3s"), ("killed", "60s")):
        target = racecheck_target(build="locked")
        announce = tmp_path / f"{name}-master.json"
        master = locust(
            *headless(target.url, tmp_path / name, run_time),
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            "0",
            "--expect-workers",
            "2",
            "--racecheck-announce",
            str(announce),
            log=f"{name}-master.log",
        )
        runs[name] = (target, master, announce)
    workers = {}
    for name, (_, master, announce) in runs.items():
        port = str(wait_for_file(announce, master, WAIT)["master_port"])
        workers[name] = [
            locust(
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                port,
                log=f"{name}-w{n}.log",
            )
            for n in (1, 2)
        ]

    # Kill the second worker once it has joined the run and votes are flowing, so that
    # it certainly took part (a worker killed before it joined cast no vote at all).
    victim = workers["killed"][1]
    assert victim.log_path is not None
    deadline = time.monotonic() + WAIT
    while "joined run" not in victim.log_path.read_text(encoding="utf-8", errors="replace"):
        assert time.monotonic() < deadline and victim.poll() is None, "the worker never joined"
        time.sleep(0.1)
    killed_target = runs["killed"][0]
    start = sum(tally(killed_target).values())
    while sum(tally(killed_target).values()) < start + 200:
        assert time.monotonic() < deadline, "the killed run never voted"
        time.sleep(0.1)
    victim.kill()
    runs["killed"][1].send_signal(signal.SIGTERM)

    target, master, _ = runs["clean"]
    assert exit_status(master) == 0, verdict_line(master)
    line = verdict_line(master)
    assert line.startswith("racecheck verdict: PASS")
    server = tally(target)
    assert f"yes ok={server['yes']} final={server['yes']}" in line
    assert f"no ok={server['no']} final={server['no']}" in line
    result = json.loads((run_dir(line) / "result.json").read_text(encoding="utf-8"))
    assert result["settings"]["workers"] == 2

    _, master, _ = runs["killed"]
    assert exit_status(master) == 3, verdict_line(master)
    line = verdict_line(master)
    assert line.startswith("racecheck verdict: UNKNOWN")
    named = re.findall(r"Locust worker (w\d+) \(", line)
    survivor = workers["killed"][0].log_path
    assert survivor is not None
    survivor_label = re.search(r"Locust worker (w\d+) \(", survivor.read_text(encoding="utf-8"))
    assert survivor_label is not None
    assert len(named) == 1 and named[0] != survivor_label.group(1)
    assert "sent no final counts" in line


def tally(target: RunningTarget) -> dict[str, int]:
    reply = requests.get(f"{target.url}/api/tally", timeout=10)
    reply.raise_for_status()
    body = reply.json()
    return {"yes": body["yes"], "no": body["no"]}


@pytest.mark.parametrize("where", ["import", "init"])
def test_a_start_up_slower_than_the_run_time_never_exits_0_without_a_verdict(
    racecheck_target: Callable[..., RunningTarget], tmp_path: Path, where: str
) -> None:
    """Locust's -t timer runs on gevent's clock, which stands still until its loop first runs.

    A start-up longer than -t (a loaded machine) made the timer fire at once: Locust quit
    before racecheck's test start, and exited 0 with no verdict, which reads as a PASS.
    """
    locked = racecheck_target(build="locked")
    slow = Path(__file__).parent / "support" / "slow_start.py"
    argv = locust_command(*headless(locked.url, tmp_path / "runs", run_time="1s"))
    argv[argv.index("-f") + 1] += f",{slow}"
    env = {**locust_env(), "RACECHECK_TEST_SLOW": where}
    process = start_process(argv, env=env, log_path=tmp_path / "locust.log")
    try:
        status = exit_status(process)
    finally:
        process.stop()
    line = verdict_line(process)
    if where == "import":  # before racecheck's init, which reads the clock afresh: a real run
        assert status == 0 and line.startswith("racecheck verdict: PASS"), line
    else:  # after it, the timer still fires at once: no evidence, so UNKNOWN, never exit 0
        assert status == 3 and line.startswith("racecheck verdict: UNKNOWN"), line
