"""racecheck's own memory at 10^4 and 10^5 votes: the history streams, so the load stays flat.

    .venv/bin/python benchmarks/history_rss.py                 # 10,000 and 100,000 votes
    .venv/bin/python benchmarks/history_rss.py --votes 10000 30000

Runs the real ``racecheck run`` (locked build, waitress, requests driver) once per size
and samples the resident memory of the racecheck process itself (not the target) every
0.2 s: the peak while the load runs (the history is streamed to parts/) and the peak
over the whole run (the checker, stats and report that read history.jsonl come after).
Prints a table. Not part of the tests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RACECHECK = str(Path(sys.executable).with_name("racecheck"))


def rss_mib(pid: int) -> float | None:
    """VmRSS of ``pid`` in MiB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure(votes: int, clients: int, scratch: Path) -> dict[str, float]:
    """Run once; the peak RSS during the load and over the whole run, and the wall time."""
    out = scratch / f"run-{votes}"
    started = time.monotonic()
    process = subprocess.Popen(
        [RACECHECK, "run", "--votes", str(votes), "--clients", str(clients), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    load_peak = run_peak = 0.0
    while process.poll() is None:
        mib = rss_mib(process.pid)
        if mib is not None:
            run_peak = max(run_peak, mib)
            if not (out / "history.jsonl").exists():
                load_peak = max(load_peak, mib)
        time.sleep(0.2)
    return {
        "votes": votes,
        "exit": process.returncode,
        "load_peak_mib": load_peak,
        "run_peak_mib": run_peak,
        "seconds": time.monotonic() - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        rows = [measure(n, args.clients, Path(scratch)) for n in args.votes]
    print("| votes | exit | racecheck RSS peak during load (MiB) | peak over the run (MiB) | s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['votes']:,} | {r['exit']:.0f} | {r['load_peak_mib']:.1f} | "
            f"{r['run_peak_mib']:.1f} | {r['seconds']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
