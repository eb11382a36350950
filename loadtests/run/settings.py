"""The settings of one run: every option, validated once, when built.

Conflicting options are refused here, before anything starts; the layers below
trust the typed values. The CLI, compare, the pytest plugin and bench build these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadtests import defaults
from loadtests.defaults import BUILDS, DRIVERS, EXPECTS, MULTIPROCESS_SERVERS, SERVERS
from loadtests.errors import UsageError
from loadtests.target.preempt import Preempt
from loadtests.target.redact import redact_text, redact_url


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
    replace: bool = False  # empty a previous run's --out first (never a folder of other files)
    burst: bool = False
    read_every: int | None = None  # None: the target file's, else defaults.READ_EVERY
    race_window: float | None = None
    switch_interval: float | None = None
    timeout: float = defaults.TIMEOUT
    seed: int = 0
    name: str | None = None
    progress: bool | None = None
    command: str = ""
    # --preempt: forced switches between the app's bytecodes in the target.
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
        if self.votes is not None and self.duration is not None:
            raise UsageError("give one of --votes N or --duration SECONDS, not both")
        if self.votes is None and self.duration is None:
            # Neither: the default size, so `racecheck run --build unlocked` works as is.
            object.__setattr__(self, "votes", defaults.VOTES)
        if self.votes is not None and not 1 <= self.votes <= defaults.MAX_VOTES:
            raise UsageError(f"--votes must be between 1 and {defaults.MAX_VOTES:,}")
        if self.duration is not None and not 0 < self.duration <= 24 * 3600:
            raise UsageError("--duration must be between 0 and 86400 seconds")
        if not 1 <= self.clients <= defaults.MAX_CLIENTS:
            raise UsageError(f"--clients must be between 1 and {defaults.MAX_CLIENTS:,}")
        targets = [x for x in (self.target_url, self.app, self.target_file) if x is not None]
        if len(targets) > 1:
            raise UsageError("give at most one of --target-url, --app and --target")
        if not 1 <= self.processes <= defaults.MAX_PROCESSES:
            raise UsageError(f"--processes must be between 1 and {defaults.MAX_PROCESSES}")
        if self.processes > 1 and self.driver != "locust":
            raise UsageError("--processes is for --driver locust (it sets the Locust workers)")
        if (
            self.workers is not None
            and self.workers > 1
            and self.server not in (None, *MULTIPROCESS_SERVERS)
        ):
            servers = " or ".join(MULTIPROCESS_SERVERS)
            raise UsageError(f"--workers > 1 needs --server {servers} (only they fork processes)")
        if self.read_every is not None and self.read_every < 0:
            raise UsageError("--read-every must be 0 (no reads during the run) or more")
        if not 0 < self.timeout <= defaults.MAX_TIMEOUT:
            raise UsageError(
                f"--timeout must be a positive number of seconds, at most {defaults.MAX_TIMEOUT:g}"
            )
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
        return self.label_for()

    def label_for(self, target_name: str | None = None) -> str:
        """The label, with the target file's own ``name`` when it has been read."""
        if self.name:
            return self.name
        target = target_name or (self.target_file.stem if self.target_file else self.build)
        return f"{target}-{self.server or 'default'}-{self.driver}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form stored in result.json."""
        data = asdict(self)
        data["target_file"] = str(self.target_file) if self.target_file else None
        data["out"] = str(self.out) if self.out else None
        data["nemesis"] = list(self.nemesis)
        data["preempt_modules"] = list(self.preempt_modules)
        data["name"] = self.label
        if self.target_url is not None:  # the password is for the requests, not the record
            data["target_url"] = redact_url(self.target_url)
        data["command"] = redact_text(self.command)
        return data
