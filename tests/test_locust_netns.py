"""Locust across hosts: the target, the master and two workers each on a host of its own.

Each host is a network namespace with its own address (tests/support/netns.py), so
every vote, every Locust message and the final read cross a real network link
between hosts, as on separate machines; the run directory is on the one shared
filesystem, as it must be shared between machines (docs/locust.md). Loading an
address that is not loopback needs --allow-remote (the target) and
--racecheck-allow-remote (Locust) and is refused without it.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from support import netns

from loadtests.swarm.driver import locust_command, locust_env
from loadtests.target.launcher import ManagedProcess, start_process

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAIT = 120.0  # generous: two cores are shared with other test runs
HOSTS = ("target", "master", "w1", "w2")
PORT, MASTER_PORT = 8000, 5557
_TALLY = (
    "import json, sys, urllib.request\n"
    "print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1] + '/api/tally', timeout=5))))"
)


@pytest.fixture
def hosts() -> Iterator[netns.Hosts]:
    netns.require()
    with netns.Hosts(HOSTS) as made:
        yield made


Start = Callable[..., ManagedProcess]


@pytest.fixture
def start(hosts: netns.Hosts, tmp_path: Path) -> Iterator[Start]:
    """Start a command on a host, logging to a file; stopped (its group) at the end."""
    with ExitStack() as stack:

        def begin(host: str, argv: list[str], log: str) -> ManagedProcess:
            process = start_process(
                hosts.argv(host, argv), env=locust_env(), log_path=tmp_path / log
            )
            stack.callback(process.stop)
            return process

        yield begin


def _serve(hosts: netns.Hosts, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "loadtests", "serve", "--build", "locked", "--server", "waitress",
        "--threads", "16", "--host", hosts.address("target"), "--port", str(PORT), *extra,
    ]  # fmt: skip


def _url(hosts: netns.Hosts) -> str:
    return f"http://{hosts.address('target')}:{PORT}"


def _tally(hosts: netns.Hosts) -> dict[str, int]:
    """The target's tally, read from the master's host (the test's own has no route)."""
    done = hosts.run("master", [sys.executable, "-c", _TALLY, _url(hosts)], timeout=30)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    return {"yes": body["yes"], "no": body["no"]}


def _wait_for_target(hosts: netns.Hosts, target: ManagedProcess) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        done = hosts.run("master", [sys.executable, "-c", _TALLY, _url(hosts)], timeout=30)
        if done.returncode == 0:
            return
        assert target.poll() is None, "the target exited"
        assert time.monotonic() < deadline, "the target never answered from the master's host"
        time.sleep(0.5)


def _log(process: ManagedProcess) -> str:
    assert process.log_path is not None
    return process.log_path.read_text(encoding="utf-8", errors="replace")


def _verdict(process: ManagedProcess) -> str:
    lines = [line for line in _log(process).splitlines() if line.startswith("racecheck verdict:")]
    assert len(lines) == 1, _log(process)[-3000:]
    return lines[0]


def _exit(process: ManagedProcess) -> int:
    status = process.wait(WAIT)
    assert status is not None, f"{process} did not finish in {WAIT} s"
    return status


def _master(hosts: netns.Hosts, results: Path, run_time: str, *extra: str) -> list[str]:
    return locust_command(
        "--headless", "-u", "16", "-r", "16", "-t", run_time, "--host", _url(hosts),
        "--racecheck-results-dir", str(results), "--master", "--master-bind-host",
        hosts.address("master"), "--master-bind-port", str(MASTER_PORT),
        "--expect-workers", "2", *extra,
    )  # fmt: skip


def _worker(hosts: netns.Hosts) -> list[str]:
    return locust_command(
        "--worker", "--master-host", hosts.address("master"), "--master-port", str(MASTER_PORT)
    )


_CONNECTS = (
    "import socket, sys\n"
    "socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()"
)


def test_remote_addresses_are_refused_without_allow_remote(
    hosts: netns.Hosts, start: Start, tmp_path: Path
) -> None:
    done = hosts.run("target", _serve(hosts), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--allow-remote" in done.stderr
    # A plain server in the target's place, logging every request: the refusal must come
    # before any traffic (asking the server its build is traffic too).
    listener = start(
        "target",
        [sys.executable, "-m", "http.server", str(PORT), "--bind", hosts.address("target")],
        "listener.log",
    )
    probe = [sys.executable, "-c", _CONNECTS, hosts.address("target"), str(PORT)]
    deadline = time.monotonic() + WAIT
    while hosts.run("master", probe, timeout=30).returncode != 0:
        assert listener.poll() is None, _log(listener)
        assert time.monotonic() < deadline, "the listener never answered"
        time.sleep(0.2)
    # Locust on its own host, loading the target's address: refused when the test starts.
    alone = locust_command(
        "--headless", "-u", "1", "-r", "1", "-t", "2s", "--host", _url(hosts),
        "--racecheck-results-dir", str(tmp_path),
    )  # fmt: skip
    locust = hosts.run("master", alone, timeout=WAIT)
    assert locust.returncode not in (0, 1), locust.stdout + locust.stderr  # never a verdict
    assert "allow-remote" in locust.stdout + locust.stderr
    assert "HTTP/1." not in _log(listener), _log(listener)  # no request reached it


def test_a_run_across_hosts_counts_exactly(
    hosts: netns.Hosts, start: Start, tmp_path: Path
) -> None:
    target = start("target", _serve(hosts, "--allow-remote"), "target.log")
    _wait_for_target(hosts, target)
    master = start(
        "master", _master(hosts, tmp_path, "4s", "--racecheck-allow-remote"), "master.log"
    )
    workers = [start(name, _worker(hosts), f"{name}.log") for name in ("w1", "w2")]
    assert _exit(master) == 0, _log(master)[-3000:]
    line = _verdict(master)
    assert line.startswith("racecheck verdict: PASS")
    server = _tally(hosts)
    assert server["yes"] + server["no"] > 0
    assert f"yes ok={server['yes']} final={server['yes']}" in line
    assert f"no ok={server['no']} final={server['no']}" in line
    run_dir = Path(line.rsplit("run directory: ", 1)[1])
    result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    assert result["settings"]["workers"] == 2
    # Both workers voted, from their own addresses.
    for worker in workers:
        assert re.search(r"Locust worker w\d+ \(.*joined run", _log(worker)), _log(worker)[-2000:]


def test_a_worker_whose_link_is_cut_mid_run_is_unknown_and_named(
    hosts: netns.Hosts, start: Start, tmp_path: Path
) -> None:
    target = start("target", _serve(hosts, "--allow-remote"), "target.log")
    _wait_for_target(hosts, target)
    master = start(
        "master", _master(hosts, tmp_path, "60s", "--racecheck-allow-remote"), "master.log"
    )
    survivor = start("w1", _worker(hosts), "w1.log")
    victim = start("w2", _worker(hosts), "w2.log")
    # Cut w2's link once it has joined and votes are flowing: it certainly took part.
    deadline = time.monotonic() + WAIT
    while "joined run" not in _log(victim) or "joined run" not in _log(survivor):
        assert time.monotonic() < deadline and victim.poll() is None, "a worker never joined"
        time.sleep(0.2)
    first = sum(_tally(hosts).values())
    while sum(_tally(hosts).values()) < first + 200:
        assert time.monotonic() < deadline, "the run never voted"
        time.sleep(0.2)
    hosts.cut("w2")
    master.send_signal(signal.SIGTERM)  # as Ctrl-C or docker stop would end the run
    assert _exit(master) == 3, _log(master)[-3000:]
    line = _verdict(master)
    assert line.startswith("racecheck verdict: UNKNOWN")
    label = re.search(r"Locust worker (w\d+) \(", _log(victim))
    assert label is not None
    assert re.findall(r"Locust worker (w\d+) \(", line) == [label.group(1)]


def test_a_worker_that_cannot_reach_its_master_fails_in_seconds(
    hosts: netns.Hosts, start: Start
) -> None:
    # Nothing listens on the master's host: the worker must say so and exit, not hang.
    worker = start("w1", _worker(hosts), "w1.log")
    status = worker.wait(WAIT)
    assert status is not None and status != 0, "the worker kept waiting for its master"
    assert "Failed to connect to the Locust master" in _log(worker)
