"""The requests driver: N client threads, one Session each, a bounded workload.

Threads claim vote numbers from one shared quota, so the load stops by itself
after ``votes`` votes or ``duration`` seconds. In burst mode every round of
votes is released at once from a barrier, the classic way to make two requests
land inside the same read-modify-write window.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loadtests import defaults
from loadtests.drive.client import Client, Reply, SessionTransport, Timeout, new_session
from loadtests.drive.limits import out_of_files
from loadtests.drive.session import log_in, share_jar
from loadtests.errors import UsageError
from loadtests.history import History
from loadtests.target.workload import RequestSpec, Workload

# After Ctrl-C, how long in-flight requests get to finish before they are recorded as
# info: a healthy target answers in milliseconds, and a stalled one may never.
INTERRUPT_GRACE = 1.5


@dataclass(frozen=True)
class Load:
    """How hard and how long to hammer: always bounded by votes or duration."""

    clients: int = defaults.CLIENTS
    votes: int | None = defaults.VOTES
    duration: float | None = None
    burst: bool = False
    seed: int = 0
    timeout: Timeout = field(default_factory=Timeout)
    vote_id_prefix: str = "v"
    allow_remote: bool = False  # whether a redirect may take the load off loopback

    def __post_init__(self) -> None:
        if self.clients < 1:
            raise UsageError("--clients must be at least 1")
        if (self.votes is None) == (self.duration is None):
            raise UsageError("give exactly one of --votes N or --duration SECONDS")
        if self.votes is not None and self.votes < 1:
            raise UsageError("--votes must be at least 1")
        if self.duration is not None and self.duration <= 0:
            raise UsageError("--duration must be a positive number of seconds")


class _Unplugged:
    """The transport of a client whose run was interrupted: it sends nothing, ever."""

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        """Refuse without touching the network, so the op is a definite fail."""
        return Reply(0, error="not sent: the run was interrupted", refused=True)


class _Quota:
    """Hands out vote numbers until the count or the deadline runs out, or stop is set."""

    def __init__(self, load: Load, stop: threading.Event) -> None:
        # itertools.count's __next__ is a single C call, atomic under the GIL.
        self._numbers = itertools.count()
        self._limit = load.votes
        self._deadline = (
            time.monotonic() + load.duration if load.duration is not None else float("inf")
        )
        self._stop = stop

    def claim(self) -> int | None:
        if self._stop.is_set() or time.monotonic() >= self._deadline:
            return None
        number = next(self._numbers)
        if self._limit is not None and number >= self._limit:
            return None
        return number


def _show_progress() -> bool:
    """A progress bar only for a person at a terminal, never in CI logs."""
    return sys.stderr.isatty() and not os.environ.get("CI")


class RequestsDriver:
    """Runs the workload's votes from a pool of threads, recording every op."""

    name = "requests"

    def __init__(self, load: Load, progress: bool | None = None) -> None:
        self.load = load
        self.progress = _show_progress() if progress is None else progress
        self.stop = threading.Event()
        self.harness_error: str | None = None
        self._done = [0] * load.clients  # one slot per thread: no lock needed
        self._clients: list[Client | None] = [None] * load.clients

    def _worker(
        self,
        index: int,
        url: str,
        workload: Workload,
        history: History,
        quota: _Quota,
        barrier: threading.Barrier | None,
    ) -> None:
        session = new_session(allow_remote=self.load.allow_remote)
        transport = SessionTransport(session=session, timeout=self.load.timeout)
        share_jar(transport, workload)  # session = "shared": one cookie jar for every client
        client = Client(transport, url, workload, history, index)
        self._clients[index] = client
        log_in(client)  # [[login]] in this client's own session, before its load
        rng = random.Random(self.load.seed * 1_000_003 + index)
        choices = workload.op_names  # counters, then collections, stocks and calls
        read_every, ops = workload.read_every, 0
        try:
            while True:
                ops += 1
                if read_every and ops % read_every == 0:
                    # Every Nth op reads the counters (it claims no vote): each read is
                    # checked against the votes acknowledged before it began.
                    if self.stop.is_set():
                        break
                    client.read()
                    continue
                number = quota.claim()
                if number is None:
                    break
                if barrier is not None:
                    self._wait(barrier)
                    if self.stop.is_set():
                        break  # released by an interrupt: this vote was never invoked
                choice = choices[rng.randrange(len(choices))]
                op = client.perform(choice, f"{self.load.vote_id_prefix}-{number}")
                self._done[index] += 1
                if (limit := out_of_files(op)) is not None:
                    self.harness_error = limit  # the harness's limit, not the target's
                    self.stop.set()
                    break
        finally:
            if barrier is not None:
                # Whoever runs out of work first releases the rest for good.
                barrier.abort()
            transport.close()

    @staticmethod
    def _wait(barrier: threading.Barrier) -> None:
        # A broken barrier means the burst is over (someone ran out of work):
        # the remaining votes go out unsynchronised.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    def run(self, url: str, workload: Workload, history: History) -> None:
        """Drive the load to completion (or until ``stop`` is set), then close open ops."""
        quota = _Quota(self.load, self.stop)
        barrier = threading.Barrier(self.load.clients) if self.load.burst else None
        threads = [
            threading.Thread(
                target=self._worker,
                args=(i, url, workload, history, quota, barrier),
                name=f"racecheck-client-{i}",
                daemon=True,
            )
            for i in range(self.load.clients)
        ]
        try:
            # Started inside the try: a Ctrl-C between two starts must still stop
            # the threads already running and close their open ops.
            for thread in threads:
                thread.start()
            self._wait_for(threads, self._progress_callback())
        except BaseException:
            # Ctrl-C or SIGTERM: stop handing out work, give in-flight requests
            # a moment, then record whatever is still open as info.
            self.stop.set()
            if barrier is not None:
                # Threads waiting for a burst round that will never fill up.
                barrier.abort()
            self._join(threads, INTERRUPT_GRACE)
            self._unplug(history.driver)
            history.close_pending("interrupted while in flight")
            raise
        history.close_pending()

    def _unplug(self, driver: str) -> None:
        """Detach every client from the run: late replies go to a scratch history.

        A request still in flight after the grace may be answered later; its
        completion must not land after the ``info`` that close_pending gives it
        (one invoke, two completions). Nothing new is sent either, so no vote can
        take effect unrecorded.
        """
        for client in self._clients:
            if client is not None:
                client.history = History(driver)
                client.transport = _Unplugged()

    def _progress_callback(self) -> Callable[[bool], None]:
        if not self.progress:
            return lambda final: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
        )
        total = self.load.votes if self.load.votes is not None else None
        task = bar.add_task(f"{self.load.clients} clients voting", total=total)
        bar.start()

        def update(final: bool) -> None:
            bar.update(task, completed=sum(self._done))
            if final:
                bar.stop()

        return update

    def _wait_for(self, threads: list[threading.Thread], update: Callable[[bool], None]) -> None:
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.1)
                    update(False)
        finally:
            update(True)

    def _join(self, threads: list[threading.Thread], grace: float) -> None:
        deadline = time.monotonic() + grace
        for thread in threads:
            if thread.ident is not None:  # join() refuses a thread never started
                thread.join(max(0.0, deadline - time.monotonic()))
