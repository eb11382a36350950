"""racecheck's Locust options: declared once, read once per test run.

The locustfile registers these flags with Locust's parser; the driver, the
``racecheck locust`` command and docker-compose.yml pass them. Nothing here
imports locust, so the harness and the test suite can use the names too.
Every flag also reads a ``LOCUST_RACECHECK_*`` environment variable (how the
compose file sets them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests import defaults
from loadtests.defaults import BUILDS, EXPECTS
from loadtests.errors import UsageError
from loadtests.swarm.protocol import RUN_ATTR, RunInfo
from loadtests.target.safety import check_url
from loadtests.target.workload import Workload, reference_workload

DEFAULT_TIMEOUT = defaults.TIMEOUT
CONNECT_TIMEOUT = defaults.CONNECT_TIMEOUT

# flag -> what it does: the one list the driver, the CLI and the compose test check against.
FLAGS: Mapping[str, str] = {
    "--racecheck-build": "reference app build the target runs (names the run; sqlite shares state)",
    "--racecheck-target": "a target file (TOML) describing the counters of any Flask app",
    "--racecheck-expect": "pass, or violation when a FAIL is the expected outcome",
    "--racecheck-results-dir": "where run directories go (managed mode: the exact directory)",
    "--racecheck-managed": "the racecheck harness does setup, final read and check",
    "--racecheck-vote-prefix": "prefix of every vote id (default: the run id)",
    "--racecheck-votes": "stop after this many votes in all (0: only the run time bounds the run)",
    "--racecheck-timeout": "seconds to wait for each reply before the vote is info",
    "--racecheck-final-timeout": "seconds the master waits for workers' final counts after stop",
    "--racecheck-seed": "seed of the yes/no mix",
    "--racecheck-announce": "file where the master writes its ports once it listens",
    "--racecheck-allow-remote": "allow a --host that is not a loopback address",
    "--racecheck-run-id": "the run's id (managed mode): every file the harness reads back names it",
}

# Set on parsed_options by the master at test start. Locust forwards every
# non-default option to the workers inside the spawn message, so this reaches
# them before their own test_start: the run id, run directory and vote quotas.


def _env(flag: str) -> str:
    return "LOCUST_" + flag.removeprefix("--").replace("-", "_").upper()


def add_arguments(parser: Any) -> None:
    """Register the flags on Locust's parser (a LocustArgumentParser), and loopback defaults."""
    # Locust binds its web UI and master port to every interface by default;
    # with racecheck's locustfile they stay on loopback unless asked otherwise.
    parser.set_defaults(web_host="127.0.0.1", master_bind_host="127.0.0.1")
    # Locust's start form offers 1 user unless told otherwise, and one user never races
    # itself: offer the harness's concurrency, all spawned in the first second.
    parser.set_defaults(num_users=defaults.CLIENTS, spawn_rate=float(defaults.CLIENTS))
    parser.add_argument(
        "--racecheck-build",
        choices=BUILDS,
        default=None,
        env_var=_env("--racecheck-build"),
        help=FLAGS["--racecheck-build"],
    )
    parser.add_argument(
        "--racecheck-expect",
        choices=EXPECTS,
        default="pass",
        env_var=_env("--racecheck-expect"),
        help=FLAGS["--racecheck-expect"],
    )
    parser.add_argument(
        "--racecheck-votes",
        type=int,
        default=0,
        env_var=_env("--racecheck-votes"),
        help=FLAGS["--racecheck-votes"],
    )
    hidden: dict[str, dict[str, Any]] = {
        "--racecheck-target": {"default": None},
        "--racecheck-results-dir": {"default": "reports"},
        "--racecheck-managed": {"action": "store_true", "default": False},
        "--racecheck-vote-prefix": {"default": None},
        "--racecheck-timeout": {"type": float, "default": DEFAULT_TIMEOUT},
        "--racecheck-final-timeout": {"type": float, "default": defaults.HARNESS_TIMEOUT},
        "--racecheck-seed": {"type": int, "default": 0},
        "--racecheck-announce": {"default": None},
        "--racecheck-allow-remote": {"action": "store_true", "default": False},
        "--racecheck-run-id": {"default": None},
    }
    for flag, extra in hidden.items():
        parser.add_argument(
            flag, env_var=_env(flag), help=FLAGS[flag], include_in_web_ui=False, **extra
        )


@dataclass(frozen=True)
class RacecheckOptions:
    """The racecheck options of one test run, validated."""

    build: str | None = None  # None: whatever the target runs (treated like locked)
    target: Path | None = None
    expect: str = "pass"
    results_dir: Path = Path("reports")
    managed: bool = False
    vote_prefix: str | None = None
    votes: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    final_timeout: float = defaults.HARNESS_TIMEOUT
    seed: int = 0
    announce: Path | None = None
    allow_remote: bool = False
    run_id: str | None = None
    run: RunInfo | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.build is not None and self.build not in BUILDS:
            raise UsageError(f"--racecheck-build must be one of {', '.join(BUILDS)}")
        if self.expect not in EXPECTS:
            raise UsageError("--racecheck-expect must be pass or violation")
        if self.votes is not None and self.votes < 1:
            raise UsageError("--racecheck-votes must be positive (or 0 for no limit)")
        if self.timeout <= 0 or self.final_timeout < 0:
            raise UsageError("--racecheck-timeout must be positive, --racecheck-final-timeout >= 0")

    @classmethod
    def from_parsed(cls, parsed: Any) -> RacecheckOptions:
        """Read the options from Locust's parsed options (a Namespace), at test start."""
        get = vars(parsed).get if parsed is not None else {}.get
        run = get(RUN_ATTR)
        target = get("racecheck_target")
        announce = get("racecheck_announce")
        return cls(
            build=get("racecheck_build") or None,
            target=Path(target) if target else None,
            expect=str(get("racecheck_expect") or "pass"),
            results_dir=Path(get("racecheck_results_dir") or "reports"),
            managed=bool(get("racecheck_managed")),
            vote_prefix=get("racecheck_vote_prefix") or None,
            votes=int(get("racecheck_votes") or 0) or None,
            timeout=float(get("racecheck_timeout") or DEFAULT_TIMEOUT),
            final_timeout=float(get("racecheck_final_timeout") or 0.0),
            seed=int(get("racecheck_seed") or 0),
            announce=Path(announce) if announce else None,
            allow_remote=bool(get("racecheck_allow_remote")),
            run_id=get("racecheck_run_id") or None,
            run=RunInfo.from_dict(run) if isinstance(run, Mapping) else None,
        )

    def host_error(self, host: str | None) -> str | None:
        """Why Locust's host may not be loaded (not loopback, no --racecheck-allow-remote)."""
        try:
            check_url(str(host or ""), self.allow_remote)
        except UsageError as exc:
            return f"Locust's host {host!r}: {exc}"
        return None

    def workload(self) -> Workload:
        """The reference app's workload, or the target file's."""
        if self.target is not None:
            from loadtests.target import targetfile

            workload = targetfile.load(self.target).workload
            if workload.extras.names:
                # The users' ledger counts votes; `racecheck run --driver locust` refuses
                # such a file before anything starts, this says the same to Locust's own CLI.
                raise UsageError(
                    f"{self.target}: Locust users drive [[counters]] only; run it with "
                    "racecheck run --driver requests"
                )
            return workload
        return reference_workload(self.build or "locked")

    @property
    def label(self) -> str:
        """The run's name, as in ``racecheck run``."""
        target = self.target.stem if self.target is not None else self.build or "voting"
        return f"{target}-locust"
