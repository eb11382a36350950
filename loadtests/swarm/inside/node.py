"""racecheck in one Locust process: its role, kept on the Environment, and the order of events.

Each Locust process plays one role: ``worker`` (runs users), ``master``
(coordinates workers) or ``local`` (both, in one process). Per-run state lives
on the :class:`Node` stored on the Environment, never in module globals, and is
replaced at every test start (the web UI can run several tests in a row).

The order of events is what makes the counts exact (Locust 2.47):

* the master's test_start fires before any spawn message is sent, so the
  round is open and the run info rides along in the spawn message;
* the master's test_stop fires while workers still run (a headless ``-t`` run
  quits without stopping them), so the master sends its own stop message and
  waits, bounded, for every worker's final message before checking;
* a worker's test_stop fires after its users finished (``--stop-timeout``) or
  were killed; whatever is still open is closed as ``info``;
* ``quitting`` listeners run in reverse order of registration; ours is added
  at init, after the runner's, so it runs first: it can still stop a run that
  Ctrl-C interrupted, have it checked, and set the exit code.
"""

from __future__ import annotations

import logging
from typing import Any

import gevent
from locust import log as locust_log
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from loadtests.check.exitcodes import EXIT_UNKNOWN
from loadtests.errors import RacecheckError
from loadtests.swarm.accounting import WorkerLedger
from loadtests.swarm.inside.master import MasterSide
from loadtests.swarm.inside.worker import WorkerRun, WorkerSide
from loadtests.swarm.options import CONNECT_TIMEOUT, RacecheckOptions

logger = logging.getLogger("racecheck")

NODE_ATTR = "racecheck"


def node_of(environment: Environment) -> Node:
    """The racecheck node of this Locust process."""
    node: Node = getattr(environment, NODE_ATTR)
    return node


def locust_exit_code(environment: Environment) -> int:
    """The exit code Locust itself would choose (the rule in locust.main's shutdown)."""
    if environment.process_exit_code is not None:
        return environment.process_exit_code
    runner = environment.runner
    if runner is not None and (runner.errors or runner.exceptions):
        return int(getattr(environment.parsed_options, "exit_code_on_error", 1))
    return 2 if locust_log.unhandled_greenlet_exception else 0


class Node:
    """racecheck in one Locust process: its role and, per role, the current run."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        runner = environment.runner
        self.role = (
            "master"
            if isinstance(runner, MasterRunner)
            else "worker"
            if isinstance(runner, WorkerRunner)
            else "local"
        )
        self.worker = WorkerSide(self) if self.role != "master" else None
        self.master = MasterSide(self) if self.role != "worker" else None

    @property
    def runner(self) -> Any:
        """The Locust runner (typed loosely: its subclasses differ in what they offer)."""
        return self.environment.runner

    @property
    def headless(self) -> bool:
        """True when no web UI drives the run (then checks happen inline, before quitting)."""
        return bool(getattr(self.environment.parsed_options, "headless", False))

    def options(self) -> RacecheckOptions:
        """The racecheck options as they are now (the web UI may have changed them)."""
        return RacecheckOptions.from_parsed(self.environment.parsed_options)

    def worker_run(self) -> WorkerRun:
        """The current run, for a user being created."""
        if self.worker is None or self.worker.run is None:
            raise RacecheckError("a Locust user started before racecheck's test_start ran")
        return self.worker.run

    def start(self) -> None:
        """test_start: the master side opens the round first, then the worker side starts."""
        if self.master is not None:
            self.master.start(self.options())
        if self.worker is not None:
            self.worker.start(self.options())  # read again: now with the run info
            if self.master is not None and self.worker.run is not None:
                self.master.join_local(self.worker.run.ledger)

    def stop(self) -> None:
        """test_stop: the worker side hands in its history, the master side checks."""
        if self.worker is not None:
            final = self.worker.hand_in()
            if final is not None and self.master is not None:
                self.master.accept_final(final)
        if self.master is not None:
            self.master.stop()

    def quota_spent(self, ledger: WorkerLedger) -> None:
        """The last user of a spent vote quota stopped."""
        if self.worker is not None:
            self.worker.quota_spent(ledger)

    def end_test(self) -> None:
        """End the test as if its run time were up (headless) or Stop were pressed (web UI)."""
        # A fresh greenlet: quit() kills the runner's greenlets, maybe the caller's.
        gevent.spawn(self.runner.quit if self.headless else self.runner.stop)

    def on_quitting(self, environment: Environment, **_: Any) -> None:
        """Before Locust's own quit: finish the run if Ctrl-C cut it short, set the exit code."""
        if self.runner.state in (STATE_RUNNING, STATE_SPAWNING):
            self.runner.stop()  # test_stop still hands in and checks
        if self.master is None:
            return
        self.master.join_finishing(float(environment.stop_timeout or 0) + 60.0)
        verdict_code = self.master.exit_code()
        if verdict_code is not None:
            # The verdict decides, unless it is a pass: then Locust's own failures count.
            environment.process_exit_code = verdict_code or locust_exit_code(environment)
        elif self.headless and self.master.unjudged(self.options().managed):
            # Locust quit before a run was checked (e.g. its --run-time timer fired before
            # test_start finished): no evidence, so never Locust's exit 0, which reads as PASS.
            print(
                "racecheck verdict: UNKNOWN — Locust quit before racecheck checked a run "
                f"(no votes were judged) — exit {EXIT_UNKNOWN}",
                flush=True,
            )
            environment.process_exit_code = EXIT_UNKNOWN


def default_stop_timeout(environment: Environment, options: RacecheckOptions) -> None:
    """Without --stop-timeout Locust kills users mid-request; let them finish instead."""
    if not environment.stop_timeout:
        environment.stop_timeout = CONNECT_TIMEOUT + options.timeout + 2.0
        logger.info(
            "--stop-timeout %gs (lets in-flight votes finish; pass one to change it)",
            environment.stop_timeout,
        )
