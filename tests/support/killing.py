"""Start ``racecheck`` in its own session, SIGKILL it mid-run, and see what it left."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from support.cli import RACECHECK, TAG_VARIABLE, tagged_processes


@dataclass
class Killable:
    """A racecheck command running in its own session, tagged like support.cli's."""

    process: subprocess.Popen[bytes]
    tag: str

    def wait_until(self, ready: Callable[[], bool], timeout: float = 120.0) -> None:
        """Poll ``ready`` until it holds; the command must still be running then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if ready():
                break
            time.sleep(0.1)
        assert self.process.poll() is None, "the run ended before it could be killed"

    def sigkill(self) -> None:
        """SIGKILL the command's process group, as `kill -9` of a terminal job does."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def leftovers(self, grace: float = 5.0, also: Callable[[], bool] = lambda: False) -> list[int]:
        """Processes it started still alive after ``grace`` s (or once ``also`` is false)."""
        deadline = time.monotonic() + grace
        while (tagged_processes(self.tag) or also()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return tagged_processes(self.tag)


@contextlib.contextmanager
def killable(*args: str, env: dict[str, str] | None = None) -> Iterator[Killable]:
    """``racecheck ARGS`` in its own session; whatever it started is killed afterwards."""
    tag = uuid.uuid4().hex
    process = subprocess.Popen(
        [RACECHECK, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {}), TAG_VARIABLE: tag, "CI": "1"},
        start_new_session=True,
    )
    try:
        yield Killable(process, tag)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        for pid in tagged_processes(tag):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
