"""The faults a nemesis injects: each strikes once per call and records itself in the history.

Each one is an operation of process ``"nemesis"``: an invoke when it strikes and one
completion with what happened. :mod:`loadtests.nemesis.runner` decides when they strike.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from loadtests.drive.client import SessionTransport, Timeout
from loadtests.errors import LaunchError
from loadtests.history import History, OpType
from loadtests.nemesis.proxy import FaultProxy
from loadtests.nemesis.schedule import Schedule
from loadtests.target.workload import RequestSpec

if TYPE_CHECKING:
    from loadtests.target.launcher import RunningTarget

PROCESS = "nemesis"
FAULTS_PATH = "/_racecheck/faults"
RESTART_READY_TIMEOUT = 30.0


class Fault(Protocol):
    """One kind of fault: strike once (a window ends by ``stop``), and clean up at the end."""

    name: str

    def strike(self, index: int, schedule: Schedule, stop: threading.Event) -> None:
        """Inject the fault once, recording it as nemesis ops; return when it is over."""
        ...

    def close(self) -> None:
        """Release what the fault holds (connections, sessions)."""
        ...


class GiveUp(Exception):
    """A fault cannot strike again (e.g. the target did not come back)."""


class KillRestart:
    """SIGKILL the target's group, restart it on the same port, re-open the round."""

    name = "kill-restart"

    def __init__(self, target: RunningTarget, history: History, reopen: Callable[[], None]):
        self.target, self.history, self.reopen = target, history, reopen

    def strike(self, index: int, schedule: Schedule, stop: threading.Event) -> None:
        old = self.target.pid
        group = sorted(self.target.process.group_pids())
        inv = self.history.invoke(PROCESS, "kill", {"pid": old, "signal": "SIGKILL", "n": index})
        self.target.kill()
        self.history.complete(inv, "ok", {"pid": old, "pids": group, "port": self.target.port})
        # The downtime; cut short when the load ends, so the final read finds a live target.
        stop.wait(schedule.duration)
        inv = self.history.invoke(PROCESS, "restart", {"port": self.target.port, "n": index})
        began = time.monotonic()
        try:
            self.target.restart(RESTART_READY_TIMEOUT)
        except LaunchError as exc:
            self.history.complete(inv, "info", {"error": str(exc).splitlines()[0][:300]})
            raise GiveUp(f"the target did not come back after a restart: {exc}") from exc
        ready = round(time.monotonic() - began, 3)
        self.history.complete(
            inv, "ok", {"pid": self.target.pid, "port": self.target.port, "ready_s": ready}
        )
        # The new process has an empty store: open a round again, as at the start,
        # so the rest of the load still exercises the server (else every vote is a 409).
        self.reopen()

    def close(self) -> None:
        """Nothing to undo: the target's own stop() ends the last process."""


class Stall:
    """Arm the reference app's stall hook for one window."""

    name = "stall"
    wheres = ("after", "before")  # alternate: took effect unseen / will take effect late

    def __init__(self, url: str, history: History, seconds: float) -> None:
        self.url, self.history, self.seconds = url, history, seconds
        self.transport = SessionTransport(timeout=Timeout(connect=2.0, read=3.0))

    def strike(self, index: int, schedule: Schedule, stop: threading.Event) -> None:
        where = self.wheres[index % 2]
        params = {"stall_seconds": self.seconds, "for_seconds": schedule.duration, "where": where}
        inv = self.history.invoke(PROCESS, "stall", {**params, "n": index})
        reply = self.transport.send(RequestSpec("POST", FAULTS_PATH, json=params), self.url)
        if reply.error is not None or reply.status != 200:
            kind: OpType = "fail" if reply.refused or 400 <= reply.status < 500 else "info"
            error = reply.error or reply.text.strip()[:300]
            self.history.complete(inv, kind, {"status": reply.status or None, "error": error})
            return
        armed = _json(reply.text)
        ended = "expired"
        if stop.wait(schedule.duration):
            self.transport.send(RequestSpec("DELETE", FAULTS_PATH), self.url)
            ended = "disarmed when the load stopped"
        value = {**params, "pid": armed.get("pid"), "ended": ended}
        self.history.complete(inv, "ok", value)

    def close(self) -> None:
        self.transport.close()


class Resets:
    """Open a window in which the fault proxy resets connections as replies arrive."""

    name = "reset-connections"

    def __init__(self, proxy: FaultProxy, history: History) -> None:
        self.proxy, self.history = proxy, history

    def strike(self, index: int, schedule: Schedule, stop: threading.Event) -> None:
        inv = self.history.invoke(
            PROCESS, "reset-connections", {"for_seconds": schedule.duration, "n": index}
        )
        before = self.proxy.resets
        self.proxy.set_faulty(True)
        try:
            stop.wait(schedule.duration)
        finally:
            self.proxy.set_faulty(False)
        self.history.complete(inv, "ok", {"resets": self.proxy.resets - before})

    def close(self) -> None:
        """The proxy is closed by the NemesisSet, after the load."""


def _json(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # a reply nested too deep is no reply
        return {}
    return parsed if isinstance(parsed, dict) else {}
