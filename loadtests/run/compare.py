"""`racecheck compare`: one workload against a matrix of builds, servers, threads, drivers.

Each cell is an ordinary run (:func:`loadtests.run.execute.execute`) written to its own
directory under the comparison's; the comparison adds ``summary.json`` (one row
per cell) and an ``index.html`` that puts the cells side by side. Cells run one
after another: on a small machine, cells running at once would slow each other
down and make their throughput meaningless.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loadtests import defaults
from loadtests.check.checker import CheckSettings
from loadtests.check.exitcodes import EXIT_FAIL, EXIT_PASS
from loadtests.defaults import BUILDS, DRIVERS, EXPECTS, SERVERS, race_window_problem
from loadtests.errors import HarnessError, UsageError
from loadtests.run.claim import claim
from loadtests.run.execute import execute
from loadtests.run.plan import Plan, plan
from loadtests.run.round import harness_failure
from loadtests.run.rundir import new_run_dir
from loadtests.run.settings import RunSettings

SCHEMA = "racecheck/compare/v1"
# Builds that also run under --preempt when the matrix does not set the axis: the textbook
# race it reveals, and a lock that holds under it.
PREEMPT_CONTRAST = ("locked", "naive")
DEFAULT_VOTES = 10_000
QUICK_VOTES = 3_000


@dataclass(frozen=True)
class Cell:
    """One combination of the matrix: a build under a server, driver and race window."""

    build: str
    server: str
    threads: int | None
    driver: str
    race_window: float | None
    name: str = ""
    preempt: bool = False  # forced switches in the app's code (--preempt)
    # A target file's cell (compare --target): its build is the file's name, and its
    # expectation is the user's ("pass" or "violation").
    target_file: Path | None = None
    expect: str | None = None

    @property
    def expected_verdict(self) -> str:
        """The unlocked build must lose votes, and the naive one under --preempt; no other."""
        if self.target_file is not None:
            return "FAIL" if self.expect == "violation" else "PASS"
        if self.build == "unlocked" or (self.build == "naive" and self.preempt):
            return "FAIL"
        return "PASS"


def _unique(values: Sequence[Any], option: str) -> None:
    if not values:
        raise UsageError(f"{option} needs at least one value")
    if len(set(values)) != len(values):
        raise UsageError(f"{option} lists a value twice: {', '.join(map(str, values))}")


@dataclass(frozen=True)
class Matrix:
    """What to compare: every combination of the listed values, and the shared workload."""

    builds: tuple[str, ...] = BUILDS
    servers: tuple[str, ...] = (defaults.SERVER,)
    threads: tuple[int, ...] = ()  # empty: the server's default
    drivers: tuple[str, ...] = ("requests",)
    race_windows: tuple[float, ...] = ()  # empty: the app's default
    # The --preempt axis. Empty: off, plus on for the builds in PREEMPT_CONTRAST, so the
    # naive build's PASS under the GIL stands beside its FAIL under forced switches.
    preempts: tuple[bool, ...] = ()
    clients: int = defaults.CLIENTS
    votes: int | None = None
    duration: float | None = None
    quick: bool = False
    # compare --target FILE[=pass|violation]: target files instead of the reference builds.
    targets: tuple[tuple[Path, str], ...] = ()

    def __post_init__(self) -> None:
        for values, option, allowed in (
            (self.builds, "--builds", BUILDS),
            (self.servers, "--servers", SERVERS),
            (self.drivers, "--drivers", DRIVERS),
        ):
            _unique(values, option)
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise UsageError(
                    f"{option}: unknown {', '.join(unknown)}; choose from {', '.join(allowed)}"
                )
        if self.targets:
            _unique([path.stem for path, _ in self.targets], "--target (file names)")
            wrong = [e for _, e in self.targets if e not in EXPECTS]
            if wrong:
                raise UsageError(f"--target FILE=EXPECT: expect pass or violation, not {wrong[0]}")
        if self.threads:
            _unique(self.threads, "--threads")
        if self.race_windows:
            _unique(self.race_windows, "--race-windows")
        if self.preempts:
            _unique(self.preempts, "--preempt")
            unreached = [s for s in self.servers if s not in defaults.PREEMPT_SERVERS]
            if True in self.preempts and unreached:
                raise UsageError(
                    f"--preempt on does not reach {', '.join(unreached)} (its threads are made "
                    "outside Python): leave it out of --servers, or --preempt off"
                )
        if any(t < 1 for t in self.threads):
            raise UsageError("--threads values must be at least 1")
        for window in self.race_windows:
            problem = race_window_problem(window)
            if problem is not None:
                raise UsageError(f"--race-windows: {problem}")
        if self.votes is not None and self.duration is not None:
            raise UsageError("give at most one of --votes N and --duration SECONDS")

    @property
    def workload_votes(self) -> int | None:
        """Votes per cell: as given, or the quick or full default when no bound was given."""
        if self.votes is None and self.duration is None:
            return QUICK_VOTES if self.quick else DEFAULT_VOTES
        return self.votes

    def varying(self) -> set[str]:
        """The dimensions with more than one value (they name the cells)."""
        dims = {
            "server": self.servers,
            "threads": self.threads,
            "driver": self.drivers,
            "race_window": self.race_windows,
            "preempt": self.preempts,
        }
        return {name for name, values in dims.items() if len(values) > 1}

    def _preempt_values(self, build: str, server: str) -> tuple[bool, ...]:
        if self.preempts:
            return self.preempts
        naive = "naive" in self.builds
        # Only where --preempt reaches the server's threads (TargetSpec refuses the rest).
        contrast = naive and build in PREEMPT_CONTRAST and server in defaults.PREEMPT_SERVERS
        return (False, True) if contrast else (False,)

    def cells(self) -> list[Cell]:
        """Every combination, grouped by variant so each group lists the builds in order."""
        varying = self.varying()
        cells = []
        for server, threads, driver, window in itertools.product(
            self.servers, self.threads or (None,), self.drivers, self.race_windows or (None,)
        ):
            for preempt, build in itertools.product((False, True), self._builds()):
                if preempt not in self._preempt_values(build, server):
                    continue
                parts = [build, server]
                if "threads" in varying:
                    parts.append(f"t{threads}")
                if "driver" in varying:
                    parts.append(driver)
                if "race_window" in varying:
                    parts.append(f"w{window:g}")
                if preempt:
                    parts.append("preempt")
                name = "-".join(parts)
                file, expect = self._target(build)
                cells.append(
                    Cell(build, server, threads, driver, window, name, preempt, file, expect)
                )
        return cells

    def _builds(self) -> tuple[str, ...]:
        """The builds axis: the reference builds, or the target files' names."""
        return tuple(path.stem for path, _ in self.targets) if self.targets else self.builds

    def _target(self, build: str) -> tuple[Path | None, str | None]:
        for path, expect in self.targets:
            if path.stem == build:
                return path, expect
        return None, None

    def settings(self, cell: Cell, cell_dir: Path) -> RunSettings:
        """The settings of one cell's run (with the command that repeats it on its own)."""
        from loadtests.report import command_from_settings

        by_file = {"target_file": cell.target_file} if cell.target_file else {"build": cell.build}
        settings = RunSettings(
            **by_file,
            server=cell.server,
            threads=cell.threads,
            driver=cell.driver,
            clients=self.clients,
            votes=self.workload_votes,
            duration=self.duration,
            race_window=cell.race_window,
            preempt=cell.preempt,
            expect="violation" if cell.expected_verdict == "FAIL" else "pass",
            out=cell_dir,
            # A comparison run again into its folder redoes each cell: the old cell's files
            # go first, so no cell ever mixes two runs (only in folders racecheck wrote).
            replace=True,
            name=cell.name,
            progress=False,  # the comparison shows its own progress
        )
        return replace(settings, command=command_from_settings(settings.to_dict()))

    def describe(self) -> str:
        """One line saying what is compared, for people."""
        return f"{self.describe_cells()} \u00b7 {self.describe_load()}"

    def describe_load(self) -> str:
        """The workload every cell gets, e.g. "32 clients x 3,000 votes" (with a times sign)."""
        load = (
            f"{self.workload_votes:,} votes"
            if self.workload_votes is not None
            else f"{self.duration:g} s"
        )
        return f"{self.clients} clients \u00d7 {load}"

    def describe_cells(self) -> str:
        """What varies between the cells, e.g. "locked vs unlocked · waitress"."""
        parts = [" vs ".join(self._builds()), ", ".join(self.servers)]
        if self.threads:
            parts.append(", ".join(f"{t} threads" for t in self.threads))
        parts.append(" / ".join(self.drivers) + " driver")
        if self.race_windows:
            parts.append("race window " + ", ".join(f"{w:g} s" for w in self.race_windows))
        if self.preempts:
            parts.append("preempt " + "/".join("on" if p else "off" for p in self.preempts))
        elif any(cell.preempt for cell in self.cells()):
            parts.append(f"{' and '.join(PREEMPT_CONTRAST)} also under --preempt")
        return " \u00b7 ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form stored in summary.json."""
        return {
            "builds": list(self.builds),
            "servers": list(self.servers),
            "threads": list(self.threads) or [defaults.THREADS],
            "drivers": list(self.drivers),
            "race_windows": list(self.race_windows),
            "preempts": list(self.preempts),
            "clients": self.clients,
            "votes": self.workload_votes,
            "duration": self.duration,
            "quick": self.quick,
            "targets": [[str(path), expect] for path, expect in self.targets],
        }


def summary_row(cell: Cell, result: Mapping[str, Any], run_dir: str) -> dict[str, Any]:
    """One row of summary.json: a cell's settings, verdict and numbers."""
    counts = result.get("counts") or {}
    finals = [c.get("final") for c in counts.values()]
    final = sum(finals) if finals and None not in finals else None
    stats = result.get("stats") or {}
    latency = stats.get("latency_ms") or {}
    verdict = result.get("verdict", "ERROR")
    return {
        "name": cell.name,
        "build": cell.build,
        "server": cell.server,
        "threads": cell.threads or defaults.THREADS,
        "driver": cell.driver,
        "race_window": cell.race_window,
        "preempt": cell.preempt,
        "verdict": verdict,
        "expected_verdict": cell.expected_verdict,
        "as_expected": verdict == cell.expected_verdict,
        "reason": result.get("reason", ""),
        "acknowledged": sum(int(c.get("ok") or 0) for c in counts.values()),
        "final": final,
        "lost": result.get("lost") if final is not None else None,
        "unknown": sum(int(c.get("info") or 0) for c in counts.values()),
        "throughput": stats.get("throughput"),
        "latency_ms": {q: latency.get(q) for q in ("p50", "p95", "p99")},
        "duration_s": stats.get("duration_s"),
        "run_dir": run_dir,
        "report": f"{run_dir}/index.html",
        "settings": result.get("settings") or {},
        "command": result.get("command", ""),
    }


@dataclass
class Comparison:
    """A finished (or interrupted) comparison: where it is and one row per cell run."""

    directory: Path
    matrix: Matrix
    cells: list[Cell]
    rows: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    interrupted: bool = False
    command: str = ""

    @property
    def all_as_expected(self) -> bool:
        """Every cell ran and got its expected verdict."""
        done = len(self.rows) == len(self.cells) and not self.interrupted
        return done and all(row["as_expected"] for row in self.rows)

    @property
    def exit_code(self) -> int:
        """0 when every cell got its expected verdict, 1 otherwise."""
        return EXIT_PASS if self.all_as_expected else EXIT_FAIL

    def summary(self) -> dict[str, Any]:
        """Everything summary.json holds."""
        return {
            "schema": SCHEMA,
            "description": self.matrix.describe(),
            "matrix": self.matrix.to_dict(),
            "cells": self.rows,
            "planned": [cell.name for cell in self.cells],
            "all_as_expected": self.all_as_expected,
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 1),
            "command": self.command,
        }


def _error_result(settings: RunSettings, message: str, run_dir: Path) -> dict[str, Any]:
    """Record a cell whose run could not happen, so it still gets a report."""
    check_settings = CheckSettings(expect=settings.expect)
    return harness_failure(run_dir, message, check_settings, settings.to_dict()).result


Progress = Callable[[int, Cell], None]
Done = Callable[[int, Cell, Mapping[str, Any]], None]


def run_matrix(
    matrix: Matrix,
    out: Path | None = None,
    command: str = "",
    on_start: Progress | None = None,
    on_done: Done | None = None,
    replace_out: bool = False,
) -> Comparison:
    """Run every cell in turn, then write summary.json and index.html; never raises Ctrl-C."""
    cells = matrix.cells()
    # Build every cell's settings and plan first: a bad option stops us before any load.
    checked = [(cell, matrix.settings(cell, Path(cell.name))) for cell in cells]
    plans = [plan(settings) for _, settings in checked]
    if out is not None:
        # One comparison per folder, as one run per folder: refused when it holds anything
        # else, emptied first with --replace (only if racecheck wrote it).
        claim(out, replace_out).release()
    directory = new_run_dir("compare", out=out)
    planned: list[tuple[Cell, RunSettings, Plan]] = [
        (cell, replace(settings, out=directory / cell.name), the_plan)
        for (cell, settings), the_plan in zip(checked, plans, strict=True)
    ]
    comparison = Comparison(directory, matrix, cells, command=command)
    started = time.monotonic()
    try:
        for index, (cell, settings, the_plan) in enumerate(planned):
            if on_start is not None:
                on_start(index, cell)
            try:
                result = execute(settings, the_plan).result
            except HarnessError as exc:
                cell_dir = new_run_dir(cell.name, out=directory / cell.name)
                result = _error_result(settings, str(exc), cell_dir)
            row = summary_row(cell, result, cell.name)
            comparison.rows.append(row)
            if on_done is not None:
                on_done(index, cell, row)
            if (result.get("check_settings") or {}).get("interrupted"):
                comparison.interrupted = True
                break
    except KeyboardInterrupt:
        comparison.interrupted = True
    comparison.duration_s = time.monotonic() - started
    write_comparison(comparison)
    return comparison


def write_comparison(comparison: Comparison) -> Path:
    """Write summary.json and index.html into the comparison directory."""
    from loadtests.report import render_comparison

    summary = comparison.summary()
    path = comparison.directory / "summary.json"
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return render_comparison(comparison.directory, summary)
