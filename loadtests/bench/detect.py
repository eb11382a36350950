"""Race detection: how many votes a racy build takes until a lost vote is proven.

The unlocked build with its race window, and (``--preempt``) the naive build with forced
switches in the app's code; the locked build under ``--preempt`` must never be "detected".

A loss is proven the moment a second acknowledged vote of one counter (same
resolution, choice and server process) returns a count that another already
returned: both read the same value, so one increment overwrote the other (the
checker's unique-counts check). Each run votes on a fresh resolution and stops
early once that proof is in the history; the end-of-run checker verdict confirms it.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests import defaults
from loadtests.bench.load import close_resolution, reference_target
from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.defaults import ServerName
from loadtests.drive.client import Client, SessionTransport
from loadtests.drive.driver import Load, RequestsDriver
from loadtests.history import History, Op
from loadtests.target.preempt import Preempt
from loadtests.target.workload import reference_workload

POLL_SECONDS = 0.02


@dataclass(frozen=True)
class Scenario:
    """One way to provoke the race: the window, the switch interval, burst mode, a vote cap."""

    name: str
    race_window: str | None = None  # RACECHECK_RACE_WINDOW as given; None: the default
    switch_interval: float | None = None
    burst: bool = False
    max_votes: int = 1000
    build: str = "unlocked"
    preempt: bool = False  # forced switches in the app's code (--preempt, defaults' rate)

    def env(self) -> dict[str, str]:
        """The target's environment for this scenario."""
        env = Preempt().env() if self.preempt else {}
        if self.race_window is not None:
            env["RACECHECK_RACE_WINDOW"] = self.race_window
        if self.switch_interval is not None:
            env["RACECHECK_SWITCH_INTERVAL"] = repr(self.switch_interval)
        return env


class LossDetector:
    """Feeds on ops in history order; remembers the vote at which a loss was first proven."""

    def __init__(self) -> None:
        self.votes = 0  # vote completions seen so far
        self.detected_at: int | None = None
        self._seen: set[tuple[Any, ...]] = set()

    def feed(self, op: Op) -> bool:
        """Take one op; True once a loss has been proven."""
        if self.detected_at is not None:
            return True
        if op.f != "vote" or op.type == "invoke":
            return False
        self.votes += 1
        value = op.value if isinstance(op.value, Mapping) else {}
        count = value.get("count")
        if op.type != "ok" or count is None:
            return False
        key = (value.get("resolution_id"), value.get("choice"), value.get("pid"), count)
        if key in self._seen:
            self.detected_at = self.votes
            return True
        self._seen.add(key)
        return False


def first_proven_loss(ops: Iterable[Op]) -> int | None:
    """How many votes had completed when a loss was first proven (None: never)."""
    detector = LossDetector()
    for op in ops:
        if detector.feed(op):
            return detector.detected_at
    return None


def watch(history: History, stop: threading.Event, detector: LossDetector) -> None:
    """Set ``stop`` once the history proves a loss (saves most of a long run).

    Polling a snapshot costs a list copy per poll (about 0.1 ms for 40,000 ops),
    and it does not depend on how History appends internally.
    """
    position = 0
    while not stop.wait(POLL_SECONDS):
        ops = history.ops()
        for op in ops[position:]:
            if detector.feed(op):
                stop.set()
                return
        position = len(ops)


def detect_once(url: str, scenario: Scenario, clients: int, seed: int) -> dict[str, Any]:
    """One run on a fresh resolution: votes until proof (or the cap), then a full check."""
    workload = reference_workload(scenario.build)
    harness = History("harness")
    steps = Client(SessionTransport(), url, workload, harness, "harness")
    close_resolution(url)
    for step in workload.setup:
        steps.step(step)
    driver = RequestsDriver(
        Load(clients=clients, votes=scenario.max_votes, burst=scenario.burst, seed=seed),
        progress=False,
    )
    load = History("requests")
    watcher = threading.Thread(
        target=watch, args=(load, driver.stop, LossDetector()), name="racecheck-bench-watch"
    )
    watcher.start()
    try:
        driver.run(url, workload, load)
    finally:
        driver.stop.set()  # ends the watcher too
        watcher.join()
    for step in workload.teardown:
        steps.step(step)
    read = steps.read()
    ops = load.ops()
    final = FinalState(None)
    if read.type == "ok" and isinstance(read.value, Mapping):
        final = FinalState(read.value.get("counts"), read.value.get("resolution_id"))
    verdict = check(ops, final, CheckSettings(choices=workload.choices))
    at = first_proven_loss(ops)
    if at is None and verdict.status == "FAIL":
        at = sum(op.f == "vote" and op.type != "invoke" for op in ops)  # proven only at the end
    return {
        "detected": at is not None,
        "votes_to_detect": at,
        "votes_sent": sum(op.type == "invoke" for op in ops),
        "verdict": verdict.status,
        "lost": verdict.lost,
    }


def measure(
    scenario: Scenario,
    runs: int,
    server: ServerName = "waitress",
    threads: int = defaults.THREADS,
    clients: int = defaults.CLIENTS,
    scratch: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Repeat a scenario on one target: detection rate and median votes to detect."""
    results = []
    log_dir = scratch if scratch is not None else Path(tempfile.gettempdir())
    with reference_target(server, threads, scenario.build, log_dir, scenario.env()) as target:
        for number in range(runs):
            result = detect_once(target.url, scenario, clients, seed=number)
            results.append(result)
            progress(
                f"detect {scenario.name} run {number + 1}/{runs}: "
                f"{result['votes_to_detect'] if result['detected'] else 'not detected'}"
            )
    return summarize(scenario, results)


def summarize(scenario: Scenario, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Detection rate within the cap and the median votes to the first proof."""
    found = [r["votes_to_detect"] for r in results if r["detected"]]
    return {
        "scenario": scenario.name,
        "race_window": scenario.race_window,
        "switch_interval": scenario.switch_interval,
        "burst": scenario.burst,
        "build": scenario.build,
        "preempt": scenario.preempt,
        "max_votes": scenario.max_votes,
        "runs": len(results),
        "detected": len(found),
        "detection_rate": f"{len(found)}/{len(results)}",
        "median_votes_to_detect": statistics.median(found) if found else None,
        "max_votes_to_detect": max(found) if found else None,
        "results": results,
    }
