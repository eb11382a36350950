"""What --preempt costs: hey's rate on the locked build with and without it, per server.

The locked build, so both sides count every vote; hey sends an op id header on every
vote, as racecheck's driver does, so the tracer's line recorder is paid for too. The
two targets are measured in alternating rounds, like the lock cost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loadtests.bench.load import LoadBench, measure_hey, reference_target, rotated
from loadtests.bench.load import summarize_rounds as summarize
from loadtests.bench.tools import ToolResult
from loadtests.defaults import OP_HEADER, SERVERS, ServerName
from loadtests.target.preempt import Preempt

SIDES = ("preempt", "plain")


def preempt_cost(
    bench: LoadBench,
    scratch: Path,
    servers: Sequence[ServerName] = SERVERS,
    progress: Callable[[str], None] = lambda _: None,
    preempt: Preempt | None = None,
) -> dict[str, Any]:
    """Per server: the locked build's rate under --preempt and without, and their ratio."""
    preempt = preempt or Preempt()
    out: dict[str, Any] = {}
    headers = (f"{OP_HEADER}: bench",)
    for server in servers:
        with (
            reference_target(server, bench.threads, "locked", scratch, preempt.env()) as forced,
            reference_target(server, bench.threads, "locked", scratch) as plain,
        ):
            urls = {"preempt": forced.url, "plain": plain.url}
            rounds: list[dict[str, ToolResult]] = []
            for number in range(bench.rounds):
                results = {}
                for side in rotated(SIDES, number):
                    results[side] = measure_hey(
                        urls[side], bench.votes, bench.clients, scratch, bench.timeout, headers
                    )
                progress(
                    f"preempt cost {server} round {number + 1}: with "
                    f"{results['preempt'].rate:.0f}/s, without {results['plain'].rate:.0f}/s"
                )
                rounds.append(results)
        summary = summarize(SIDES, rounds, baseline="plain")
        out[server] = {
            "preempt_rate": summary["tools"]["preempt"]["rate_median"],
            "plain_rate": summary["tools"]["plain"]["rate_median"],
            "preempt_vs_plain": summary["ratios"]["preempt_vs_plain"],
            "rate": preempt.rate,
        }
    return out
