"""Helpers for the hygiene tests: a racecheck command to interrupt, and proof nothing is left.

(No tests here; the module is named for the test files that share it.)

A :class:`Job` is one racecheck command in its own session (so its pid is its group
id), with its output in files and a unique tag in its environment. Every process it
starts inherits the tag, even after re-parenting, so a scan of ``/proc/*/environ``
finds anything the command left behind. Leftovers are killed by pid and fail the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil
import requests

from loadtests.target.launcher import group_members
from support.cli import TAG_VARIABLE, tagged_processes

RACECHECK = str(Path(sys.executable).with_name("racecheck"))
# Bounds for waits on a shared 2-core machine: limits, never expectations.
START_LIMIT = 60.0
EXIT_WAIT = 60.0  # how long to wait for an exit at all; tests assert the real bound
GONE_WAIT = 5.0  # a process that was stopped may still be finishing its exit
_TARGET_LINE = re.compile(r"racecheck target: .* at (\S+):(\d+) \(pid (\d+)\)")


def wait_for(
    predicate: Callable[[], Any], timeout: float = START_LIMIT, poll: float = 0.05
) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def listening_addresses(tag: str) -> dict[int, set[str]]:
    """The addresses every live tagged process listens on (TCP), by pid."""
    found: dict[int, set[str]] = {}
    for pid in tagged_processes(tag):
        try:
            connections = psutil.Process(pid).net_connections(kind="inet")
        except psutil.Error:  # gone while we looked
            continue
        listening = {c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN}
        if listening:
            found[pid] = listening
    return found


@dataclass(frozen=True)
class Interrupted:
    """What an interrupted command did: exit code, output, seconds from signal to exit."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    run_dir: Path

    def result(self) -> dict[str, Any]:
        """The run's result.json."""
        data: dict[str, Any] = json.loads((self.run_dir / "result.json").read_text())
        return data

    def describe(self) -> str:
        """For assertion messages: the command, its exit and what it printed."""
        return (
            f"racecheck {' '.join(self.args)} -> exit {self.exit_code} "
            f"{self.seconds:.1f} s after the signal\n"
            f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"
        )


class Job:
    """One racecheck command, started in its own session, to be interrupted."""

    def __init__(self, root: Path, argv: list[str], run_dir: Path) -> None:
        self.root, self.argv, self.run_dir = root, argv, run_dir
        self.tag = uuid.uuid4().hex
        self.url = ""
        env = {**os.environ, TAG_VARIABLE: self.tag, "CI": "1", "COLUMNS": "200"}
        self._out = (root / "stdout.txt").open("w+")
        self._err = (root / "stderr.txt").open("w+")
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            env=env,
            start_new_session=True,
        )

    @classmethod
    def start(cls, root: Path, *args: str, command: str = "run") -> Job:
        """Start ``racecheck COMMAND ARGS --out ROOT/run``."""
        run_dir = root / "run"
        return cls(root, [RACECHECK, command, *args, "--out", str(run_dir)], run_dir)

    def __enter__(self) -> Job:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Whatever happened, nothing of this command may outlive the test.
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(EXIT_WAIT)
        for pid in tagged_processes(self.tag):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._out.close()
        self._err.close()

    def output(self) -> tuple[str, str]:
        """What the command printed so far."""
        self._out.flush()
        self._err.flush()
        return (self.root / "stdout.txt").read_text(), (self.root / "stderr.txt").read_text()

    def describe(self) -> str:
        """For assertion messages while the command still runs."""
        stdout, stderr = self.output()
        return f"{' '.join(self.argv)}\n--- stdout\n{stdout[-3000:]}\n--- stderr\n{stderr[-3000:]}"

    def target_pids(self) -> list[int]:
        """The pid of every target process started so far (one line per start in target.log)."""
        log = self.run_dir / "target.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return [int(match.group(3)) for match in _TARGET_LINE.finditer(text)]

    def wait_for_target(self) -> None:
        """Wait until the target racecheck started answers /health."""

        def found() -> bool:
            log = self.run_dir / "target.log"
            match = _TARGET_LINE.search(log.read_text(errors="replace")) if log.exists() else None
            if match is not None:
                self.url = f"http://{match.group(1)}:{match.group(2)}"
            return match is not None and self.get("/health") is not None

        assert wait_for(found), f"the target never answered\n{self.describe()}"

    def get(self, path: str) -> dict[str, Any] | None:
        """GET a JSON path from the target, or None when it does not answer."""
        try:
            reply = requests.get(self.url + path, timeout=2)
            body: dict[str, Any] = reply.json()
        except (requests.RequestException, ValueError):
            return None
        return body if reply.ok else None

    def interrupt(self, sig: signal.Signals) -> Interrupted:
        """Send ``sig`` to the command's group, as a terminal does; check nothing is left."""
        serving = self.target_pids()
        health = self.get("/health") if self.url else None
        if health is not None:
            serving.append(int(health["pid"]))  # a gunicorn worker, not only its arbiter
        began = time.monotonic()
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            message = f"no exit {EXIT_WAIT:g} s after {sig.name}\n{self.describe()}"
            raise AssertionError(message) from None
        seconds = time.monotonic() - began
        stdout, stderr = self.output()
        outcome = Interrupted(
            tuple(self.argv[1:]), self.process.returncode, stdout, stderr, seconds, self.run_dir
        )
        self.assert_nothing_left(serving, outcome)
        return outcome

    def assert_nothing_left(self, serving: list[int], outcome: Interrupted) -> None:
        """The command's group, the target's processes and anything tagged are all gone."""
        pids = set(serving) | set(self.target_pids())
        wait_for(lambda: not group_members(self.process.pid), timeout=GONE_WAIT)
        wait_for(lambda: not any(alive(pid) for pid in pids), timeout=GONE_WAIT)
        # The lifeline's keeper (and whatever it ends) also carries the tag: give it the
        # same time to leave, then whatever is left is a leak.
        wait_for(lambda: not tagged_processes(self.tag), timeout=GONE_WAIT)
        left = {
            "racecheck's process group": sorted(group_members(self.process.pid)),
            "target processes": sorted(pid for pid in pids if alive(pid)),
            "tagged processes": tagged_processes(self.tag),
        }
        if any(left.values()):
            raise AssertionError(f"processes left running: {left}\n{outcome.describe()}")
