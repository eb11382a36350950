"""racecheck's state in one Locust process, kept on its Environment, and what drives it.

Each Locust process plays one role: ``worker`` (runs users), ``master``
(coordinates workers) or ``local`` (both, in one process). Per-run state lives
on a :class:`Node` stored on the Environment, never in module globals, and is
replaced at every test start (the web UI can run several tests in a row).

The order of events is what makes the counts exact (Locust 2.47):

* test_start on the master fires before any spawn message is sent, so the
  round is opened and the run id, run directory and vote quotas are put on
  ``parsed_options``, which Locust forwards to the workers in that message;
* the master's test_stop fires while workers still run (a headless ``-t`` run
  quits without stopping them), so the master sends its own stop message and
  waits, bounded, for every worker's final message before checking;
* a worker's test_stop fires after its users finished (``--stop-timeout``) or
  were killed; whatever is still open is closed as ``info``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from locust import __version__ as locust_version
from locust import log as locust_log
from locust.env import Environment
from locust.runners import STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from loadtests.errors import RacecheckError, UsageError
from loadtests.locust_accounting import (
    MasterLedger,
    RunSummary,
    WorkerFinal,
    WorkerLedger,
    collect,
    split_quota,
)
from loadtests.locust_options import CONNECT_TIMEOUT, RUN_ATTR, RacecheckOptions, RunInfo
from loadtests.locust_round import Round
from loadtests.locust_tally import tally_rows, verdict_line
from loadtests.rundir import new_run_dir
from loadtests.safety import check_url
from loadtests.workload import Workload

logger = logging.getLogger("racecheck")

NODE_ATTR = "racecheck"
STOP_MSG = "racecheck_stop"
FINAL_MSG = "racecheck_final"
HELLO_MSG = "racecheck_hello"
DONE_MSG = "racecheck_done"
POLL_INTERVAL = 1.0


@dataclass(frozen=True)
class WorkerRun:
    """A worker's (or local runner's) part of the current test run."""

    options: RacecheckOptions
    workload: Workload
    ledger: WorkerLedger


@dataclass
class MasterRun:
    """The master's (or local runner's) part of the current test run."""

    options: RacecheckOptions
    info: RunInfo
    ledger: MasterLedger
    round: Round | None
    state: str = "running"  # running -> checking -> done
    server: dict[str, int] | None = None
    result: dict[str, Any] | None = field(default=None)


def node_of(environment: Environment) -> Node:
    """The racecheck node of this Locust process."""
    node: Node = getattr(environment, NODE_ATTR)
    return node


def locust_exit_code(environment: Environment) -> int:
    """The exit code Locust itself would choose (the rule in locust.main.shutdown)."""
    if environment.process_exit_code is not None:
        return environment.process_exit_code
    runner = environment.runner
    if runner is not None and (runner.errors or runner.exceptions):
        return int(getattr(environment.parsed_options, "exit_code_on_error", 1))
    return 2 if locust_log.unhandled_greenlet_exception else 0


class Node:
    """racecheck in one Locust process: its role and the current run's ledgers."""

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
        self.worker: WorkerRun | None = None
        self.master: MasterRun | None = None
        self.finishing: gevent.Greenlet[Any, Any] | None = None

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
        if self.worker is None:
            raise RacecheckError("a Locust user started before racecheck's test_start ran")
        return self.worker

    # -- test start --------------------------------------------------------------

    def start(self) -> None:
        """test_start: the master opens the round first, then the worker side starts."""
        if self.role != "worker":
            self._start_master(self.options())
        if self.role != "master":
            self._start_worker(self.options())

    def _host_error(self, options: RacecheckOptions) -> str | None:
        try:
            check_url(str(self.environment.host or ""), options.allow_remote)
        except UsageError as exc:
            return str(exc)
        return None

    def _start_master(self, options: RacecheckOptions) -> None:
        if self.finishing is not None:
            self.finishing.join(timeout=60)  # the previous web UI run is still being checked
        run_id = secrets.token_hex(4)
        run_dir = (
            options.results_dir
            if options.managed
            else new_run_dir(options.label, root=options.results_dir)
        )
        quotas = None
        if options.votes is not None:
            nodes = ["local"]
            if self.role == "master":
                # The workers runner.start() is about to dispatch to, in its order.
                clients = self.runner.clients
                nodes = [w.id for w in clients.ready + clients.running + clients.spawning]
            quotas = split_quota(options.votes, nodes)
        info = RunInfo(run_id, str(run_dir), quotas)
        setattr(self.environment.parsed_options, RUN_ATTR, info.to_dict())
        round_ = None
        if not options.managed:
            round_ = Round(
                str(self.environment.host or ""),
                options.workload(),
                options,
                run_dir,
                self._settings(options),
            )
            error = self._host_error(options) or round_.open()
            if error is not None:
                round_.setup_error = error
                logger.error("%s", error)
        self.master = MasterRun(options, info, MasterLedger(run_id, quotas), round_)
        logger.info("run %s writes to %s", run_id, run_dir)
        if round_ is not None and self.environment.web_ui is not None:
            gevent.spawn(self._poll_server, self.master)

    def _settings(self, options: RacecheckOptions) -> dict[str, Any]:
        parsed = self.environment.parsed_options
        return {
            "name": options.label,
            "driver": "locust",
            "build": None if options.target else options.build,
            "target_file": str(options.target) if options.target else None,
            "target_url": self.environment.host,
            "expect": options.expect,
            "votes": options.votes,
            "clients": getattr(parsed, "num_users", None),
            "duration": getattr(parsed, "run_time", None),
            "stop_timeout": self.environment.stop_timeout,
            "locust_role": self.role,
            "locust_version": locust_version,
            "command": " ".join(["locust", *sys.argv[1:]]),
        }

    def _start_worker(self, options: RacecheckOptions) -> None:
        info = options.run
        if info is None:
            raise RacecheckError(
                "the Locust master sent no racecheck run info: start the master with "
                "-f loadtests/locustfile.py too"
            )
        runner = self.runner
        node_id = str(runner.client_id) if self.role == "worker" else "local"
        index = int(getattr(runner, "worker_index", 0))
        label = f"w{index}" if index >= 0 else f"w-{node_id[-6:]}"
        quota = None if info.quotas is None else info.quotas.get(node_id, 0)
        error = self._host_error(options)
        if error is not None:
            logger.error("this worker sends no votes: %s", error)
            quota = 0
        path = Path(info.run_dir) / "workers" / f"{label}-{node_id[-8:]}.history.jsonl"
        ledger = WorkerLedger(
            info.run_id,
            label,
            node_id,
            path,
            prefix=options.vote_prefix or f"{info.run_id}-",
            quota=quota,
            choices=options.workload().choices,
        )
        self.worker = WorkerRun(options, options.workload(), ledger)
        if self.role == "worker":
            runner.send_message(HELLO_MSG, {"run_id": info.run_id, "worker": label})
        elif self.master is not None:
            self.master.ledger.join(node_id, label)
            # The same dict the users update: the local tally is always current.
            self.master.ledger.live[node_id] = ledger.acked

    def _poll_server(self, run: MasterRun) -> None:
        """Keep the server's current tally for the Tally tab while the run lasts."""
        assert run.round is not None
        while run.state == "running":
            try:
                run.server = run.round.peek()
            except Exception:  # a poll must never break the run: the tab just shows "-"
                logger.debug("tally poll failed", exc_info=True)
            gevent.sleep(POLL_INTERVAL)

    # -- test stop -----------------------------------------------------------------

    def stop(self) -> None:
        """test_stop: a worker hands in its history; the master collects and checks."""
        if self.worker is not None and self.worker.ledger.final is None:
            final = self.worker.ledger.finish()
            logger.info("%s wrote %s", final.describe(), final.path)
            if self.role == "worker":
                self.runner.send_message(FINAL_MSG, final.to_dict())
            elif self.master is not None:
                self.master.ledger.accept_final(final)
        run = self.master
        if run is not None and run.state == "running":
            run.state = "checking"
            if self.headless:
                self._finish(run)  # before Locust quits and stops listening to workers
            else:
                self.finishing = gevent.spawn(self._finish, run)

    def _finish(self, run: MasterRun) -> None:
        try:
            if self.role == "master":
                self._await_finals(run)
            gaps = tuple(run.ledger.missing())
            if run.options.managed:
                summary = RunSummary(run.info.run_id, tuple(run.ledger.finals.values()), gaps)
                summary.write(Path(run.info.run_dir) / "summary.json")
            else:
                assert run.round is not None
                run.result = run.round.close(collect(run.ledger.finals.values(), gaps))
        except Exception as exc:
            logger.exception("the check could not run")
            run.result = {"verdict": "ERROR", "reason": str(exc), "exit_code": 4, "counts": {}}
        finally:
            run.state = "done"
        if run.result is not None:
            print(verdict_line(run.result, run.info.run_dir), flush=True)

    def _await_finals(self, run: MasterRun) -> None:
        """Stop every worker and wait until each participant's final message is in."""
        self.runner.send_message(STOP_MSG, {"run_id": run.info.run_id})
        timeout = float(self.environment.stop_timeout or 0) + run.options.final_timeout
        deadline = time.monotonic() + timeout
        lost_since: float | None = None
        while (waiting := run.ledger.waiting()) and time.monotonic() < deadline:
            clients = self.runner.clients
            gone = [n for n in waiting if (c := clients.get(n)) is None or c.state == STATE_MISSING]
            # A worker that stopped heartbeating will not answer: stop waiting for it
            # soon, rather than at the deadline.
            if len(gone) < len(waiting):
                lost_since = None
            elif lost_since is None:
                lost_since = time.monotonic()
            elif time.monotonic() - lost_since > 2.0:
                break
            gevent.sleep(0.1)
        for line in run.ledger.missing():
            logger.error("%s", line)

    # -- messages and reports --------------------------------------------------------

    def on_final(self, environment: Environment, msg: Any, **_: Any) -> None:
        """Master: a worker's final counts."""
        if self.master is not None:
            self.master.ledger.accept_final(WorkerFinal.from_dict(msg.data))

    def on_hello(self, environment: Environment, msg: Any, **_: Any) -> None:
        """Master: a worker started voting in a run."""
        if self.master is not None and msg.data.get("run_id") == self.master.info.run_id:
            self.master.ledger.join(str(msg.node_id), str(msg.data.get("worker")))

    def on_done(self, environment: Environment, msg: Any, **_: Any) -> None:
        """Master: a worker spent its vote quota."""
        if self.master is None:
            return
        self.master.ledger.finished_quota(str(msg.node_id), str(msg.data.get("run_id")))
        if self.master.ledger.all_done():
            self._end_test()

    def on_stop_message(self, environment: Environment, msg: Any, **_: Any) -> None:
        """Worker: the master wants this run's final counts now."""
        run = self.worker
        if run is None or msg.data.get("run_id") != run.ledger.run_id:
            return
        if run.ledger.final is not None:
            self.runner.send_message(FINAL_MSG, run.ledger.final.to_dict())  # resend: idempotent
        elif self.runner.state in (STATE_RUNNING, STATE_SPAWNING):
            self.runner.stop()  # users finish within --stop-timeout; test_stop sends the final

    def on_report_to_master(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        """Worker: add live, cumulative counts to Locust's periodic report."""
        if self.worker is not None:
            data["racecheck"] = self.worker.ledger.snapshot()

    def on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        """Master: note a worker's live counts (and that it takes part)."""
        if self.master is not None and isinstance(data.get("racecheck"), dict):
            self.master.ledger.note_report(client_id, data["racecheck"])

    def quota_spent(self, ledger: WorkerLedger) -> None:
        """Every user of a spent quota has stopped: end the test (or tell the master)."""
        if self.role == "worker":
            self.runner.send_message(DONE_MSG, {"run_id": ledger.run_id})
        else:
            self._end_test()

    def _end_test(self) -> None:
        # A fresh greenlet: quit() kills the runner's greenlets, maybe the caller's.
        gevent.spawn(self.runner.quit if self.headless else self.runner.stop)

    # -- quitting ----------------------------------------------------------------------

    def on_quitting(self, environment: Environment, **_: Any) -> None:
        """Before Locust's own quit: finish the run, then set the exit code."""
        if self.runner.state in (STATE_RUNNING, STATE_SPAWNING):
            self.runner.stop()  # Ctrl-C or SIGTERM mid-run: test_stop still checks
        if self.finishing is not None:
            self.finishing.join(timeout=float(environment.stop_timeout or 0) + 60)
        run = self.master
        if run is None or run.options.managed or run.result is None:
            return
        verdict_code = int(run.result.get("exit_code", 4))
        # The verdict decides, unless it is a pass: then Locust's own failures still count.
        environment.process_exit_code = verdict_code or locust_exit_code(environment)

    def tally(self) -> list[dict[str, Any]]:
        """The Tally tab's rows for the current (or last) run."""
        run = self.master
        if run is None:
            return []
        return tally_rows(run.ledger.acked(), run.server, state=run.state, result=run.result)

    def announce(self, path: Path) -> None:
        """Write this process's ports to ``path`` once it listens (for the harness)."""

        def write() -> None:
            web_ui: Any = self.environment.web_ui
            info: dict[str, Any] = {"pid": os.getpid(), "role": self.role}
            if self.role == "master":
                info["master_port"] = self.runner.server.port
            if web_ui is not None:
                for _ in range(600):  # the server binds in its own greenlet, soon
                    if getattr(web_ui.server, "socket", None) is not None:
                        break
                    gevent.sleep(0.05)
                info["web_port"] = web_ui.server.socket.getsockname()[1]
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(info), encoding="utf-8")
            tmp.replace(path)

        gevent.spawn(write)


def default_stop_timeout(environment: Environment, options: RacecheckOptions) -> None:
    """Without --stop-timeout Locust kills users mid-request; let them finish instead."""
    if not environment.stop_timeout:
        environment.stop_timeout = CONNECT_TIMEOUT + options.timeout + 2.0
        logger.info(
            "--stop-timeout %gs (lets in-flight votes finish; pass one to change it)",
            environment.stop_timeout,
        )
