"""The master side of racecheck in Locust: open the round, collect every worker's counts, check.

At test start (before Locust sends any spawn message) the master picks the run
id, run directory and vote quotas and puts them on ``parsed_options``, which
Locust forwards to the workers. In standalone mode it also opens the round.
At test stop it tells every worker to stop and hand in, waits (bounded) for
each final message, then checks (standalone) or leaves a summary for the
harness (managed). The single local runner plays this role too.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gevent
from locust import __version__ as locust_version
from locust.env import Environment
from locust.runners import STATE_MISSING

from loadtests.check.checker import CheckSettings
from loadtests.history import iter_file
from loadtests.journal import merge_streams
from loadtests.run.round import Round
from loadtests.run.rundir import new_run_dir
from loadtests.swarm.accounting import Collected, MasterLedger, WorkerLedger, collect, split_quota
from loadtests.swarm.health import reported_build
from loadtests.swarm.live import LiveView, Peek
from loadtests.swarm.options import RacecheckOptions
from loadtests.swarm.protocol import RUN_ATTR, STOP_MSG, RunInfo, RunSummary, WorkerFinal
from loadtests.swarm.tally import tally_rows, verdict_line
from loadtests.target.redact import redact_text, redact_url

if TYPE_CHECKING:
    from loadtests.swarm.inside.seat import Seat

logger = logging.getLogger("racecheck")

POLL_INTERVAL = 1.0
LOST_WORKER_GRACE = 2.0


@dataclass
class MasterRun:
    """The master's part of the current test run."""

    options: RacecheckOptions
    info: RunInfo
    ledger: MasterLedger
    round: Round | None
    settings: dict[str, Any]
    state: str = "running"  # running -> checking -> done
    result: dict[str, Any] | None = None
    live: LiveView = field(default_factory=LiveView)
    started_ns: int = field(default_factory=time.time_ns)


class MasterSide:
    """racecheck's master role in one Locust process."""

    def __init__(self, node: Seat) -> None:
        self.node = node
        self.run: MasterRun | None = None
        self.finishing: gevent.Greenlet[Any, Any] | None = None

    @property
    def environment(self) -> Environment:
        """This process's Locust environment."""
        return self.node.environment

    # -- test start ----------------------------------------------------------------

    def start(self, options: RacecheckOptions) -> None:
        """test_start: decide the run's identity and quotas, and open the round."""
        self.join_finishing(60.0)  # a web UI user may start again while we still check
        # Refused before anything is sent: asking the server its build is traffic too, and
        # it yields to gevent, where Locust's --run-time may end the test before it is refused.
        refused = None if options.managed else options.host_error(self.environment.host)
        if refused is None:
            options = self._server_build(options)
        # The harness names the run (managed mode), so the summary it reads back is this run's.
        run_id = options.run_id or secrets.token_hex(4)
        run_dir = (
            options.results_dir
            if options.managed
            else new_run_dir(options.label, root=options.results_dir)
        )
        quotas = split_quota(options.votes, self._nodes()) if options.votes else None
        info = RunInfo(run_id, str(run_dir), quotas)
        setattr(self.environment.parsed_options, RUN_ATTR, info.to_dict())
        round_ = None
        if not options.managed:
            host = str(self.environment.host or "")
            round_ = Round(
                host,
                options.workload(),
                run_dir,
                options.timeout,
                allow_remote=options.allow_remote,
            )
            error = refused or round_.open()
            if error is not None:
                round_.setup_error = error
                logger.error("%s; ending the test", error)
        self.run = MasterRun(
            options, info, MasterLedger(run_id, quotas), round_, self._settings(options)
        )
        logger.info("run %s writes to %s", run_id, run_dir)
        if round_ is not None and round_.setup_error is not None:
            self.node.end_test()  # votes into an unopened round would prove nothing
        elif round_ is not None and self.environment.web_ui is not None:
            gevent.spawn(self._poll_server, self.run)

    def _server_build(self, options: RacecheckOptions) -> RacecheckOptions:
        """Name the run after the build the server reports, not what the form said."""
        if options.managed or options.target is not None:
            return options
        build = reported_build(str(self.environment.host or ""), options.timeout)
        if build is None or build == options.build:
            return options
        if options.build is not None:
            logger.warning(
                "the form says build %s, but the server at %s reports %s: the run is %s",
                options.build,
                self.environment.host,
                build,
                build,
            )
        # The workers read their options from here too (Locust forwards them).
        if self.environment.parsed_options is not None:
            self.environment.parsed_options.racecheck_build = build
        return replace(options, build=build)

    def _nodes(self) -> list[str]:
        if self.node.role != "master":
            return ["local"]
        # The workers runner.start() is about to dispatch to, in its order.
        clients = self.node.runner.clients
        return [w.id for w in clients.ready + clients.running + clients.spawning]

    def _settings(self, options: RacecheckOptions) -> dict[str, Any]:
        parsed = self.environment.parsed_options
        return {
            "name": options.label,
            "driver": "locust",
            "build": None if options.target else options.build,
            "target_file": str(options.target) if options.target else None,
            "target_url": redact_url(host) if (host := self.environment.host) else host,
            "expect": options.expect,
            "votes": options.votes,
            "clients": getattr(parsed, "num_users", None),
            "duration": getattr(parsed, "run_time", None),
            "stop_timeout": self.environment.stop_timeout,
            "locust_role": self.node.role,
            "locust_version": locust_version,
            "command": redact_text("locust " + " ".join(sys.argv[1:])),
        }

    def _poll_server(self, run: MasterRun) -> None:
        """Peek at the server's tally for the Tally tab while the run lasts."""
        assert run.round is not None
        while run.state == "running":
            try:
                self._peek(run)
            except Exception:  # a poll must never break the run: the tab shows "-"
                logger.debug("tally poll failed", exc_info=True)
            gevent.sleep(POLL_INTERVAL)

    @staticmethod
    def _peek(run: MasterRun) -> None:
        """One read of the tally, between the bounds it is judged by (see swarm/live.py)."""
        assert run.round is not None
        # Acknowledged before the read is sent: every one of these must be in it.
        lower = run.ledger.acked()
        tally = run.round.peek()
        # Taken after it completed: nothing sent later can be in it.
        upper = run.ledger.upper()
        if tally is None or run.state != "running":
            return  # no answer, or the stop came while we read: the final read decides
        seconds = (time.time_ns() - run.started_ns) / 1e9
        run.live.add(Peek(seconds, tally, lower, upper))

    # -- test stop -------------------------------------------------------------------

    def stop(self) -> None:
        """test_stop: collect and check, inline when headless (before Locust quits)."""
        run = self.run
        if run is None or run.state != "running":
            return
        run.state = "checking"
        if self.node.headless:
            self._finish(run)
        else:
            self.finishing = gevent.spawn(self._finish, run)

    def join_finishing(self, timeout: float) -> None:
        """Wait for a check that runs in the background (web UI mode)."""
        if self.finishing is not None:
            self.finishing.join(timeout=timeout)

    def _finish(self, run: MasterRun) -> None:
        try:
            if self.node.role == "master":
                self._await_finals(run)
            gaps = tuple(run.ledger.missing())
            if run.options.managed:
                summary = RunSummary(run.info.run_id, tuple(run.ledger.finals.values()), gaps)
                summary.write(Path(run.info.run_dir) / "summary.json")
            else:
                assert run.round is not None
                collected = collect(run.ledger.finals.values(), gaps, keep=False)
                run.result = self._close(run, collected)
        except Exception as exc:
            logger.exception("the check could not run")
            run.result = {"verdict": "ERROR", "reason": str(exc), "exit_code": 4, "counts": {}}
        finally:
            run.state = "done"
        if run.result is not None:
            print(verdict_line(run.result, run.info.run_dir), flush=True)

    def _close(self, run: MasterRun, collected: Collected) -> dict[str, Any]:
        """Stop the round, read the final tally, and record the run (the one round code)."""
        assert run.round is not None
        run.round.close()
        workload = run.round.workload
        settings = CheckSettings(
            expect=run.options.expect,
            choices=workload.choices,
            shared_state=workload.shared_state,
            gaps=collected.gaps,
            reply=workload.reply,
        )
        run_settings = {**run.settings, "workers": collected.workers}
        # The workers' files streamed, not read into memory (each is in time order).
        load = merge_streams([iter_file(path) for path in collected.paths])
        return run.round.record(load, settings, run_settings, "locust").result

    def _await_finals(self, run: MasterRun) -> None:
        """Stop every worker and wait until each participant's final message is in."""
        runner = self.node.runner
        runner.send_message(STOP_MSG, {"run_id": run.info.run_id})
        timeout = float(self.environment.stop_timeout or 0) + run.options.final_timeout
        deadline = time.monotonic() + timeout
        lost_since: float | None = None
        while (waiting := run.ledger.waiting()) and time.monotonic() < deadline:
            gone = [
                n
                for n in waiting
                if (c := runner.clients.get(n)) is None or c.state == STATE_MISSING
            ]
            # A worker that stopped heartbeating will not answer: give up on it soon,
            # rather than at the deadline.
            if len(gone) < len(waiting):
                lost_since = None
            elif lost_since is None:
                lost_since = time.monotonic()
            elif time.monotonic() - lost_since > LOST_WORKER_GRACE:
                break
            gevent.sleep(0.1)
        for line in run.ledger.missing():
            logger.error("%s", line)

    # -- messages --------------------------------------------------------------------

    def accept_final(self, final: WorkerFinal) -> None:
        """A worker's final counts (or the local runner's own)."""
        if self.run is not None:
            self.run.ledger.accept_final(final)

    def on_final(self, environment: Environment, msg: Any, **_: Any) -> None:
        """A worker's final message."""
        self.accept_final(WorkerFinal.from_dict(msg.data))

    def on_hello(self, environment: Environment, msg: Any, **_: Any) -> None:
        """A worker started voting in a run."""
        if self.run is not None and msg.data.get("run_id") == self.run.info.run_id:
            self.run.ledger.join(str(msg.node_id), str(msg.data.get("worker")))

    def on_done(self, environment: Environment, msg: Any, **_: Any) -> None:
        """A worker spent its vote quota; when all have, the test ends."""
        if self.run is None:
            return
        self.run.ledger.finished_quota(str(msg.node_id), str(msg.data.get("run_id")))
        if self.run.ledger.all_done():
            self.node.end_test()

    def on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        """A worker's live counts (and so, that it takes part)."""
        if self.run is not None and isinstance(data.get("racecheck"), dict):
            self.run.ledger.note_report(client_id, data["racecheck"])

    def join_local(self, ledger: WorkerLedger) -> None:
        """The local runner's own worker side takes part, with live counts shared."""
        if self.run is not None:
            self.run.ledger.join(ledger.node, ledger.worker)
            self.run.ledger.live[ledger.node] = ledger.acked  # the dict the users update
            self.run.ledger.local = ledger

    # -- the outcome -------------------------------------------------------------------

    def exit_code(self) -> int | None:
        """The verdict's exit code for a standalone run that was checked."""
        run = self.run
        if run is None or run.options.managed or run.result is None:
            return None
        return int(run.result.get("exit_code", 4))

    def unjudged(self, managed: bool) -> bool:
        """A standalone run (not one racecheck run manages) that never reached a verdict.

        ``managed``: the options as parsed, for when no test started at all.
        """
        run = self.run
        if run is None:
            return not managed
        return not run.options.managed and run.result is None

    def tally(self) -> dict[str, Any]:
        """What the Tally tab shows of the current (or last) run."""
        run = self.run
        if run is None:
            return {"state": "idle", "rows": [], "points": [], "collisions": None}
        collisions = run.ledger.live_collisions()
        return {
            "state": run.state,
            "run_id": run.info.run_id,
            "run_dir": run.info.run_dir,
            "build": run.options.build,
            "rows": tally_rows(run.live, collisions, state=run.state, result=run.result),
            "points": run.live.points,
            "collisions": collisions,
            "verdict": run.result.get("verdict") if run.result is not None else None,
        }

    def announce(self, path: Path) -> None:
        """Write this process's ports to ``path`` once it listens (for the harness)."""

        def write() -> None:
            web_ui: Any = self.environment.web_ui
            info: dict[str, Any] = {"pid": os.getpid(), "role": self.node.role}
            run_id = getattr(self.environment.parsed_options, "racecheck_run_id", None)
            if run_id:
                info["run_id"] = run_id  # the harness refuses an announcement of another run
            if self.node.role == "master":
                info["master_port"] = self.node.runner.server.port
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
