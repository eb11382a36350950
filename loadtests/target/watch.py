"""Notice a target that dies during the load, stop the load, and say why.

racecheck holds the target's listening socket (the launcher binds it and hands it
down), so when the server process dies the kernel still accepts connections into
the backlog: every client then waits out its full timeout, again and again, and a
3,000-vote run against a server that died at vote 500 took eight minutes to end
and never said what happened. The watch polls the server process; when it exits
on its own it closes the port (waiting and new connections are refused at once),
stops the load, and keeps the exit status and the last lines of the server's log
as the reason the run could not finish.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import TracebackType

from loadtests.target.launcher import RunningTarget

POLL_INTERVAL = 0.2  # seconds between looks: a dead target is noticed well within a second


def describe_status(status: int) -> str:
    """``exited with status 3`` or ``was killed by SIGKILL``, from a Popen return code."""
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"was killed by {name}"
    return f"exited with status {status}"


class TargetWatch:
    """Watches a running target during the load; ``reason`` says how it died, if it did."""

    # Under the kill-restart nemesis the caller passes no target: the nemesis kills it.

    def __init__(
        self,
        target: RunningTarget | None,
        on_death: Callable[[], None],
        interval: float = POLL_INTERVAL,
    ) -> None:
        self.target = target
        self.on_death = on_death
        self.interval = interval
        self.reason: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="racecheck-target-watch")
        self._thread.daemon = True

    def __enter__(self) -> TargetWatch:
        if self.target is not None:  # None: nothing to watch (a --target-url run)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread.ident is not None:
            self._thread.join()

    def _watch(self) -> None:
        target = self.target
        assert target is not None
        process = target.process
        while not self._done.wait(self.interval):
            status = process.poll()
            if status is None:
                continue
            if self._done.is_set():
                return  # the load ended first: the harness is stopping the target itself
            target.abandon()
            self.reason = (
                f"the target (pid {process.pid}) {describe_status(status)} during the load,"
                f" so the load was stopped and the run cannot be judged. "
                f"{target.log_excerpt()}"
            )
            self.on_death()
            return
