"""The launcher against real servers on OS-picked ports: start, answer, stop, leave nothing."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from loadtests.defaults import SERVERS
from loadtests.errors import LaunchError, UnsafeTargetError, UsageError
from loadtests.target.launcher import (
    ManagedProcess,
    RunningTarget,
    TargetSpec,
    group_members,
    start_process,
    start_target,
)

APPS = Path(__file__).parent / "apps"
READY = 60.0  # generous: other engineers load the same two cores


def assert_gone(process: ManagedProcess) -> None:
    """Nothing of the process group is left: not the leader, not a worker."""
    assert process.poll() is not None
    assert process.group_pids() == set()
    assert group_members(process.pgid) == set()


def assert_gone_and_reaped(process: ManagedProcess) -> None:
    """As assert_gone, and not even a zombie: every member was reaped by its parent."""
    assert_gone(process)
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pgid, 0)


def eventually(predicate: Any, timeout: float = 15.0) -> bool:
    """Poll ``predicate`` until true or ``timeout``: for waits with no event to block on."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Any]:
    """start_target with a log in tmp_path; stops whatever a failing test left running."""
    started: list[RunningTarget] = []

    def launch(spec: TargetSpec, **kwargs: Any) -> RunningTarget:
        target = start_target(
            spec, ready_timeout=kwargs.pop("ready_timeout", READY), log_path=tmp_path / "t.log"
        )
        started.append(target)
        return target

    yield launch
    for target in started:
        target.stop()


# -- TargetSpec: refused when built ------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"server": "nginx"}, "use one of werkzeug, waitress, gunicorn"),
        ({"threads": 0}, "threads must be at least 1"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"server": "waitress", "workers": 2}, "needs --server gunicorn"),
        ({"server": "werkzeug", "workers": 2}, "needs --server gunicorn"),
        ({"port": 70000}, "use 0 to let the OS pick"),
        ({"app": "tiny_app"}, "must be 'module:name'"),
        ({"app": ":app"}, "must be 'module:name'"),
        ({"app": "tiny_app:app", "build": "locked"}, "drop --build"),
        ({"build": "racy"}, "use one of locked, unlocked, sqlite"),
        ({"health_path": "health"}, "must start with '/'"),
    ],
)
def test_spec_refuses_what_cannot_work(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        TargetSpec(**kwargs)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_spec_refuses_remote_hosts_without_allow_remote(host: str) -> None:
    with pytest.raises(UnsafeTargetError, match="--allow-remote"):
        TargetSpec(host=host)
    assert TargetSpec(host=host, allow_remote=True).host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_spec_accepts_loopback(host: str) -> None:
    assert TargetSpec(host=host).host == host


def test_spec_is_frozen_and_copies_its_env() -> None:
    env = {"RACECHECK_RACE_WINDOW": "0.001"}
    spec = TargetSpec(env=env, pythonpath=("tests/apps",))
    env["RACECHECK_RACE_WINDOW"] = "9"
    assert spec.env["RACECHECK_RACE_WINDOW"] == "0.001"
    assert spec.pythonpath == (os.path.abspath("tests/apps"),)
    assert hash(spec) == hash(
        TargetSpec(env={"RACECHECK_RACE_WINDOW": "0.001"}, pythonpath=("tests/apps",))
    )


# -- start_process: groups, escalation, idempotence ---------------------------


def test_stop_ends_the_whole_group_and_is_idempotent() -> None:
    process = start_process(["sh", "-c", "sleep 60 & sleep 60"])
    assert eventually(lambda: len(process.group_pids()) == 3)  # sh and both sleeps
    assert process.stop(grace=5.0) == -signal.SIGTERM
    # Not assert_gone_and_reaped: the sleeps die with their shell, so nobody but
    # PID 1 can reap them, and a container's PID 1 may not.
    assert_gone(process)
    assert process.stop() == -signal.SIGTERM
    process.kill()
    process.send_signal(signal.SIGTERM)


def test_stop_escalates_to_sigkill_after_the_grace_period() -> None:
    # The shell traps TERM, so only SIGKILL can end it.
    process = start_process(["sh", "-c", "trap '' TERM; echo ready; sleep 60 & wait"])
    assert eventually(lambda: len(process.group_pids()) == 2)
    assert process.stop(grace=0.3) == -signal.SIGKILL
    assert_gone(process)


def test_a_missing_program_is_a_launch_error(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="could not start"):
        start_process([str(tmp_path / "no-such-program")])


def test_a_port_in_use_is_a_launch_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(LaunchError, match="Use port 0"):
            start_target(TargetSpec(port=port))


# -- Real servers ------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("server", SERVERS)
def test_reference_app_on_each_server(launch: Any, server: str) -> None:
    target = launch(TargetSpec(server=server, build="locked"))  # type: ignore[arg-type]
    health = requests.get(f"{target.url}/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["build"] == "locked"
    assert health.json()["pid"] in target.process.group_pids()
    process = target.process
    target.stop()
    assert process.poll() == 0, "SIGTERM should end every server cleanly"
    assert_gone_and_reaped(process)


@pytest.mark.e2e
def test_gunicorn_workers_are_separate_processes(launch: Any) -> None:
    target = launch(TargetSpec(server="gunicorn", workers=2, threads=4, build="locked"))
    pids: set[int] = set()
    deadline = time.monotonic() + 30
    while len(pids) < 2 and time.monotonic() < deadline:
        pids.add(requests.get(f"{target.url}/health", timeout=10).json()["pid"])
    assert len(pids) == 2
    assert pids <= target.process.group_pids()
    process = target.process
    target.stop()
    assert_gone_and_reaped(process)


@pytest.mark.e2e
@pytest.mark.parametrize("server", SERVERS)
def test_kill_then_restart_serves_the_same_port(launch: Any, server: str) -> None:
    target = launch(TargetSpec(server=server, build="locked"))  # type: ignore[arg-type]
    url, first = target.url, target.process
    target.kill()
    assert not target.alive()
    assert_gone(first)

    # The launcher still holds the socket: a request made now waits in the backlog.
    # Apache binds the port itself, so there the launcher only reserves it (a request
    # made now is refused) and the restarted server gets the same port.
    holds_backlog = server != "apache"
    answers: list[int] = []
    waiting = threading.Thread(
        target=lambda: answers.append(requests.get(f"{url}/health", timeout=READY).status_code)
    )
    if holds_backlog:
        waiting.start()
    target.restart(ready_timeout=READY)
    if holds_backlog:
        waiting.join(READY)
        assert answers == [200]
    assert target.url == url
    assert target.pid != first.pid
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
    second = target.process
    target.stop()
    assert_gone_and_reaped(second)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("tiny_app:nope", "Failed to find attribute 'nope' in 'tiny_app'"),
        ("no_such_module:app", "Could not import 'no_such_module'"),
    ],
)
def test_a_bad_app_is_a_launch_error_with_the_log_tail(
    tmp_path: Path, app: str, message: str
) -> None:
    spec = TargetSpec(app=app, pythonpath=(str(APPS),), health_path=None)
    with pytest.raises(LaunchError) as caught:
        start_target(spec, ready_timeout=READY, log_path=tmp_path / "t.log")
    text = str(caught.value)
    assert "exited with status 2 before it was ready" in text
    assert f"Last lines of its log {tmp_path / 't.log'}" in text
    assert message in text


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["waitress", "gunicorn"])
def test_an_app_that_crashes_at_import_fails_fast(tmp_path: Path, server: str) -> None:
    spec = TargetSpec(
        server=server,  # type: ignore[arg-type]
        app="crash_at_import:app",
        pythonpath=(str(APPS),),
        health_path=None,
    )
    started = time.monotonic()
    with pytest.raises(LaunchError, match="crashed at import on purpose"):
        start_target(spec, ready_timeout=READY, log_path=tmp_path / "t.log")
    assert time.monotonic() - started < READY / 2, "must not wait for the ready timeout"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("server", "app"), [("waitress", "tiny_app:app"), ("werkzeug", "tiny_app:create_app")]
)
def test_any_flask_app_by_module_and_attr(launch: Any, server: str, app: str) -> None:
    spec = TargetSpec(server=server, app=app, pythonpath=(str(APPS),), health_path=None)  # type: ignore[arg-type]
    target = launch(spec)
    assert requests.get(f"{target.url}/", timeout=10).json()["app"] == "tiny"
    process = target.process
    target.stop()
    assert_gone_and_reaped(process)


_PARENT = """
import signal, sys
from loadtests.target.launcher import TargetSpec, start_target
target = start_target(TargetSpec(server=sys.argv[1], workers=int(sys.argv[2]), build="locked"))
print(f"TARGET_PGID={target.process.pgid}", flush=True)
signal.pause()
"""


@pytest.mark.e2e
@pytest.mark.parametrize(("server", "workers"), [("waitress", 1), ("gunicorn", 2)])
def test_a_target_dies_with_its_parent(tmp_path: Path, server: str, workers: int) -> None:
    log = tmp_path / "parent.log"
    parent = start_process([sys.executable, "-c", _PARENT, server, str(workers)], log_path=log)
    pgid = 0
    try:
        assert eventually(lambda: "TARGET_PGID=" in log.read_text(), timeout=READY), log.read_text()
        found = re.search(r"TARGET_PGID=(\d+)", log.read_text())
        assert found
        pgid = int(found.group(1))
        assert group_members(pgid)
        parent.kill()  # SIGKILL: no atexit, no cleanup, only the target's watchdog is left
        assert eventually(lambda: not group_members(pgid), timeout=15), "the target outlived us"
    finally:
        parent.kill()
        if pgid and group_members(pgid):
            os.killpg(pgid, signal.SIGKILL)


_FORGETFUL_PARENT = """
import sys
from pathlib import Path
from loadtests.target.launcher import TargetSpec, start_target
target = start_target(TargetSpec(server="gunicorn", build="locked"), log_path=Path(sys.argv[1]))
print(f"TARGET_PGID={target.process.pgid}", flush=True)
"""  # and exits without target.stop()


@pytest.mark.e2e
def test_targets_left_running_are_stopped_at_exit(tmp_path: Path) -> None:
    target_log = tmp_path / "target.log"
    parent = start_process(
        [sys.executable, "-c", _FORGETFUL_PARENT, str(target_log)], log_path=tmp_path / "p.log"
    )
    assert parent.wait(READY) == 0, (tmp_path / "p.log").read_text()
    found = re.search(r"TARGET_PGID=(\d+)", (tmp_path / "p.log").read_text())
    assert found
    # Stopped before the parent exited, and gracefully: by the atexit hook's
    # SIGTERM, not by the watchdog's SIGKILL (which gunicorn could not log).
    assert not group_members(int(found.group(1)))
    assert "Handling signal: term" in target_log.read_text()
