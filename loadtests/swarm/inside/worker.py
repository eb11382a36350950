"""The worker side of racecheck in Locust: record every vote, hand in the history at the end.

A worker (or the single local runner) starts a :class:`WorkerLedger` at each
test start, from the run info the master put in the spawn message. Its users
vote through it; at its test_stop, after the users finished (or were killed),
it writes its history and sends the master one final message with the counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import locust.runners
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from loadtests import defaults
from loadtests.errors import RacecheckError
from loadtests.swarm.accounting import WorkerLedger
from loadtests.swarm.live import CollisionWatch
from loadtests.swarm.options import RacecheckOptions
from loadtests.swarm.protocol import DONE_MSG, FINAL_MSG, HELLO_MSG, WorkerFinal, describe_worker
from loadtests.target.workload import Workload

if TYPE_CHECKING:
    from loadtests.swarm.inside.seat import Seat

logger = logging.getLogger("racecheck")

# A worker asks for its master every CONNECT_TIMEOUT (5) seconds and gives up after
# CONNECT_RETRY_COUNT more tries, 60 by default: five minutes, the first 30 s without a
# word. The locustfile is imported before the worker runner connects, so setting the
# bound here makes an unreachable master an error within MASTER_CONNECT_WAIT seconds
# (Locust then logs "Failed to connect to the Locust master" and exits non-zero).
locust.runners.CONNECT_RETRY_COUNT = max(
    0, round(defaults.MASTER_CONNECT_WAIT / locust.runners.CONNECT_TIMEOUT) - 1
)


@dataclass(frozen=True)
class WorkerRun:
    """A worker's part of the current test run."""

    options: RacecheckOptions
    workload: Workload
    ledger: WorkerLedger


class WorkerSide:
    """racecheck's worker role in one Locust process."""

    def __init__(self, node: Seat) -> None:
        self.node = node
        self.run: WorkerRun | None = None

    def start(self, options: RacecheckOptions) -> None:
        """test_start: a fresh ledger, numbered and bounded as the master said."""
        info = options.run
        if info is None:
            raise RacecheckError(
                "the Locust master sent no racecheck run info: start the master with "
                "-f loadtests/locustfile.py too"
            )
        runner = self.node.runner
        worker_role = self.node.role == "worker"
        node_id = str(runner.client_id) if worker_role else "local"
        index = int(getattr(runner, "worker_index", 0))
        label = f"w{index}" if index >= 0 else f"w-{node_id[-6:]}"
        quota = None if info.quotas is None else info.quotas.get(node_id, 0)
        error = options.host_error(self.node.environment.host)
        if error is not None:
            # The worker enforces it too: the master's check cannot stop its users.
            logger.error("this worker sends no votes: %s", error)
            quota = 0
        workload = options.workload()
        ledger = WorkerLedger(
            info.run_id,
            label,
            node_id,
            Path(info.run_dir) / "workers" / f"{label}-{node_id[-8:]}.history.jsonl",
            prefix=options.vote_prefix or f"{info.run_id}-",
            quota=quota,
            choices=workload.choices,
            watch=CollisionWatch(
                shared_state=workload.shared_state, active=workload.reply != "reread"
            ),
        )
        self.run = WorkerRun(options, workload, ledger)
        if worker_role:
            runner.send_message(HELLO_MSG, {"run_id": info.run_id, "worker": label})
        quota_text = "no vote quota" if quota is None else f"a quota of {quota} votes"
        logger.info(
            "%s joined run %s with %s", describe_worker(label, node_id), info.run_id, quota_text
        )

    def hand_in(self) -> WorkerFinal | None:
        """test_stop: write the history and send the final counts (once per run)."""
        if self.run is None or self.run.ledger.final is not None:
            return None
        final = self.run.ledger.finish()
        logger.info("%s wrote %s", final.describe(), final.path)
        if self.node.role == "worker":
            self.node.runner.send_message(FINAL_MSG, final.to_dict())
        return final

    def on_stop_message(self, environment: Environment, msg: Any, **_: Any) -> None:
        """The master wants this run's final counts now."""
        run = self.run
        if run is None or msg.data.get("run_id") != run.ledger.run_id:
            return
        runner = self.node.runner
        if run.ledger.final is not None:
            runner.send_message(FINAL_MSG, run.ledger.final.to_dict())  # resent: idempotent
        elif runner.state in (STATE_RUNNING, STATE_SPAWNING):
            runner.stop()  # users finish within --stop-timeout; test_stop hands in
        # Otherwise Locust is stopping already, and its test_stop will hand in.

    def on_report_to_master(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        """Add live, cumulative counts to Locust's periodic report."""
        if self.run is not None:
            data["racecheck"] = self.run.ledger.snapshot()

    def quota_spent(self, ledger: WorkerLedger) -> None:
        """Every user of a spent quota stopped: tell the master (a local runner ends itself)."""
        if self.node.role == "worker":
            self.node.runner.send_message(DONE_MSG, {"run_id": ledger.run_id})
        else:
            self.node.end_test()
