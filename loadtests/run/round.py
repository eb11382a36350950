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
from loadtests.check.outcomes import summary
from loadtests.check.verdict import CheckResult, Verdict
from loadtests.drive.client import Client, SessionTransport, Timeout, new_session
from loadtests.history import History, Op, iter_file
from loadtests.journal import PARTS_DIR, merge_streams, write_merged
from loadtests.report.notes import run_notes
from loadtests.run.calibrate import calibrate, initial_read, log_size, record_tracebacks
from loadtests.run.preflight import PREFLIGHT_FILE, preflight, read_log
from loadtests.run.rundir import HISTORY_FILE, result_dict, write_history, write_result
from loadtests.stats import summarize
from loadtests.target.redact import redact_url
from loadtests.target.workload import Workload

# The history's name for the read before the load (the checks subtract what it saw).
BASELINE = "baseline"


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
        log_path: Path | None = None,
        harness: History | None = None,
        allow_remote: bool = False,
    ) -> None:
        self.url = url.rstrip("/")
        self.workload = workload
        self.run_dir = run_dir
        self.load_timeout = load_timeout
        self.log_path = log_path  # the target's log, for the first traceback in it
        # With a journal (racecheck run), the harness's ops are on disk as they happen.
        self.harness = harness if harness is not None else History("harness")
        self.final = FinalState(None)
        self.setup_error: str | None = None
        # Where the target log stood when the load began (None: no extras, not watched).
        self.log_start: int | None = None
        # Set when preflight found the target file at fault (2) or the app (4).
        self.setup_exit: int | None = None
        self.baseline: Op | None = None
        self.final_read_error: str | None = None
        # One session for all the harness's requests, as a browser keeps its cookies: a
        # login at the start still holds for the final read. Variables likewise.
        # It follows redirects by the load's rule: off loopback only with --allow-remote.
        self.session = new_session(allow_remote=allow_remote)
        self.variables: dict[str, str] = {}
        # The harness failed during the load (it ran out of file descriptors): ERROR.
        self.harness_error: str | None = None

    def client(self, read_timeout: float | None = None, history: History | None = None) -> Client:
        """A client for the harness's own requests, recorded in its history."""
        timeout = harness_timeout(self.load_timeout, read_timeout)
        transport = SessionTransport(self.session, timeout)
        record = self.harness if history is None else history
        client = Client(transport, self.url, self.workload, record, "harness")
        client.variables = self.variables  # the same dict: what one step extracts, all see
        return client

    def for_load(self, workload: Workload) -> Workload:
        """The workload the load runs: with setup's variables, and the shared cookie jar."""
        return replace(workload, variables=dict(self.variables), cookie_jar=self.session.cookies)

    def open(self) -> str | None:
        """Preflight, the setup steps (start a resolution), the baseline; the error, if any."""
        client = self.client()
        for step in self.workload.reset:  # [[reset]] requests: a known state first
            op = client.step(step)
            if op.type != "ok":
                self.setup_error = f"reset step was not acknowledged by {self.url}: {op.value}"
                return self.setup_error
        for step in self.workload.login:
            op = client.step(step)
            if op.type != "ok":
                self.setup_error = f"login step was not acknowledged by {self.url}: {op.value}"
                return self.setup_error
        if self.workload.preflight and self._preflight():
            return self.setup_error
        for step in self.workload.setup:
            op = client.step(step)
            if op.type != "ok":
                self.setup_error = (
                    f"setup step {step.f!r} was not acknowledged by {redact_url(self.url)}:"
                    f" {op.value}"
                )
                return self.setup_error
        # What the counters hold before the load: the checks judge the difference, so an
        # app need not start at zero, and preflight's own increments count nowhere. It
        # comes before calibration, whose votes are in the history and counted as such.
        self.baseline = client.read(f=BASELINE)
        if self.baseline.type != "ok":
            self.setup_error = (
                f"the baseline read before the load failed at {self.url}: {self.baseline.value}"
            )
            return self.setup_error
        if self.workload.extras:
            calibrate(client, self.harness)
            initial_read(client)
            # Tracebacks logged from here on are the load's (the errors check).
            self.log_start = log_size(self.run_dir / "target.log")
        if self.harness.journal is not None:
            self.harness.journal.flush()  # the opened round is on disk before any vote
        return None

    def _preflight(self) -> bool:
        """One pass of the workload before the load; True (and the error set) on a problem."""
        history = History("harness")
        problem = preflight(self.client(history=history), self.log_path)
        write_history(self.run_dir, history, name=PREFLIGHT_FILE)
        if problem is None:
            return False
        hint = f"\n{self.workload.preflight_hint}" if self.workload.preflight_hint else ""
        self.setup_error, self.setup_exit = problem.message + hint, problem.exit_code
        return True

    def peek(self) -> dict[str, int] | None:
        """The server's current counts, read off the record (for the live Tally tab)."""
        if self.workload.read_increments:
            return None  # a read that increments would change what the run measures
        op = self.client(history=History("harness")).read()
        if op.type != "ok" or not isinstance(op.value, Mapping):
            return None
        return dict(op.value["counts"])

    def close(self, read_timeout: float | None = None) -> FinalState:
        """Send the teardown steps (stop the resolution) and read the final state."""
        if self.setup_error is not None:
            return self.final
        client = self.client(read_timeout)
        if self.log_start is not None:
            record_tracebacks(self.harness, self.run_dir / "target.log", self.log_start)
        for step in self.workload.teardown:
            client.step(step)
        invoked = time.time_ns()
        read = client.read()
        if read.type != "ok" and isinstance(read.value, Mapping):
            self.final_read_error = str(read.value.get("error"))
        final = FinalState.from_read(read, invoked)
        if final.counts is not None and self.baseline is not None:
            counts = self.baseline.value.get("counts") if self.baseline.type == "ok" else None
            # The final read's own increments (a read that counts) are the harness's too.
            final = replace(
                final,
                baseline=dict(counts) if isinstance(counts, Mapping) else None,
                harness_added=self.workload.read_increments or None,
            )
        self.final = final
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
            name = "preflight" if self.setup_exit is not None else "setup"
            verdict = error_verdict(name, self.setup_error, settings.expect)
        elif self.harness_error is not None:
            verdict = error_verdict("harness", self.harness_error, settings.expect)
        else:
            verdict = check_safe(ops, self.final, settings)
            if settings.interrupted and verdict.status == "UNKNOWN":
                # Other checks may be unknown too, but only because the run was cut short.
                verdict = replace(verdict, reason=verdict.check("interrupted").detail)
        self.session.close()  # the harness sends nothing more
        # Each reader streams the file again: the history is never held whole.
        outcomes = summary(iter_file(path), read_log(self.log_path), self.final_read_error)
        return finish(
            self.run_dir,
            verdict,
            self.final,
            settings,
            run_settings,
            summarize(iter_file(path)),
            outcomes=outcomes,
            exit_code=self.setup_exit,
        )


def finish(
    run_dir: Path,
    verdict: Verdict,
    final: FinalState,
    settings: CheckSettings,
    run_settings: Mapping[str, Any],
    stats: Mapping[str, Any] | None = None,
    outcomes: Mapping[str, Any] | None = None,
    exit_code: int | None = None,
) -> Record:
    """Write result.json and junit.xml for a verdict, then draw index.html from them."""
    exit_code = exit_code_for(verdict) if exit_code is None else exit_code
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
    if outcomes is not None:
        result["outcomes"] = dict(outcomes)  # why ops were fail or info (check/outcomes.py)
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
