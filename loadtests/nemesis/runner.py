"""Fault injection during a run (the nemesis), recorded in the history as its own ops.

    kill-restart       SIGKILL the target's process group, start it again on the same
                       port, then re-open the round (the new process has no resolution)
    stall              arm the reference app's stall hook: votes that arrive during the
                       window sleep longer than the client timeout, so they end as info
    reset-connections  send the load through a loopback proxy that, during the window,
                       aborts each connection with a TCP RST once the target has answered

Every fault is an operation of process ``"nemesis"``: an invoke when it strikes and
one completion (``ok``, ``fail`` or ``info``) with what happened, so the checker and
the report see exactly when the target was disturbed. docs/faults.md says what each
verdict means under each fault.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from loadtests.drive.client import Client, SessionTransport, Timeout
from loadtests.errors import UsageError
from loadtests.history import History
from loadtests.nemesis.faults import (
    FAULTS_PATH,
    PROCESS,
    RESTART_READY_TIMEOUT,
    Fault,
    GiveUp,
    KillRestart,
    Resets,
    Stall,
)
from loadtests.nemesis.proxy import FaultProxy
from loadtests.nemesis.schedule import Schedule, parse_schedule
from loadtests.target.workload import Workload

if TYPE_CHECKING:
    from loadtests.run.settings import RunSettings
    from loadtests.target.launcher import RunningTarget, TargetSpec

NEMESES: tuple[str, ...] = ("kill-restart", "stall", "reset-connections")
# Nemeses that need racecheck to have started the target: they kill it, or switch
# on its fault hook through its configuration.
NEEDS_PROCESS = frozenset({"kill-restart", "stall"})

STALL_MARGIN = 1.0  # a stalled vote sleeps this much longer than the client waits
MAX_STALL = 60.0  # the reference app's own limit on stall_seconds
_STOP_JOIN = RESTART_READY_TIMEOUT + 5.0  # a restart under way is finished, not abandoned

DEFAULTS: dict[str, Schedule] = {
    "kill-restart": Schedule(at=1.0, every=5.0, duration=0.0),
    # every: None means "after the previous stall has drained", see schedule_for().
    "stall": Schedule(at=1.0, every=None, duration=1.0),
    "reset-connections": Schedule(at=1.0, every=3.0, duration=1.0),
}


def validate(names: Sequence[str], schedule: str | None = None) -> None:
    """Refuse unknown or repeated names and a bad schedule before anything starts."""
    for name in names:
        if name not in NEMESES:
            raise UsageError(f"unknown --nemesis {name!r}; known: {', '.join(NEMESES)}")
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise UsageError(f"--nemesis {repeated[0]} is given twice; name each fault once")
    if schedule is not None and not names:
        raise UsageError("--nemesis-schedule needs a fault to schedule: add --nemesis NAME")
    fields = parse_schedule(schedule) if schedule is not None else {}
    for name in names:
        DEFAULTS[name].override(fields).check(name)


def stall_seconds(timeout: float) -> float:
    """How long a stalled vote sleeps: longer than the client's read timeout."""
    return timeout + STALL_MARGIN


def check_target(settings: RunSettings, spec: TargetSpec | None) -> None:
    """Refuse nemeses the planned target cannot take, with what to do instead."""
    from loadtests.defaults import REFERENCE_APP

    names = set(settings.nemesis)
    needs = sorted(names & NEEDS_PROCESS)
    if needs and spec is None:
        raise UsageError(
            f"--nemesis {needs[0]} needs a target that racecheck starts itself (it "
            + (
                "kills and restarts its process"
                if needs[0] == "kill-restart"
                else "switches on the app's fault hook when it starts it"
            )
            + "), but this target was started elsewhere (--target-url or a target file's url). "
            "Let racecheck host the app (drop --target-url, or use --app / a target file with "
            "app = ...), or use --nemesis reset-connections, which works on any target"
        )
    if "stall" in names and spec is not None and spec.app != REFERENCE_APP:
        raise UsageError(
            f"--nemesis stall arms the reference app's fault hook (POST {FAULTS_PATH}); "
            f"{spec.app} has no such hook. Use --nemesis reset-connections or kill-restart, "
            "which work on any app"
        )
    if "stall" in names and stall_seconds(settings.timeout) > MAX_STALL:
        raise UsageError(
            f"--nemesis stall makes votes sleep longer than --timeout, and the app stalls at "
            f"most {MAX_STALL:g} s: use --timeout {MAX_STALL - STALL_MARGIN:g} or less"
        )


def adapt_spec(settings: RunSettings, spec: TargetSpec, state_dir: str) -> TargetSpec:
    """The target as the nemeses need it: fault hook on for stall, durable SQLite for restarts."""
    env = dict(spec.env)
    if "stall" in settings.nemesis:
        env["RACECHECK_FAULT_INJECTION"] = "true"
    durable = "RACECHECK_DATABASE" in env or "RACECHECK_DATABASE" in os.environ
    if "kill-restart" in settings.nemesis and spec.build == "sqlite" and not durable:
        # Otherwise each process creates its own temporary file and a restart
        # loses what a database is there to keep.
        env["RACECHECK_DATABASE"] = os.path.join(state_dir, "votes.sqlite3")
    return replace(spec, env=env) if env != dict(spec.env) else spec


def schedule_for(name: str, settings: RunSettings) -> Schedule:
    """The schedule of one nemesis: its defaults, overridden by --nemesis-schedule."""
    fields = parse_schedule(settings.nemesis_schedule) if settings.nemesis_schedule else {}
    schedule = DEFAULTS[name].override(fields)
    if name == "stall" and schedule.every is None and "every" not in fields:
        # The next window only after the stalled handlers of this one have woken
        # up, so that the arming request itself is not stuck behind them.
        drain = stall_seconds(settings.timeout) + schedule.duration + 1.0
        schedule = replace(schedule, every=drain)
    schedule.check(name)
    return schedule


class _Runner(threading.Thread):
    """Strikes one fault at its scheduled offsets from the start of the load."""

    def __init__(self, fault: Fault, schedule: Schedule, stop: threading.Event) -> None:
        super().__init__(name=f"racecheck-nemesis-{fault.name}", daemon=True)
        self.fault, self.schedule, self.stop = fault, schedule, stop
        self.t0 = time.monotonic()
        self.strikes = 0
        self.error: str | None = None

    def run(self) -> None:
        try:
            for offset in self.schedule.offsets():
                if self.stop.wait(max(0.0, self.t0 + offset - time.monotonic())):
                    return
                self.fault.strike(self.strikes, self.schedule, self.stop)
                self.strikes += 1
        except GiveUp as exc:
            self.error = str(exc)
        except Exception as exc:  # a nemesis bug must not kill the run or print a traceback
            self.error = f"{type(exc).__name__}: {exc}"


class NemesisSet:
    """The running faults of one run; stop() ends them all."""

    def __init__(self, runners: Sequence[_Runner] = (), proxy: FaultProxy | None = None) -> None:
        self.runners = tuple(runners)
        self.proxy = proxy
        self._stop = runners[0].stop if runners else threading.Event()

    def load_url(self, url: str) -> str:
        """Where the load goes: through the fault proxy when there is one."""
        return self.proxy.url if self.proxy is not None else url

    def start(self) -> NemesisSet:
        """Start every fault's clock now (the start of the load)."""
        for runner in self.runners:
            runner.t0 = time.monotonic()
            runner.start()
        return self

    def stop(self) -> None:
        """End every fault; a restart under way finishes, so the target is up afterwards."""
        self._stop.set()
        try:
            for runner in self.runners:
                if runner.is_alive():
                    runner.join(_STOP_JOIN)
        finally:
            for runner in self.runners:
                runner.fault.close()
            if self.proxy is not None:
                self.proxy.close()
        for runner in self.runners:
            self._warn(runner)

    @staticmethod
    def _warn(runner: _Runner) -> None:
        if runner.error:
            print(
                f"racecheck: nemesis {runner.fault.name} stopped: {runner.error}", file=sys.stderr
            )
        elif runner.strikes == 0:
            print(
                f"racecheck: nemesis {runner.fault.name} never struck: the load ended before "
                f"at={runner.schedule.at:g} s (set it with --nemesis-schedule)",
                file=sys.stderr,
            )


def start_nemeses(
    settings: RunSettings,
    target: RunningTarget | None,
    history: History,
    *,
    url: str | None = None,
    workload: Workload | None = None,
) -> NemesisSet:
    """Start the faults the settings name, recording each in ``history``."""
    validate(settings.nemesis, settings.nemesis_schedule)
    if not settings.nemesis:
        return NemesisSet()
    base = target.url if target is not None else url
    if base is None:
        raise UsageError("a nemesis needs the target's URL")
    stop = threading.Event()
    proxy: FaultProxy | None = None
    runners = []
    for name in settings.nemesis:
        fault: Fault
        if name == "kill-restart":
            if target is None:
                raise UsageError("--nemesis kill-restart needs a target that racecheck started")
            fault = KillRestart(target, history, _reopener(settings, base, workload, history))
        elif name == "stall":
            fault = Stall(base, history, stall_seconds(settings.timeout))
        else:
            parts = urlsplit(base)
            proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 80)
            fault = Resets(proxy, history)
        runners.append(_Runner(fault, schedule_for(name, settings), stop))
    return NemesisSet(runners, proxy).start()


def _reopener(
    settings: RunSettings, url: str, workload: Workload | None, history: History
) -> Callable[[], None]:
    """Log in and run the workload's setup steps again, as the nemesis, through the one client.

    A restarted target has forgotten the round it had open, and a setup step that needs a
    login (an admin opening the round) fails without one, so the login steps come first.
    """

    def reopen() -> None:
        if workload is None:
            return
        transport = SessionTransport(timeout=Timeout(read=settings.timeout))
        try:
            client = Client(transport, url, workload, history, PROCESS)
            for step in (*workload.login, *workload.setup):
                if client.step(step).type != "ok":
                    break
        finally:
            transport.close()

    return reopen
