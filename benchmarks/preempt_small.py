"""A small --preempt bench: detection under forced switches, and what they cost per server.

The sections ``detect`` (only the naive-preempt and locked-preempt scenarios) and
``preempt`` of `racecheck bench`, with fewer runs: a few minutes on 2 cores.
Usage: .venv/bin/python benchmarks/preempt_small.py [--runs 10] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from loadtests.bench.detect import Scenario
from loadtests.bench.load import LoadBench
from loadtests.bench.main import (
    PREEMPT_VOTES,
    BenchSettings,
    format_table,
    run_bench,
    write_results,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="detection runs per scenario")
    parser.add_argument("--votes", type=int, default=2000, help="votes per cost round")
    parser.add_argument("--rounds", type=int, default=3, help="cost rounds per server")
    parser.add_argument("--out", type=Path, default=Path("reports/preempt-small"))
    args = parser.parse_args()
    settings = BenchSettings(
        quick=True,
        sections=("detect", "preempt"),
        load=LoadBench(votes=args.votes, rounds=args.rounds),
        detect_runs=args.runs,
        scenarios=(
            Scenario("naive-preempt", build="naive", preempt=True, max_votes=PREEMPT_VOTES),
            Scenario("locked-preempt", build="locked", preempt=True, max_votes=PREEMPT_VOTES),
        ),
    )
    with tempfile.TemporaryDirectory(prefix="racecheck-preempt-") as tmp:
        results = run_bench(settings, Path(tmp), lambda line: print(line, file=sys.stderr))
    write_results(args.out, results)
    print(format_table(results))


if __name__ == "__main__":
    main()
