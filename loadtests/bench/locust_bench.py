"""Locust against hey on the same target: `racecheck run --driver locust`, timed from its history.

Locust runs in its own processes (importing it here would monkey-patch this
one with gevent), so it is driven through :func:`loadtests.run.execute.execute` with a
``--target-url``, exactly as a user would run it. Its rate is the run's vote
throughput (first vote sent to last vote answered, from the history), the same
span hey's "Total" covers; its CPU is that of its processes, start-up included.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests.bench.load import (
    LoadBench,
    close_resolution,
    measure_hey,
    open_resolution,
    reference_target,
    rotated,
    summarize_rounds,
)
from loadtests.bench.tools import ToolResult, children_cpu

LOCUST_DRIVER_MODULE = "loadtests.swarm.driver"


def missing() -> str | None:
    """Why Locust cannot be measured here, or None when it can."""
    if importlib.util.find_spec(LOCUST_DRIVER_MODULE) is None:
        return (
            f"{LOCUST_DRIVER_MODULE} is not in this checkout yet "
            "(`racecheck run --driver locust` is being built), so Locust was not measured"
        )
    return None


def measure_locust(url: str, processes: int, bench: LoadBench, out: Path) -> ToolResult:
    """One `racecheck run --driver locust --target-url URL` run; the resolution is its own."""
    from loadtests.run.execute import execute
    from loadtests.run.settings import RunSettings

    settings = RunSettings(
        driver="locust",
        processes=processes,
        clients=bench.clients,
        votes=bench.locust_votes,
        target_url=url,
        out=out,
        name=f"bench-locust-{processes}",
        progress=False,
    )
    close_resolution(url)  # the run starts (and stops) a resolution of its own
    before = children_cpu()
    try:
        outcome = execute(settings)
    finally:
        open_resolution(url)
    cpu = children_cpu() - before
    stats = outcome.result.get("stats", {})
    counts = outcome.result.get("counts", {})
    ok = sum(int(c.get("ok", 0)) for c in counts.values())
    errors = sum(int(c.get("fail", 0)) + int(c.get("info", 0)) for c in counts.values())
    seconds = float(stats.get("duration_s") or 0.0)
    return ToolResult(f"locust-{processes}p", ok, errors, seconds, cpu)


def compare_locust(
    bench: LoadBench, scratch: Path, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Locust with 1 and 2 processes against hey, alternating, on one target."""
    reason = missing()
    if reason is not None:
        return {"available": False, "reason": reason}
    tools = [f"locust-{p}p" for p in bench.locust_processes] + ["hey"]
    rounds: list[dict[str, ToolResult]] = []
    with reference_target(bench.server, bench.threads, bench.build, scratch) as target:
        for number in range(bench.locust_rounds):
            results: dict[str, ToolResult] = {}
            for tool in rotated(tools, number):
                if tool == "hey":
                    result = measure_hey(
                        target.url, bench.locust_votes, bench.clients, scratch, bench.timeout
                    )
                else:
                    processes = int(tool.removeprefix("locust-").removesuffix("p"))
                    out = scratch / f"locust-r{number}-{processes}p"
                    result = measure_locust(target.url, processes, bench, out)
                results[tool] = result
                progress(
                    f"locust round {number + 1}/{bench.locust_rounds} {tool}: {result.rate:.0f}/s"
                )
            rounds.append(results)
    summary = summarize_rounds(tools, rounds, baseline="hey")
    summary["available"] = True
    return summary
