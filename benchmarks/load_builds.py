"""The driver against hey and wrk on each build of the reference app, same target, alternating.

`racecheck bench` compares clients on the locked build. There the server's throughput
depends on how requests arrive (every vote queues on a lock whose holder yields the GIL),
so this script repeats the comparison on the unlocked and sqlite builds too, where it
does not. Usage: .venv/bin/python benchmarks/load_builds.py [--rounds 3] [--votes 4000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from loadtests.bench.load import measure_driver, measure_hey, measure_wrk, reference_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--votes", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="racecheck-load-builds-"))
    for build in ("locked", "unlocked", "sqlite"):
        ratios = []
        with reference_target("waitress", 16, build, scratch) as target:
            measure_driver(target.url, 500, args.clients)  # warm-up, not measured
            for number in range(args.rounds):
                driver = measure_driver(target.url, args.votes, args.clients)
                hey = measure_hey(target.url, args.votes, args.clients, scratch, 120)
                wrk = measure_wrk(target.url, 4, args.clients, scratch, 120)
                ratios.append(driver.rate / hey.rate)
                print(
                    f"{build} round {number + 1}: driver {driver.rate:.0f}/s "
                    f"({driver.cpu_us_per_request:.0f} µs CPU/req), hey {hey.rate:.0f}/s "
                    f"({hey.cpu_us_per_request:.0f} µs), wrk {wrk.rate:.0f}/s",
                    flush=True,
                )
        print(f"{build}: driver_vs_hey median {statistics.median(ratios):.2f}", flush=True)


if __name__ == "__main__":
    main()
