"""One run: host the target, open a round, drive the load, close it, read, check, write.

:class:`RunSettings` carries every option (validated when built, so conflicting
options are refused before anything starts); :func:`execute` does the run and
returns its outcome. The CLI only builds the settings and prints the outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from loadtests import defaults
from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.check.exitcodes import exit_code_for
from loadtests.check.verdict import CheckResult, Verdict
from loadtests.defaults import BUILDS, DRIVERS, EXPECTS, HARNESS_TIMEOUT, REFERENCE_APP, SERVERS
from loadtests.drive.client import Client, SessionTransport, Timeout
from loadtests.errors import UsageError
from loadtests.history import History, Op, merge
from loadtests.report.notes import run_notes
from loadtests.run.rundir import new_run_dir, result_dict, write_history, write_result
from loadtests.stats import summarize
from loadtests.target import preempt as preempting
from loadtests.target import targetfile
from loadtests.target.launcher import RunningTarget, TargetSpec, start_target
from loadtests.target.preempt import Preempt
from loadtests.target.safety import check_url
from loadtests.target.workload import Workload, reference_workload


@dataclass(frozen=True)
class RunSettings:
    """Every option of one run. Invalid combinations are refused here, at construction."""

    build: str = "locked"
    server: str | None = None  # None: waitress, or what a target file says
    threads: int | None = None  # None: 16, or what a target file says
    workers: int | None = None
    driver: str = "requests"
    clients: int = defaults.CLIENTS
    votes: int | None = None
    duration: float | None = None
    target_url: str | None = None
    app: str | None = None
    target_file: Path | None = None
    expect: str | None = None
    processes: int = 1
    nemesis: tuple[str, ...] = ()
    nemesis_schedule: str | None = None
    allow_remote: bool = False
    out: Path | None = None
    burst: bool = False
    race_window: float | None = None
    switch_interval: float | None = None
    timeout: float = defaults.TIMEOUT
    seed: int = 0
    name: str | None = None
    progress: bool | None = None
    command: str = ""
    # --preempt (issue 11): forced switches between the app's bytecodes in the target.
    preempt: bool = False
    preempt_rate: float = defaults.PREEMPT_RATE
    preempt_seed: int = defaults.PREEMPT_SEED
    preempt_modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.build not in BUILDS:
            raise UsageError(f"--build must be one of {', '.join(BUILDS)}, got {self.build!r}")
        if self.server is not None and self.server not in SERVERS:
            raise UsageError(f"--server must be one of {', '.join(SERVERS)}, got {self.server!r}")
        if self.driver not in DRIVERS:
            raise UsageError(f"--driver must be one of {', '.join(DRIVERS)}, got {self.driver!r}")
        if self.expect is not None and self.expect not in EXPECTS:
            raise UsageError(f"--expect must be pass or violation, got {self.expect!r}")
        if (self.votes is None) == (self.duration is None):
            raise UsageError("give exactly one of --votes N or --duration SECONDS")
        if self.votes is not None and self.votes < 1:
            raise UsageError("--votes must be at least 1")
        if self.duration is not None and not 0 < self.duration <= 24 * 3600:
            raise UsageError("--duration must be between 0 and 86400 seconds")
        if self.clients < 1:
            raise UsageError("--clients must be at least 1")
        targets = [x for x in (self.target_url, self.app, self.target_file) if x is not None]
        if len(targets) > 1:
            raise UsageError("give at most one of --target-url, --app and --target")
        if self.processes < 1:
            raise UsageError("--processes must be at least 1")
        if self.processes > 1 and self.driver != "locust":
            raise UsageError("--processes is for --driver locust (it sets the Locust workers)")
        if self.workers is not None and self.workers > 1 and self.server not in (None, "gunicorn"):
            raise UsageError("--workers > 1 needs --server gunicorn (only it forks workers)")
        if self.timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds")
        if self.target_url is not None and (self.race_window or self.switch_interval):
            raise UsageError(
                "--race-window/--switch-interval configure a target racecheck starts; "
                "they cannot reach one already running at --target-url"
            )

        if self.target_url is not None and self.preempt:
            raise UsageError(
                "--preempt installs a tracer in a target racecheck starts; it cannot reach one "
                "already running at --target-url (use --app or --target)"
            )
        if self.preempt:
            self.preemption()  # validates the rate and module names now

    def preemption(self) -> Preempt | None:
        """The --preempt settings for the target, or None when off."""
        if not self.preempt:
            return None
        return Preempt(self.preempt_rate, self.preempt_seed, self.preempt_modules)

    @property
    def label(self) -> str:
        """A short name for the run directory and reports."""
        if self.name:
            return self.name
        target = self.target_file.stem if self.target_file else self.build
        return f"{target}-{self.server or 'default'}-{self.driver}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form stored in result.json."""
        data = asdict(self)
        data["target_file"] = str(self.target_file) if self.target_file else None
        data["out"] = str(self.out) if self.out else None
        data["nemesis"] = list(self.nemesis)
        data["preempt_modules"] = list(self.preempt_modules)
        data["name"] = self.label
        return data


class Driver(Protocol):
    """What runs many clients at once: the requests thread pool or Locust."""

    name: str
    stop: threading.Event

    def run(self, url: str, workload: Workload, history: History) -> None:
        """Run the bounded load, recording every op into ``history``."""
        ...


@dataclass(frozen=True)
class Plan:
    """What a run will do, resolved from the settings before anything starts."""

    workload: Workload
    spec: TargetSpec | None
    url: str | None
    workers: int | None


@dataclass(frozen=True)
class RunOutcome:
    """The verdict of a run, where it was written, and its exit code."""

    verdict: Verdict
    run_dir: Path
    exit_code: int
    result: dict[str, Any] = field(default_factory=dict)


def _target_env(settings: RunSettings) -> dict[str, str]:
    env: dict[str, str] = {}
    if settings.race_window is not None:
        env["RACECHECK_RACE_WINDOW"] = repr(settings.race_window)
    if settings.switch_interval is not None:
        env["RACECHECK_SWITCH_INTERVAL"] = repr(settings.switch_interval)
    return env


def plan(settings: RunSettings) -> Plan:
    """Resolve the target and workload; raises UsageError before anything starts."""
    from loadtests.nemesis import runner as nemesis

    nemesis.validate(settings.nemesis, settings.nemesis_schedule)
    the_plan = _resolve(settings)
    nemesis.check_target(settings, the_plan.spec)
    return the_plan


def _resolve(settings: RunSettings) -> Plan:
    env = _target_env(settings)
    server = settings.server or "waitress"
    threads = settings.threads or 16
    workers = settings.workers or 1
    if settings.target_file is not None:
        tf = targetfile.load(settings.target_file)
        if tf.url is not None:
            return Plan(tf.workload, None, check_url(tf.url, settings.allow_remote), None)
        workers = settings.workers or tf.workers
        spec = TargetSpec(
            server=settings.server or tf.server,  # type: ignore[arg-type]
            threads=settings.threads or tf.threads,
            workers=workers,
            app=tf.app or REFERENCE_APP,
            env={**(tf.env or {}), **env},
            pythonpath=(str(tf.path.resolve().parent),),
            health_path=tf.workload.health_path,
            preempt=settings.preemption() or tf.preempt,
        )
        return Plan(tf.workload, spec, None, workers)
    workload = reference_workload(settings.build)
    if settings.target_url is not None:
        return Plan(workload, None, check_url(settings.target_url, settings.allow_remote), None)
    spec = TargetSpec(
        server=server,  # type: ignore[arg-type]
        threads=threads,
        workers=workers,
        app=settings.app or REFERENCE_APP,
        build=settings.build if settings.app in (None, REFERENCE_APP) else None,
        env=env,
        preempt=settings.preemption(),
    )
    return Plan(workload, spec, None, workers)


def make_driver(settings: RunSettings, run_dir: Path) -> Driver:
    """The driver the settings ask for."""
    if settings.driver == "locust":
        from loadtests.swarm.driver import LocustDriver

        return LocustDriver(settings, run_dir)
    from loadtests.drive.driver import Load, RequestsDriver

    load = Load(
        clients=settings.clients,
        votes=settings.votes,
        duration=settings.duration,
        burst=settings.burst,
        seed=settings.seed,
        timeout=Timeout(read=settings.timeout),
        vote_id_prefix=secrets.token_hex(3),
    )
    return RequestsDriver(load, progress=settings.progress)


def _error_verdict(name: str, detail: str) -> Verdict:
    check_result = CheckResult(name, "ERROR", detail)
    return Verdict("ERROR", (check_result,), {}, None, False, detail)


class _Session:
    """The parts of one run that outlive its target: histories, driver, findings."""

    def __init__(self, settings: RunSettings, the_plan: Plan, run_dir: Path) -> None:
        self.settings, self.plan, self.run_dir = settings, the_plan, run_dir
        self.harness = History("harness")
        self.load = History(settings.driver)
        self.final = FinalState(None)
        self.interrupted: str | None = None
        self.setup_error: str | None = None
        self.gaps: tuple[str, ...] = ()

    def client(self, url: str, read_timeout: float | None = None) -> Client:
        # --timeout is for the load (a short one turns slow votes into info); the
        # harness's own setup, stop and final read get at least the default, since
        # the target may still be working off votes whose clients gave up.
        timeout = Timeout(read=max(self.settings.timeout, HARNESS_TIMEOUT))
        if read_timeout is not None:
            timeout = Timeout(connect=min(timeout.connect, read_timeout), read=read_timeout)
        transport = SessionTransport(timeout=timeout)
        return Client(transport, url, self.plan.workload, self.harness, "harness")

    def drive(self, url: str, target: RunningTarget | None) -> None:
        client = self.client(url)
        for step in self.plan.workload.setup:
            op = client.step(step)
            if op.type != "ok":
                self.setup_error = f"setup step {step.f!r} was not acknowledged: {op.value}"
                return
        driver = make_driver(self.settings, self.run_dir)
        from loadtests.nemesis.runner import start_nemeses

        nemeses = start_nemeses(
            self.settings, target, self.harness, url=url, workload=self.plan.workload
        )
        try:
            # The load (only) goes through the fault proxy when there is one.
            driver.run(nemeses.load_url(url), self.plan.workload, self.load)
        except KeyboardInterrupt:
            self.interrupted = "stopped by Ctrl-C or SIGTERM before the load finished"
        finally:
            nemeses.stop()
            self.gaps = tuple(getattr(driver, "gaps", ()))
        if self.interrupted:
            # The user wants out now: a stalled or dying target gets seconds, not the
            # full --timeout, to answer the closing requests.
            client = self.client(url, read_timeout=min(self.settings.timeout, 1.0))
        with contextlib.suppress(KeyboardInterrupt):
            for step in self.plan.workload.teardown:
                client.step(step)
            invoked = time.time_ns()
            self.final = FinalState.from_read(client.read(), invoked)

    def verdict(self) -> tuple[Verdict, list[Op]]:
        ops = merge([self.harness.ops(), self.load.ops()], driver=self.settings.driver).ops()
        if self.setup_error is not None:
            return _error_verdict("setup", self.setup_error), ops
        check_settings = self.check_settings()
        verdict = check(ops, self.final, check_settings)
        if self.interrupted and verdict.status == "UNKNOWN":
            # Other checks may be unknown too, but only because the run was cut short.
            verdict = dataclasses.replace(verdict, reason=verdict.check("interrupted").detail)
        return verdict, ops

    def check_settings(self) -> CheckSettings:
        return CheckSettings(
            expect=self.settings.expect,
            choices=self.plan.workload.choices,
            shared_state=self.plan.workload.shared_state,
            workers=self.plan.workers,
            gaps=self.gaps,
            interrupted=self.interrupted,
            reply=self.plan.workload.reply,
        )


def execute(settings: RunSettings, the_plan: Plan | None = None) -> RunOutcome:
    """Do one run end to end and write its directory. Never leaves a process behind."""
    the_plan = the_plan or plan(settings)
    run_dir = new_run_dir(settings.label, out=settings.out)
    session = _Session(settings, the_plan, run_dir)
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
                stack.callback(lambda: started.stop(grace=1.0 if session.interrupted else 5.0))
            url = target.url if target is not None else the_plan.url
            assert url is not None
            session.drive(url, target)
    except KeyboardInterrupt:
        # Interrupted while starting or stopping the target: record what we have.
        session.interrupted = session.interrupted or "stopped by Ctrl-C or SIGTERM"
    with _signals_held():
        verdict, ops = session.verdict()
        history = History(settings.driver, ops)
        write_history(run_dir, history)
        exit_code = exit_code_for(verdict)
        result = result_dict(
            verdict,
            session.final,
            session.check_settings(),
            settings.to_dict(),
            summarize(ops),
            settings.command,
            exit_code,
        )
        planned = the_plan.spec
        result["settings"]["preemption"] = preempting.settings_dict(
            planned.preempt if planned else None, planned.app if planned else None
        )
        result["notes"] = run_notes(verdict.status, result["settings"]["preemption"] is not None)
        write_result(run_dir, result)
    return RunOutcome(verdict, run_dir, exit_code, result)


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

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
