"""One standalone Locust run as its master sees it: open the round, then close, read and check.

When Locust runs on its own (``locust -f loadtests/locustfile.py --headless``,
the web UI, docker compose) there is no ``racecheck run`` around it, so the
master (or the single local runner) does the harness's part itself: it opens a
resolution before any user starts, and after every worker's final counts are
in it stops the resolution, reads the final tally, checks the merged history
and writes the same run directory as ``racecheck run``. Nothing here imports
locust; under Locust, requests' sockets are gevent's, so these calls yield.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.check.exitcodes import exit_code_for
from loadtests.check.verdict import CheckResult, Verdict
from loadtests.drive.client import Client, SessionTransport, Timeout
from loadtests.history import History, merge
from loadtests.run.rundir import result_dict, write_history, write_result
from loadtests.stats import summarize
from loadtests.swarm.accounting import Collected
from loadtests.swarm.options import CONNECT_TIMEOUT, RacecheckOptions
from loadtests.target.workload import Workload


class Round:
    """The harness's part of one standalone Locust run, done by the master."""

    def __init__(
        self,
        url: str,
        workload: Workload,
        options: RacecheckOptions,
        run_dir: Path,
        settings: Mapping[str, Any],
    ) -> None:
        self.url = url.rstrip("/")
        self.workload = workload
        self.options = options
        self.run_dir = run_dir
        self.settings = dict(settings)
        self.harness = History("harness")
        self.setup_error: str | None = None

    def _client(self, history: History | None = None) -> Client:
        timeout = Timeout(connect=CONNECT_TIMEOUT, read=self.options.timeout)
        return Client(
            SessionTransport(timeout=timeout),
            self.url,
            self.workload,
            self.harness if history is None else history,
            "harness",
        )

    def open(self) -> str | None:
        """Send the workload's setup steps (start a resolution); the error, if one failed."""
        client = self._client()
        for step in self.workload.setup:
            op = client.step(step)
            if op.type != "ok":
                self.setup_error = (
                    f"setup step {step.f!r} against {self.url} was not acknowledged: {op.value}"
                )
                return self.setup_error
        return None

    def peek(self) -> dict[str, int] | None:
        """The server's current counts, read off the record (for the live Tally tab)."""
        op = self._client(History("harness")).read()
        if op.type != "ok" or not isinstance(op.value, Mapping):
            return None
        return dict(op.value["counts"])

    def close(self, collected: Collected, interrupted: str | None = None) -> dict[str, Any]:
        """Stop the round, read the final tally, check everything and write the run directory."""
        final = FinalState(None)
        if self.setup_error is None:
            client = self._client()
            for step in self.workload.teardown:
                client.step(step)
            invoked = time.time_ns()
            final = FinalState.from_read(client.read(), invoked)
        ops = merge([self.harness.ops(), collected.ops], driver="locust").ops()
        settings = CheckSettings(
            expect=self.options.expect,
            choices=self.workload.choices,
            shared_state=self.workload.shared_state,
            gaps=collected.gaps,
            interrupted=interrupted,
            reply=self.workload.reply,
        )
        if self.setup_error is not None:
            error = CheckResult("setup", "ERROR", self.setup_error)
            verdict = Verdict("ERROR", (error,), {}, settings.expect, False, self.setup_error)
        else:
            verdict = check(ops, final, settings)
        write_history(self.run_dir, History("locust", ops))
        exit_code = exit_code_for(verdict)
        self.settings["workers"] = collected.workers
        result = result_dict(
            verdict,
            final,
            settings,
            self.settings,
            summarize(ops),
            str(self.settings.get("command", "")),
            exit_code,
        )
        write_result(self.run_dir, result)
        return result
