"""Run ``racecheck`` as a real subprocess and prove it left no process behind.

Each command runs in its own process group with a unique tag in its environment.
Every process it starts (the target server, gunicorn's workers) inherits the tag,
even after it has been re-parented, so when the command has exited a scan of
``/proc/*/environ`` finds anything it left running. Leftovers are killed by PID and
the test fails: a run that leaves a process behind is a failing run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RACECHECK = str(Path(sys.executable).with_name("racecheck"))
TAG_VARIABLE = "RACECHECK_E2E_TAG"
# A loaded 2-core machine: generous, and only a bound, never an expectation.
COMMAND_TIMEOUT = 150.0


@dataclass(frozen=True)
class CliResult:
    """What one ``racecheck`` command did: exit code, output, wall time, run directory."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    run_dir: Path | None

    def result(self) -> dict[str, Any]:
        """The run's result.json."""
        assert self.run_dir is not None, "this command was given no --out"
        data: dict[str, Any] = json.loads((self.run_dir / "result.json").read_text())
        return data

    def history(self) -> list[dict[str, Any]]:
        """The run's history.jsonl, one dict per op."""
        assert self.run_dir is not None
        lines = (self.run_dir / "history.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def check(self, name: str) -> dict[str, Any]:
        """One named check from result.json."""
        for check in self.result()["checks"]:
            if check["name"] == name:
                found: dict[str, Any] = check
                return found
        raise KeyError(name)

    def describe(self) -> str:
        """For assertion messages: the command and what it printed."""
        return (
            f"racecheck {' '.join(self.args)} -> exit {self.exit_code} in {self.seconds:.1f} s\n"
            f"--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"
        )


def tagged_processes(tag: str) -> list[int]:
    """Live (non-zombie) processes whose environment carries ``tag``."""
    needle = f"{TAG_VARIABLE}={tag}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as environ:
                if needle not in environ.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                state = stat.read().rpartition(")")[2].split()[0]
        except OSError:  # gone while we looked, or not ours to read
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def _kill(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _await_gone(tag: str, timeout: float) -> list[int]:
    # The command has exited, but a process it stopped may still be finishing its
    # exit (a gunicorn worker after its arbiter): poll, never a fixed sleep.
    deadline = time.monotonic() + timeout
    while (left := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def racecheck(
    *args: str,
    out: Path | None = None,
    timeout: float = COMMAND_TIMEOUT,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> CliResult:
    """Run ``racecheck ARGS [--out OUT]`` to completion and check it left nothing running."""
    argv = [RACECHECK, *args]
    if out is not None:
        argv += ["--out", str(out)]
    tag = uuid.uuid4().hex
    environment = {
        **os.environ,
        "CI": "1",  # no progress bar in captured output
        "COLUMNS": "200",  # rich tables unwrapped, so messages can be matched
        **(env or {}),  # a test may override those two (e.g. COLUMNS="": a bare pipe)
        TAG_VARIABLE: tag,
    }
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=environment,
        cwd=cwd,
        start_new_session=True,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        # Timed out or interrupted: end the command's group, then whatever it started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        _kill(tagged_processes(tag))
        raise
    seconds = time.monotonic() - started
    result = CliResult(tuple(args), process.returncode, stdout, stderr, seconds, out)
    left = _await_gone(tag, timeout=10.0)
    if left:
        _kill(left)
        raise AssertionError(f"processes left running: {left}\n{result.describe()}")
    return result
