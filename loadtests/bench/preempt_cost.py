"""What --preempt costs: hey's rate on the naive build with and without it, per server.

The naive build: the textbook handler with nothing but the app's own code in it. (The
locked build pauses with time.sleep(0) inside its lock, which makes its own rate swing
between about 100/s and 1,400/s under waitress depending on how requests arrive, too
noisy a baseline.) hey sends an op id header on every vote, as racecheck's driver does,
so the tracer's line recorder is paid for too. The targets (without, and with each rate)
are measured in alternating rounds, like the lock cost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loadtests.bench.load import LoadBench, measure_hey, reference_target, rotated
from loadtests.bench.load import summarize_rounds as summarize
from loadtests.bench.tools import ToolResult
from loadtests.defaults import OP_HEADER, PREEMPT_RATE, PREEMPT_SERVERS, SERVERS, ServerName
from loadtests.target.preempt import Preempt

PLAIN = "plain"
BUILD = "naive"
# Votes per hey run here, fewer than the load section's: at rate 1 waitress answers
# 60-200 votes/s, and the full run's 4,000 outlasted hey's 120 s limit on a busy machine.
VOTES = 1000


def side(rate: float) -> str:
    """The name of the target preempted at ``rate``, e.g. "preempt-0.1"."""
    return f"preempt-{rate:g}"


def preempt_cost(
    bench: LoadBench,
    scratch: Path,
    servers: Sequence[ServerName] = SERVERS,
    progress: Callable[[str], None] = lambda _: None,
    rates: Sequence[float] = (PREEMPT_RATE,),
) -> dict[str, Any]:
    """Per server: the naive build's rate without --preempt and with it at each rate."""
    out: dict[str, Any] = {}
    headers = (f"{OP_HEADER}: bench",)
    sides = (PLAIN, *(side(rate) for rate in rates))
    for server in servers:
        if server not in PREEMPT_SERVERS:  # TargetSpec refuses it
            out[server] = {"skipped": f"--preempt does not reach {server}'s request threads"}
            continue
        with contextlib.ExitStack() as stack:
            urls = {PLAIN: stack.enter_context(_target(bench, scratch, server, None)).url}
            for rate in rates:
                target = stack.enter_context(_target(bench, scratch, server, rate))
                urls[side(rate)] = target.url
            rounds: list[dict[str, ToolResult]] = []
            for number in range(bench.rounds):
                results = {}
                for name in rotated(sides, number):
                    votes = min(bench.votes, VOTES)
                    results[name] = measure_hey(
                        urls[name], votes, bench.clients, scratch, bench.timeout, headers
                    )
                shown = ", ".join(f"{name} {results[name].rate:.0f}/s" for name in sides)
                progress(f"preempt cost {server} round {number + 1}: {shown}")
                rounds.append(results)
        summary = summarize(sides, rounds, baseline=PLAIN)
        out[server] = {
            "plain_rate": summary["tools"][PLAIN]["rate_median"],
            "by_rate": [
                {
                    "rate": rate,
                    "preempt_rate": summary["tools"][side(rate)]["rate_median"],
                    "preempt_vs_plain": summary["ratios"][f"{side(rate)}_vs_{PLAIN}"],
                }
                for rate in rates
            ],
        }
    return out


def _target(
    bench: LoadBench, scratch: Path, server: ServerName, rate: float | None
) -> contextlib.AbstractContextManager[Any]:
    env = Preempt(rate=rate).env() if rate is not None else None
    return reference_target(server, bench.threads, BUILD, scratch, env)
