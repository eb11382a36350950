"""One round, the harness's part of every run: open, (load), close, then record.

``racecheck run`` (both drivers) and the Locust master of a standalone Locust run
go through this one class, so they share the setup wording, the harness's
timeouts, the error verdict and, above all, the order of the record: the
history is on disk before anything judges it, a checker that raises becomes an
ERROR verdict instead of a lost run (Jepsen's ``check-safe``), and the report is
drawn last, from the files alone.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from loadtests import defaults
from loadtests.check.checker import CheckSettings, FinalState, check_safe
from loadtests.check.exitcodes import exit_code_for
from loadtests.check.verdict import CheckResult, Verdict
from loadtests.drive.client import Client, SessionTransport, Timeout
from loadtests.history import History, Op, iter_file
from loadtests.journal import PARTS_DIR, merge_streams, write_merged
from loadtests.report.notes import run_notes
from loadtests.run.rundir import HISTORY_FILE, result_dict, write_result
from loadtests.stats import summarize
from loadtests.target.workload import Workload


def harness_timeout(load_timeout: float, read_timeout: float | None = None) -> Timeout:
    """How long the harness's own requests wait.

    ``--timeout`` is for the load (a short one turns slow votes into info); setup,
    teardown and the final read are evidence and get at least the default, since the
    target may still be working off votes whose clients gave up. After Ctrl-C the
    caller passes a short ``read_timeout``: the user wants out now.
    """
    read = max(load_timeout, defaults.HARNESS_TIMEOUT) if read_timeout is None else read_timeout
    return Timeout(connect=min(defaults.CONNECT_TIMEOUT, read), read=read)


def error_verdict(name: str, detail: str, expect: str | None) -> Verdict:
    """The verdict of a run the harness could not complete (never a checker's)."""
    return Verdict("ERROR", (CheckResult(name, "ERROR", detail),), {}, expect, False, detail)


@dataclass(frozen=True)
class Record:
    """What a round leaves behind: the verdict, result.json's content and the exit code."""

    verdict: Verdict
    result: dict[str, Any]
    exit_code: int


class Round:
    """The harness's side of one run against a target at ``url``."""

    def __init__(
        self,
        url: str,
        workload: Workload,
        run_dir: Path,
        load_timeout: float = defaults.TIMEOUT,
        harness: History | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.workload = workload
        self.run_dir = run_dir
        self.load_timeout = load_timeout
        # With a journal (racecheck run), the harness's ops are on disk as they happen.
        self.harness = harness if harness is not None else History("harness")
        self.final = FinalState(None)
        self.setup_error: str | None = None
        # The harness failed during the load (it ran out of file descriptors): ERROR.
        self.harness_error: str | None = None

    def client(self, read_timeout: float | None = None, history: History | None = None) -> Client:
        """A client for the harness's own requests, recorded in its history."""
        transport = SessionTransport(timeout=harness_timeout(self.load_timeout, read_timeout))
        record = self.harness if history is None else history
        return Client(transport, self.url, self.workload, record, "harness")

    def open(self) -> str | None:
        """Send the workload's setup steps (start a resolution); the error, if one failed."""
        client = self.client()
        for step in self.workload.setup:
            op = client.step(step)
            if op.type != "ok":
                self.setup_error = (
                    f"setup step {step.f!r} was not acknowledged by {self.url}: {op.value}"
                )
                return self.setup_error
        if self.harness.journal is not None:
            self.harness.journal.flush()  # the opened round is on disk before any vote
        return None

    def peek(self) -> dict[str, int] | None:
        """The server's current counts, read off the record (for the live Tally tab)."""
        op = self.client(history=History("harness")).read()
        if op.type != "ok" or not isinstance(op.value, Mapping):
            return None
        return dict(op.value["counts"])

    def close(self, read_timeout: float | None = None) -> FinalState:
        """Send the teardown steps (stop the resolution) and read the final state."""
        if self.setup_error is not None:
            return self.final
        client = self.client(read_timeout)
        for step in self.workload.teardown:
            client.step(step)
        invoked = time.time_ns()
        self.final = FinalState.from_read(client.read(), invoked)
        return self.final

    def record(
        self,
        load: Iterable[Op],
        settings: CheckSettings,
        run_settings: Mapping[str, Any],
        driver: str,
    ) -> Record:
        """Write the history, check it safely, write result.json and junit.xml, render.

        ``load`` is in time order (a History's stream, or Locust's merged workers); it
        is merged with the harness's ops straight to history.jsonl, and the checks read
        that file back: the evidence is on disk, whole, before anything judges it.
        """
        if self.harness.journal is not None:
            self.harness.journal.close()
        path = self.run_dir / HISTORY_FILE
        write_merged(path, merge_streams([self.harness.stream(), load]))
        # The parts are in history.jsonl now (a kill before this line leaves them).
        shutil.rmtree(self.run_dir / PARTS_DIR, ignore_errors=True)
        ops = iter_file(path)
        if self.setup_error is not None:
            verdict = error_verdict("setup", self.setup_error, settings.expect)
        elif self.harness_error is not None:
            verdict = error_verdict("harness", self.harness_error, settings.expect)
        else:
            verdict = check_safe(ops, self.final, settings)
            if settings.interrupted and verdict.status == "UNKNOWN":
                # Other checks may be unknown too, but only because the run was cut short.
                verdict = replace(verdict, reason=verdict.check("interrupted").detail)
        stats = summarize(iter_file(path))
        return finish(self.run_dir, verdict, self.final, settings, run_settings, stats)


def finish(
    run_dir: Path,
    verdict: Verdict,
    final: FinalState,
    settings: CheckSettings,
    run_settings: Mapping[str, Any],
    stats: Mapping[str, Any] | None = None,
) -> Record:
    """Write result.json and junit.xml for a verdict, then draw index.html from them."""
    exit_code = exit_code_for(verdict)
    result = result_dict(
        verdict,
        final,
        settings,
        run_settings,
        dict(stats or {}),
        str(run_settings.get("command", "")),
        exit_code,
    )
    # What --preempt makes of the verdict (or that the GIL may hide a race): said once.
    result["notes"] = run_notes(verdict.status, bool(run_settings.get("preemption")))
    write_result(run_dir, result)
    render(run_dir)
    return Record(verdict, result, exit_code)


def render(run_dir: Path) -> None:
    """Draw the run's index.html from its files (matplotlib loads only now)."""
    from loadtests.report import render_run

    render_run(run_dir)


def harness_failure(
    run_dir: Path, message: str, settings: CheckSettings, run_settings: Mapping[str, Any]
) -> Record:
    """Record a run that could not happen (a target that never started), so CI has a result."""
    verdict = error_verdict("harness", message, settings.expect)
    return finish(run_dir, verdict, FinalState(None), settings, run_settings)
