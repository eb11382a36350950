"""Client speed: the requests driver, Locust, hey and wrk on one target, in alternation.

Every round runs each client once against the same running server and the same
endpoint (POST /api/votes with a JSON body, the same concurrency), in an order
that rotates from round to round, so drift on a shared machine (another job
starting, a CPU warming up) hits every client alike. Ratios are taken within a
round and their median over rounds is reported.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests import defaults
from loadtests.bench.tools import (
    ToolResult,
    hey_argv,
    parse_hey,
    parse_wrk,
    run_tool,
    wrk_argv,
    wrk_script,
)
from loadtests.defaults import SERVERS, ServerName
from loadtests.drive.client import Client, SessionTransport
from loadtests.drive.driver import Load, RequestsDriver
from loadtests.errors import UsageError
from loadtests.history import History
from loadtests.target.launcher import RunningTarget, TargetSpec, start_target
from loadtests.target.workload import Workload, reference_workload

DRIVER = "requests-driver"


@dataclass(frozen=True)
class LoadBench:
    """How the clients are compared: the server, the concurrency, the work per run."""

    server: ServerName = "waitress"
    # The unlocked build: on the locked one every vote queues on a lock whose holder
    # yields the GIL, and how long those queues get depends on how the client's requests
    # arrive (hey's goroutines at once, Python threads in turns), so the rate would
    # measure lock convoys as much as clients. Lost votes do not matter here: only rates.
    build: str = "unlocked"
    threads: int = defaults.THREADS
    clients: int = defaults.CLIENTS
    votes: int = 3000
    wrk_seconds: int = 3
    rounds: int = 5
    tools: tuple[str, ...] = (DRIVER, "hey", "wrk")
    locust_processes: tuple[int, ...] = (1, 2)
    locust_votes: int = 6000
    locust_rounds: int = 3
    timeout: float = 120.0


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values (a missing tool)."""
    return statistics.median(values) if values else None


def rotated(items: Sequence[str], shift: int) -> list[str]:
    """``items`` started at position ``shift``: round r runs tool r first."""
    if not items:
        return []
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


def ratios(rounds: Sequence[dict[str, ToolResult]], top: str, bottom: str) -> list[float]:
    """Per round, ``top``'s rate over ``bottom``'s (rounds missing either are left out)."""
    out = []
    for results in rounds:
        if top in results and bottom in results and results[bottom].rate > 0:
            out.append(results[top].rate / results[bottom].rate)
    return out


def cpu_ratios(rounds: Sequence[dict[str, ToolResult]], top: str, bottom: str) -> list[float]:
    """Per round, ``top``'s client CPU per request over ``bottom``'s (lower: cheaper)."""
    out = []
    for results in rounds:
        if top in results and bottom in results and results[top].ok and results[bottom].ok:
            bottom_cpu = results[bottom].cpu_us_per_request
            if bottom_cpu > 0:
                out.append(results[top].cpu_us_per_request / bottom_cpu)
    return out


def _steps(url: str, workload: Workload) -> Client:
    transport = SessionTransport()
    return Client(transport, url, workload, History("harness"), "harness")


def open_resolution(url: str) -> None:
    """Make sure a resolution is being voted on, so votes are acknowledged (200)."""
    workload = reference_workload()
    client = _steps(url, workload)
    for step in workload.teardown:
        client.step(step)  # 409 when none is open: fine
    for step in workload.setup:
        client.step(step)


def close_resolution(url: str) -> None:
    """Stop the resolution in progress (a Locust run opens its own)."""
    workload = reference_workload()
    client = _steps(url, workload)
    for step in workload.teardown:
        client.step(step)


def measure_driver(url: str, votes: int, clients: int) -> ToolResult:
    """The requests driver in this process, as `racecheck run` uses it, history included."""
    history = History("requests")
    driver = RequestsDriver(Load(clients=clients, votes=votes), progress=False)
    cpu_before, started = time.process_time(), time.perf_counter()
    driver.run(url, reference_workload(), history)
    seconds = time.perf_counter() - started
    # process_time covers every thread of this process; the bench itself is idle
    # in join() meanwhile, so this is the driver's own CPU.
    cpu = time.process_time() - cpu_before
    completions = [op for op in history.ops() if op.type != "invoke"]
    ok = sum(op.type == "ok" for op in completions)
    return ToolResult(DRIVER, ok, len(completions) - ok, seconds, cpu)


def measure_hey(
    url: str, votes: int, clients: int, scratch: Path, timeout: float, headers: Sequence[str] = ()
) -> ToolResult:
    """hey with the same body and concurrency (it sends votes rounded down to the workers)."""
    argv = hey_argv(url, votes, clients, headers=headers)
    text, cpu = run_tool(argv, scratch / "hey.log", timeout)
    return parse_hey(text, cpu)


def measure_wrk(url: str, seconds: int, clients: int, scratch: Path, timeout: float) -> ToolResult:
    """wrk for a fixed time (it has no request count) with a Lua script for the body."""
    script = scratch / "post.lua"
    script.write_text(wrk_script(), encoding="utf-8")
    text, cpu = run_tool(wrk_argv(url, seconds, clients, script), scratch / "wrk.log", timeout)
    return parse_wrk(text, cpu)


@contextlib.contextmanager
def reference_target(
    server: ServerName,
    threads: int,
    build: str,
    log_dir: Path,
    env: dict[str, str] | None = None,
) -> Iterator[RunningTarget]:
    """The reference app on 127.0.0.1 with a resolution open; stopped on the way out."""
    spec = TargetSpec(server=server, threads=threads, build=build, env=env or {})
    log = log_dir / f"target-{server}-{build}.log"
    with start_target(spec, log_path=log) as target:
        open_resolution(target.url)
        yield target


def compare_clients(
    bench: LoadBench, scratch: Path, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Alternate the driver, hey and wrk on one target; rates, CPU and ratios."""
    runners: dict[str, Callable[[str], ToolResult]] = {
        DRIVER: lambda url: measure_driver(url, bench.votes, bench.clients),
        "hey": lambda url: measure_hey(url, bench.votes, bench.clients, scratch, bench.timeout),
        "wrk": lambda url: measure_wrk(
            url, bench.wrk_seconds, bench.clients, scratch, bench.timeout
        ),
    }
    rounds: list[dict[str, ToolResult]] = []
    with reference_target(bench.server, bench.threads, bench.build, scratch) as target:
        # One unmeasured warm-up: the first requests pay for imports and connections.
        measure_driver(target.url, min(bench.votes, 500), bench.clients)
        for number in range(bench.rounds):
            results: dict[str, ToolResult] = {}
            for tool in rotated(bench.tools, number):
                results[tool] = runners[tool](target.url)
                progress(f"round {number + 1}/{bench.rounds} {tool}: {results[tool].rate:.0f}/s")
            rounds.append(results)
    return summarize_rounds(bench.tools, rounds, baseline="hey")


def summarize_rounds(
    tools: Sequence[str], rounds: Sequence[dict[str, ToolResult]], baseline: str
) -> dict[str, Any]:
    """Medians per tool and of the per-round ratios to ``baseline``."""
    per_tool: dict[str, Any] = {}
    for tool in tools:
        results = [r[tool] for r in rounds if tool in r]
        per_tool[tool] = {
            "rate_median": _rounded(median([r.rate for r in results]), 1),
            "cpu_us_per_request_median": _rounded(
                median([r.cpu_us_per_request for r in results]), 1
            ),
            "runs": [r.to_dict() for r in results],
        }
    vs = {
        f"{tool}_vs_{baseline}": _rounded(median(ratios(rounds, tool, baseline)), 3)
        for tool in tools
        if tool != baseline
    }
    cpu_vs = {
        f"{tool}_cpu_vs_{baseline}": _rounded(median(cpu_ratios(rounds, tool, baseline)), 3)
        for tool in tools
        if tool != baseline
    }
    return {
        "tools": per_tool,
        "ratios": vs,
        "cpu_ratios": cpu_vs,
        "rounds": len(rounds),
        "baseline": baseline,
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def lock_cost(
    bench: LoadBench,
    scratch: Path,
    servers: Sequence[ServerName] = SERVERS,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Per server: hey's rate on the locked and the unlocked build, alternating builds."""
    out: dict[str, Any] = {}
    for server in servers:
        try:
            out[server] = _lock_cost_on(server, bench, scratch, progress)
        except UsageError as exc:
            if server != "apache":
                raise
            # Apache is optional (apt packages and mod_wsgi): the bench still measures
            # the other servers, and says why this one is missing.
            out[server] = {"skipped": str(exc).splitlines()[0]}
    return out


def _lock_cost_on(
    server: ServerName, bench: LoadBench, scratch: Path, progress: Callable[[str], None]
) -> dict[str, Any]:
    with (
        reference_target(server, bench.threads, "locked", scratch) as locked,
        reference_target(server, bench.threads, "unlocked", scratch) as unlocked,
    ):
        urls = {"locked": locked.url, "unlocked": unlocked.url}
        rounds: list[dict[str, ToolResult]] = []
        for number in range(bench.rounds):
            results = {}
            for build in rotated(("locked", "unlocked"), number):
                results[build] = measure_hey(
                    urls[build], bench.votes, bench.clients, scratch, bench.timeout
                )
            progress(
                f"lock cost {server} round {number + 1}: locked "
                f"{results['locked'].rate:.0f}/s, unlocked {results['unlocked'].rate:.0f}/s"
            )
            rounds.append(results)
    summary = summarize_rounds(("locked", "unlocked"), rounds, baseline="unlocked")
    # The range over rounds, beside the median: one pair of runs on a shared machine
    # can say 5% or 48%, so the spread is part of the answer.
    ratios = [r["locked"].rate / r["unlocked"].rate for r in rounds if r["unlocked"].rate]
    return {
        "locked_rate": summary["tools"]["locked"]["rate_median"],
        "unlocked_rate": summary["tools"]["unlocked"]["rate_median"],
        "locked_vs_unlocked": summary["ratios"]["locked_vs_unlocked"],
        "locked_vs_unlocked_range": [round(min(ratios), 2), round(max(ratios), 2)]
        if ratios
        else None,
        "rounds": len(rounds),
    }
