"""One run: host the target, open the round, drive the load, close the round, record.

:func:`execute` does the run and returns its outcome; the round (loadtests/run/round.py)
does the harness's part and writes the run directory. The CLI only builds the
settings and prints the outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from loadtests import defaults
from loadtests.check.checker import CheckSettings
from loadtests.check.verdict import Verdict
from loadtests.drive.client import Timeout
from loadtests.errors import HarnessError
from loadtests.history import History, iter_file
from loadtests.journal import PARTS_DIR, Journal, merge_streams
from loadtests.run import progress
from loadtests.run.claim import claim
from loadtests.run.plan import Plan, plan
from loadtests.run.round import Record, Round, harness_failure
from loadtests.run.rundir import new_run_dir
from loadtests.run.settings import RunSettings
from loadtests.run.shortfall import shortfall
from loadtests.target import preempt as preempting
from loadtests.target.launcher import RunningTarget, TargetSpec, start_target
from loadtests.target.watch import TargetWatch
from loadtests.target.workload import Workload

INTERRUPTED = "stopped by Ctrl-C or SIGTERM/SIGHUP"


class Driver(Protocol):
    """What runs many clients at once: the requests thread pool or Locust."""

    name: str
    stop: threading.Event

    def run(self, url: str, workload: Workload, history: History) -> None:
        """Run the bounded load, recording every op into ``history``."""
        ...


@dataclass(frozen=True)
class RunOutcome:
    """The verdict of a run, where it was written, and its exit code."""

    verdict: Verdict
    run_dir: Path
    exit_code: int
    result: dict[str, Any] = field(default_factory=dict)


def make_driver(settings: RunSettings, run_dir: Path, run_id: str = "") -> Driver:
    """The driver the settings ask for."""
    if settings.driver == "locust":
        from loadtests.swarm.driver import LocustDriver

        return LocustDriver(settings, run_dir, run_id or secrets.token_hex(6))
    from loadtests.drive.driver import Load, RequestsDriver

    load = Load(
        clients=settings.clients,
        votes=settings.votes,
        duration=settings.duration,
        burst=settings.burst,
        seed=settings.seed,
        timeout=Timeout(read=settings.timeout),
        vote_id_prefix=secrets.token_hex(3),
        allow_remote=settings.allow_remote,
    )
    return RequestsDriver(load, progress=settings.progress)


class _Load:
    """The load's side of one run: its history, and what cut it short or left gaps."""

    def __init__(self, settings: RunSettings, the_plan: Plan, run_dir: Path, run_id: str) -> None:
        self.settings, self.plan, self.run_dir, self.run_id = settings, the_plan, run_dir, run_id
        # The requests driver's ops stream to their part file as they complete; Locust's
        # workers stream their own parts, merged after the run (see journal.py).
        self.journal = (
            Journal(run_dir / PARTS_DIR / "driver.jsonl") if settings.driver != "locust" else None
        )
        self.history = History(settings.driver, journal=self.journal)
        self.interrupted: str | None = None
        self.gaps: tuple[str, ...] = ()
        self.sources: tuple[Path, ...] = ()  # history files a driver left (Locust workers)

    def drive(self, round_: Round, target: RunningTarget | None) -> None:
        if round_.open() is not None:
            return
        driver = make_driver(self.settings, self.run_dir, self.run_id)
        if self.journal is not None:
            self.journal.on_error = driver.stop.set  # load that cannot be recorded is pointless
        from loadtests.nemesis.runner import start_nemeses

        nemeses = start_nemeses(
            self.settings, target, round_.harness, url=round_.url, workload=self.plan.workload
        )
        # The kill-restart nemesis kills the target itself, and says so in the history.
        watched = target if "kill-restart" not in self.settings.nemesis else None
        watch = TargetWatch(watched, driver.stop.set)
        try:
            # The load (only) goes through the fault proxy when there is one.
            workload = round_.for_load(self.plan.workload)  # setup's variables, shared jar
            with watch:
                driver.run(nemeses.load_url(round_.url), workload, self.history)
        except KeyboardInterrupt:
            self.interrupted = f"{INTERRUPTED} before the load finished"
        finally:
            nemeses.stop()
            self.gaps = tuple(getattr(driver, "gaps", ()))
            self.sources = tuple(getattr(driver, "sources", ()))
            round_.harness_error = getattr(driver, "harness_error", None)
        if watch.reason is not None:  # the target died: the run is cut short, say why
            self.interrupted = self.interrupted or watch.reason
        # The requests driver's own history (Locust's workers keep quotas of their own).
        sent = self.history.stream() if self.settings.driver == "requests" else None
        missing = shortfall(self.settings.votes, sent) if sent is not None else None
        if missing is not None and self.interrupted is None:
            self.gaps = (*self.gaps, missing)
        # After Ctrl-C a stalled or dying target gets seconds, not the full --timeout,
        # to answer the closing requests.
        short = min(self.settings.timeout, 1.0) if self.interrupted else None
        with contextlib.suppress(KeyboardInterrupt):
            round_.close(read_timeout=short)

    def check_settings(self) -> CheckSettings:
        return CheckSettings(
            expect=self.settings.expect,
            choices=self.plan.workload.choices,
            shared_state=self.plan.workload.shared_state,
            workers=self.plan.workers,
            gaps=self.gaps,
            interrupted=self.interrupted,
            recycle_after=self.plan.spec.maximum_requests if self.plan.spec else 0,
            reply=self.plan.workload.reply,
        )


def execute(
    settings: RunSettings, the_plan: Plan | None = None, say: progress.Say | None = None
) -> RunOutcome:
    """Do one run end to end and write its directory. Never leaves a process behind.

    ``say``, when given, hears a start line and a progress line every few seconds.
    """
    the_plan = the_plan or plan(settings)
    if the_plan.reset_commands and the_plan.folder is not None:
        from loadtests.run.reset import run_commands

        # Before the app starts (it may read its files then), and before the run directory:
        # a failing reset is the file's fault (exit 2), and leaves nothing behind.
        run_commands(the_plan.reset_commands, the_plan.folder)
    # A folder of its own, locked for the run: nothing of another run is ever read back.
    # A target file's `name` names the run (docs/targets.md), else its file name does.
    label = settings.label_for(the_plan.workload.name if settings.target_file else None)
    owned = claim(settings.out or new_run_dir(label), settings.replace)
    try:
        return _execute(settings, the_plan, owned.path, owned.run_id, owned.describe, label, say)
    finally:
        owned.release()


def _execute(
    settings: RunSettings,
    the_plan: Plan,
    run_dir: Path,
    run_id: str,
    describe: Callable[..., None],
    label: str,
    say: progress.Say | None,
) -> RunOutcome:
    load = _Load(settings, the_plan, run_dir, run_id)
    run_settings = settings.to_dict()
    planned = the_plan.spec
    run_settings["preemption"] = preempting.settings_dict(
        planned.preempt if planned else None, planned.app if planned else None
    )
    run_settings["effective"] = effective(planned)
    run_settings["run_id"] = run_id
    run_settings["name"] = label
    # What `racecheck check` needs to judge the run even if it never finishes.
    describe(check_settings=dataclasses.asdict(load.check_settings()), settings=run_settings)
    round_: Round | None = None
    try:
        with contextlib.ExitStack() as stack:
            target: RunningTarget | None = None
            if the_plan.spec is not None:
                from loadtests.nemesis.runner import adapt_spec

                spec = adapt_spec(settings, the_plan.spec, str(run_dir.resolve()))
                if spec.preempt is not None:
                    trace_dir = str(run_dir.resolve() / preempting.TRACE_DIR_NAME)
                    spec = dataclasses.replace(spec, trace_dir=trace_dir)
                started = target = start_target(spec, log_path=run_dir / "target.log")
                # After Ctrl-C a target busy with stalled requests gets a short grace.
                stack.callback(lambda: started.stop(grace=1.0 if load.interrupted else 5.0))
            url = target.url if target is not None else the_plan.url
            assert url is not None
            log_path = run_dir / "target.log" if target is not None else None
            round_ = Round(
                url,
                the_plan.workload,
                run_dir,
                settings.timeout,
                log_path=log_path,
                harness=_harness(run_dir),
                allow_remote=settings.allow_remote,
            )
            if say is not None:
                say(progress.start_line(settings, the_plan, url, str(run_dir)))
            with progress.ticking(say, _snapshots(settings, load.history, round_)):
                load.drive(round_, target)
    except KeyboardInterrupt:
        # Interrupted while starting or stopping the target: record what we have.
        load.interrupted = load.interrupted or INTERRUPTED
    except HarnessError as exc:
        if round_ is not None:
            raise
        # The target never came up: leave result.json and junit.xml all the same, so CI
        # shows why, then report the error as before.
        with _signals_held():
            harness_failure(run_dir, str(exc), load.check_settings(), run_settings)
        raise
    with _signals_held():
        if round_ is None:  # interrupted before the target answered
            round_ = Round(the_plan.url or "", the_plan.workload, run_dir, settings.timeout)
        if load.history.journal is not None:
            try:
                load.history.journal.close()  # a batch the disk refused: HistoryError, exit 4
            finally:
                if round_.harness.journal is not None:
                    round_.harness.journal.flush()  # the setup ops too, for `racecheck check`
        # Every source in time order, merged as it is written: never all in memory.
        streams = [load.history.stream(), *(iter_file(path) for path in load.sources)]
        record: Record = round_.record(
            merge_streams(streams), load.check_settings(), run_settings, settings.driver
        )
    return RunOutcome(record.verdict, run_dir, record.exit_code, record.result)


def effective(spec: TargetSpec | None) -> dict[str, Any]:
    """What the options left unset became, for the report: the target's real shape."""
    if spec is None:  # --target-url: a server racecheck did not start
        return {}
    window = spec.env.get("RACECHECK_RACE_WINDOW")
    reference = spec.app == defaults.REFERENCE_APP
    return {
        "server": spec.server,
        "threads": spec.threads,
        "workers": spec.workers,
        "race_window": float(window) if window else defaults.RACE_WINDOW if reference else None,
    }


def _snapshots(
    settings: RunSettings, history: History, round_: Round
) -> Callable[[float], progress.Snapshot | None]:
    """Where progress comes from: the growing history, or (Locust) the server's tally."""
    if settings.driver == "locust":
        return lambda seconds: progress.from_tally(round_.peek(), seconds)
    return lambda seconds: progress.from_history(history, seconds)


def _harness(run_dir: Path) -> History:
    """The round's own history, streamed to its part like the load's."""
    return History("harness", journal=Journal(run_dir / PARTS_DIR / "harness.jsonl"))


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold the first Ctrl-C or SIGTERM while the run directory is written.

    Everything is stopped by then and writing takes a moment; a half-written run
    directory helps nobody. A second signal still interrupts, for a user who insists.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt(signal.Signals(signum).name)

    held = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, hold) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
