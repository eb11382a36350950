"""What a run says while it runs, for a log that no person watches live (CI, a pipe).

A start line (the target, its server, the run directory) and, every
``defaults.PROGRESS_EVERY`` seconds, a progress line (votes, rate, errors so far),
handed to a ``say`` callback as plain text: the CLI decides where it goes. The
requests driver's counts come from the history as it grows; Locust's users
report theirs only when they stop, so for them the line shows the server's
tally (a read, which changes nothing).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from loadtests import defaults
from loadtests.history import LOAD_FS, History
from loadtests.run.plan import Plan
from loadtests.run.settings import RunSettings
from loadtests.target.redact import redact_url

Say = Callable[[str], None]


@dataclass(frozen=True)
class Snapshot:
    """The load so far: completed votes and, of them, the ones not acknowledged."""

    seconds: float
    votes: int
    errors: int | None  # fail + info so far; None when the driver reports only at the end
    source: str = "completed"  # or "in the server's tally"


def start_line(settings: RunSettings, the_plan: Plan, url: str, run_dir: str) -> str:
    """One line: what is tested, where, how hard, and where the run is written."""
    spec = the_plan.spec
    if spec is None:
        target = f"the target already running at {redact_url(url)}"
    else:
        what = f"{spec.build} build" if spec.build else spec.app
        workers = f", {spec.workers} workers" if spec.workers > 1 else ""
        target = f"{what} on {spec.server} ({spec.threads} threads{workers}) at {redact_url(url)}"
    size = f"{settings.votes:,} votes" if settings.votes is not None else f"{settings.duration:g} s"
    load = f"{size} from {settings.clients} clients ({settings.driver} driver)"
    return f"racecheck run: {target}; {load}; run directory {run_dir}"


def progress_line(snapshot: Snapshot) -> str:
    """One line: votes so far, their rate, and the errors among them."""
    rate = snapshot.votes / snapshot.seconds if snapshot.seconds > 0 else 0.0
    line = (
        f"racecheck progress: {snapshot.seconds:.0f} s, {snapshot.votes:,} votes "
        f"{snapshot.source} ({rate:,.0f}/s)"
    )
    if snapshot.errors is None:
        return line + ", errors counted when the load stops"
    return line + f", {snapshot.errors:,} not acknowledged (fail or info)"


def from_history(history: History, seconds: float) -> Snapshot:
    """Completed votes of the load's history so far."""
    votes = errors = 0
    for (f, op_type), n in history.kinds().items():
        if f in LOAD_FS and op_type != "invoke":
            votes += n
            errors += n if op_type != "ok" else 0
    return Snapshot(seconds, votes, errors)


def from_tally(tally: dict[str, int] | None, seconds: float) -> Snapshot | None:
    """The server's tally so far (Locust), or None when it did not answer."""
    if tally is None:
        return None
    return Snapshot(seconds, sum(tally.values()), None, "in the server's tally")


@contextlib.contextmanager
def ticking(
    say: Say | None,
    snapshot: Callable[[float], Snapshot | None],
    every: float = defaults.PROGRESS_EVERY,
) -> Iterator[None]:
    """Say a progress line every ``every`` seconds while the body runs (nothing if no ``say``)."""
    if say is None:
        yield
        return
    stop = threading.Event()
    began = time.monotonic()

    def tick() -> None:
        while not stop.wait(every):
            with contextlib.suppress(Exception):  # a progress line is never worth a run
                shot = snapshot(time.monotonic() - began)
                if shot is not None and not stop.is_set():
                    say(progress_line(shot))

    thread = threading.Thread(target=tick, name="racecheck-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(every + defaults.HARNESS_TIMEOUT)
