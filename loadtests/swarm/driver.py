"""The Locust driver: ``racecheck run --driver locust`` runs Locust as subprocesses.

Importing locust would monkey-patch this process with gevent, so Locust runs
in child processes, each in its own process group (``launcher.start_process``):
one local runner when ``--processes 1`` (a master adds a process and a network
hop but no load), else a master and N workers on loopback. They run in
*managed* mode: the harness has already opened the round, the users only vote,
every worker writes its history into ``RUN_DIR/locust/workers/`` and the master
writes ``summary.json`` with each worker's final counts. The driver merges the
histories into the run's history; a worker whose counts are missing becomes a
gap, which makes the verdict UNKNOWN.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from loadtests import defaults
from loadtests.errors import HistoryError, LaunchError
from loadtests.history import History
from loadtests.swarm.accounting import collect
from loadtests.swarm.options import CONNECT_TIMEOUT
from loadtests.swarm.protocol import RunSummary
from loadtests.target.launcher import ManagedProcess, start_process
from loadtests.target.workload import Workload

if TYPE_CHECKING:
    from loadtests.run.settings import RunSettings

LOCUSTFILE = Path(__file__).resolve().parent.parent / "locustfile.py"
REPO_ROOT = Path(__file__).resolve().parents[2]
FINAL_TIMEOUT = defaults.HARNESS_TIMEOUT
STARTUP_TIMEOUT = 60.0  # importing gevent and locust is slow on a loaded machine


def locust_env() -> dict[str, str]:
    """The environment for Locust children: unbuffered, and racecheck importable."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *inherited])
    return env


def locust_command(*args: str) -> list[str]:
    """``python -m locust -f loadtests/locustfile.py ARGS`` with this interpreter."""
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]


def wait_for_file(
    path: Path, process: ManagedProcess, timeout: float, run_id: str | None = None
) -> dict[str, object]:
    """Poll for a JSON file a child writes once it is ready; fail if the child dies first.

    With ``run_id``, a file that names another run (left by an earlier run) is not the
    announcement awaited: it is ignored until this run's child replaces it.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file():
            try:
                data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            if run_id is None or data.get("run_id") == run_id:
                return data
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise LaunchError(
        f"Locust ({' '.join(process.argv[-6:])}) did not announce itself in {path} within "
        f"{timeout:g} s; "
        + (f"see its log {process.log_path}" if process.log_path else "see its output above")
    )


class LocustDriver:
    """Runs the bounded load as Locust processes and merges their exact histories."""

    name = "locust"

    def __init__(self, settings: RunSettings, run_dir: Path, run_id: str | None = None) -> None:
        self.settings = settings
        self.run_id = run_id or secrets.token_hex(6)
        self.dir = run_dir / "locust"
        self.stop = threading.Event()
        self.gaps: tuple[str, ...] = ()
        # The workers' verified history files: the load's ops, each file in time order.
        self.sources: tuple[Path, ...] = ()
        self.stop_timeout = CONNECT_TIMEOUT + settings.timeout + 2.0
        self._main: ManagedProcess | None = None
        self._workers: list[ManagedProcess] = []

    def _racecheck_args(self) -> list[str]:
        s = self.settings
        args = ["--racecheck-managed", "--racecheck-results-dir", str(self.dir)]
        args += ["--racecheck-run-id", self.run_id]
        args += ["--racecheck-timeout", repr(s.timeout), "--racecheck-seed", str(s.seed)]
        args += ["--racecheck-final-timeout", repr(FINAL_TIMEOUT)]
        if s.target_file is not None:
            args += ["--racecheck-target", str(s.target_file.resolve())]
        else:
            args += ["--racecheck-build", s.build]
        if s.votes is not None:
            args += ["--racecheck-votes", str(s.votes)]
        if s.allow_remote:
            args.append("--racecheck-allow-remote")
        return args

    def _locust_args(self, url: str) -> list[str]:
        s = self.settings
        args = ["--headless", "--host", url, "-u", str(s.clients), "-r", str(s.clients)]
        args += ["--stop-timeout", str(math.ceil(self.stop_timeout)), "--only-summary"]
        if s.duration is not None:
            # Locust's run time is whole seconds.
            args += ["--run-time", f"{max(1, math.ceil(s.duration))}s"]
        return args

    def _deadline(self) -> float:
        s = self.settings
        load = s.duration if s.duration is not None else 120.0 + (s.votes or 0) * 0.05
        return time.monotonic() + STARTUP_TIMEOUT + load + self.stop_timeout + FINAL_TIMEOUT + 30

    def _start(self, url: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [*self._locust_args(url), *self._racecheck_args()]
        env = locust_env()
        if self.settings.processes == 1:
            self._main = start_process(
                locust_command(*args), env=env, log_path=self.dir / "locust.log"
            )
            return
        announce = self.dir / "master.json"
        master_args = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", "0"]
        master_args += ["--expect-workers", str(self.settings.processes)]
        master_args += ["--expect-workers-max-wait", str(int(STARTUP_TIMEOUT))]
        master_args += ["--racecheck-announce", str(announce)]
        self._main = start_process(
            locust_command(*args, *master_args), env=env, log_path=self.dir / "master.log"
        )
        port = wait_for_file(announce, self._main, STARTUP_TIMEOUT, self.run_id)["master_port"]
        for number in range(1, self.settings.processes + 1):
            worker_args = ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
            self._workers.append(
                start_process(
                    locust_command(*worker_args),
                    env=env,
                    log_path=self.dir / f"worker-{number}.log",
                )
            )

    def _wait(self) -> None:
        assert self._main is not None
        deadline = self._deadline()
        while self._main.wait(0.2) is None:
            if self.stop.is_set() or time.monotonic() > deadline:
                self._finish_early()
                return

    def _finish_early(self) -> None:
        """SIGTERM the master: Locust's shutdown still stops users, collects and summarises."""
        if self._main is None or self._main.poll() is not None:
            return
        self._main.send_signal(signal.SIGTERM)
        if self._main.wait(self.stop_timeout + FINAL_TIMEOUT + 30) is None:
            self._main.kill()

    def _stop_all(self, patience: float = 10.0) -> None:
        # Workers quit when the master tells them to; give them a moment, then stop them.
        deadline = time.monotonic() + patience
        for worker in self._workers:
            worker.wait(max(0.0, deadline - time.monotonic()))
        for process in [*self._workers, *([self._main] if self._main else [])]:
            process.stop(grace=3.0)

    def merge_into(self, history: History) -> None:
        """Verify every worker's history file (``sources``) and note the gaps."""
        try:
            summary = RunSummary.read(self.dir / "summary.json")
        except HistoryError as exc:
            log = "locust.log" if self.settings.processes == 1 else "master.log"
            self.gaps = (f"the Locust run left no summary of its workers ({exc}); see {log}",)
            return
        if summary.run_id != self.run_id:
            self.gaps = (
                f"the Locust summary {self.dir / 'summary.json'} belongs to run "
                f"{summary.run_id}, not to this run ({self.run_id}): its counts were not used",
            )
            return
        # Verified, not read in: the round streams the workers' files (memory stays flat).
        collected = collect(summary.finals, summary.gaps, keep=False)
        self.sources = collected.paths
        self.gaps = collected.gaps

    def run(self, url: str, workload: Workload, history: History) -> None:
        """Run Locust to completion (or until stopped), then merge every worker's history."""
        try:
            self._start(url)
            self._wait()
        except BaseException:
            # Ctrl-C, SIGTERM or a failed start: Locust still finishes what it can.
            self._finish_early()
            # The master has collected the workers' final counts by now; after Ctrl-C
            # they get a moment to quit, not ten seconds (they wait for a quit message).
            self._stop_all(patience=1.0)
            self.merge_into(history)
            raise
        self._stop_all()
        self.merge_into(history)
