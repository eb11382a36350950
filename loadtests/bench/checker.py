"""Checker speed and memory on synthetic histories, two ways.

* in memory: ``check(ops)`` on a list of Op objects already built (what
  `racecheck run` does at the end of a run). Time is the median of repeats (rates are
  per second of CPU time: the machine may be shared, see in_memory); the
  memory is the checker's own peak allocation (tracemalloc, in a separate pass,
  because tracing slows Python down), excluding the ops it was handed.
* streaming: ``check(iter_file(history.jsonl))`` in a fresh child process (what
  `racecheck check` does on a saved run, and what a long soak needs). Time
  includes reading and parsing the file; the memory is the child's peak RSS
  growth over its RSS before the check, so it counts everything held per op.

Run as ``python -m loadtests.bench.checker stream FILE`` to measure one file.
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests.bench import synth as bench_synth
from loadtests.check.checker import check
from loadtests.errors import HarnessError
from loadtests.history import iter_file


def _verify(verdict_lost: int, status: str, truth: bench_synth.SynthTruth) -> None:
    # A fast wrong checker is worthless: the verdict must find exactly the planted losses.
    if status != "FAIL" or verdict_lost != truth.collisions:
        raise HarnessError(
            f"checker verdict {status} with {verdict_lost} lost votes on a synthetic history "
            f"with {truth.collisions} planted lost updates"
        )


def _peak_allocation(ops_count: int, seed: int) -> int:
    """The checker's own peak allocation on a synthetic history (tracemalloc)."""
    truth = bench_synth.SynthTruth()
    ops = list(bench_synth.generate(bench_synth.SynthSpec(ops_count, seed=seed), truth))
    gc.collect()
    tracemalloc.start()
    try:
        check(ops, truth.final(), bench_synth.settings())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def in_memory(
    ops_count: int, repeats: int = 3, seed: int = 0, memory_ops: int | None = None
) -> dict[str, Any]:
    """check() on ops held in memory: median CPU time, and the checker's peak allocation.

    The rate is ops per second of this process's CPU time (the check is one thread),
    so a neighbour taking the core does not count against the checker; the wall time
    is kept next to it. The memory pass runs under tracemalloc, which slows Python
    several times (68 s for 10^6 ops on a loaded machine): ``memory_ops`` measures it
    on a smaller history instead (bytes per op hardly depend on the size: 48 at 10^5,
    42 at 10^6 and 10^7 in docs/performance.md).
    """
    truth = bench_synth.SynthTruth()
    ops = list(bench_synth.generate(bench_synth.SynthSpec(ops_count, seed=seed), truth))
    final, settings = truth.final(), bench_synth.settings()
    cpu_times, wall_times = [], []
    for _ in range(repeats):
        gc.collect()
        cpu_started, started = time.process_time(), time.perf_counter()
        verdict = check(ops, final, settings)
        cpu_times.append(time.process_time() - cpu_started)
        wall_times.append(time.perf_counter() - started)
        _verify(verdict.lost, verdict.status, truth)
    del ops
    memory_ops = min(memory_ops or ops_count, ops_count)
    peak = _peak_allocation(memory_ops, seed)
    cpu = statistics.median(cpu_times)
    return {
        "mode": "in-memory",
        "ops": ops_count,
        "seconds": round(statistics.median(wall_times), 4),
        "cpu_seconds": round(cpu, 4),
        "ops_per_s": round(ops_count / cpu),
        "peak_bytes": peak,
        "memory_ops": memory_ops,
        "bytes_per_op": round(peak / memory_ops, 1),
        "collisions": truth.collisions,
    }


def _peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM), read from /proc/self/status.

    Not ru_maxrss: on Linux that survives fork and exec, so a child started by a
    parent holding a large history would report the parent's peak, not its own.
    """
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def stream_file(path: Path, final: dict[str, Any]) -> dict[str, Any]:
    """check(iter_file(path)) here and now: seconds and peak RSS growth (run in a child)."""
    from loadtests.check.checker import FinalState

    gc.collect()
    before = _peak_rss_bytes()
    cpu_started, started = time.process_time(), time.perf_counter()
    verdict = check(iter_file(path), FinalState.from_dict(final), bench_synth.settings())
    cpu = time.process_time() - cpu_started
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_growth_bytes": max(0, _peak_rss_bytes() - before),
        "status": verdict.status,
        "lost": verdict.lost,
    }


def streaming(ops_count: int, scratch: Path, seed: int = 0) -> dict[str, Any]:
    """Write a synthetic history.jsonl, then check it from the file in a fresh process."""
    truth = bench_synth.SynthTruth()
    path = scratch / f"synthetic-{ops_count}.jsonl"
    started = time.perf_counter()
    bench_synth.write(bench_synth.SynthSpec(ops_count, seed=seed), path, truth)
    write_seconds = time.perf_counter() - started
    try:
        argv = [sys.executable, "-m", "loadtests.bench.checker", "stream", str(path)]
        argv.append(json.dumps(truth.final().to_dict()))
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=3600)
        if done.returncode != 0:
            raise HarnessError(f"the streaming checker failed:\n{done.stderr[-2000:]}")
        child = json.loads(done.stdout)
    finally:
        size = path.stat().st_size if path.exists() else 0
        path.unlink(missing_ok=True)
    _verify(child["lost"], child["status"], truth)
    return {
        "mode": "streaming",
        "ops": ops_count,
        "seconds": round(child["seconds"], 4),
        # Per second of the child's CPU, as in memory (reading and parsing included).
        "cpu_seconds": round(child["cpu_seconds"], 4),
        "ops_per_s": round(ops_count / child["cpu_seconds"]),
        "peak_bytes": child["rss_growth_bytes"],
        "bytes_per_op": round(child["rss_growth_bytes"] / ops_count, 1),
        "file_bytes": size,
        "write_seconds": round(write_seconds, 2),
        "collisions": truth.collisions,
    }


def measure(
    in_memory_sizes: tuple[int, ...],
    streaming_sizes: tuple[int, ...],
    scratch: Path,
    repeats: int = 3,
    progress: Callable[[str], None] = lambda _: None,
    memory_ops: int | None = None,
) -> dict[str, Any]:
    """Both ways, per size; ``checker_ops_per_s`` is the in-memory rate at the largest size."""
    rows = []
    for size in in_memory_sizes:
        rows.append(in_memory(size, repeats, memory_ops=memory_ops))
        progress(f"checker in memory {size:,} ops: {rows[-1]['ops_per_s']:,} ops/s")
    for size in streaming_sizes:
        rows.append(streaming(size, scratch))
        progress(f"checker streaming {size:,} ops: {rows[-1]['ops_per_s']:,} ops/s")
    memory = [r for r in rows if r["mode"] == "in-memory"]
    stream = [r for r in rows if r["mode"] == "streaming"]
    return {
        "checker_ops_per_s": max(memory, key=lambda r: r["ops"])["ops_per_s"] if memory else None,
        "checker_bytes_per_op": max(memory, key=lambda r: r["ops"])["bytes_per_op"]
        if memory
        else None,
        "streaming_ops_per_s": max(stream, key=lambda r: r["ops"])["ops_per_s"] if stream else None,
        "streaming_bytes_per_op": max(stream, key=lambda r: r["ops"])["bytes_per_op"]
        if stream
        else None,
        "rows": rows,
    }


def _main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "stream":
        print("usage: python -m loadtests.bench.checker stream FILE FINAL_JSON", file=sys.stderr)
        return 2
    result = stream_file(Path(argv[1]), json.loads(argv[2]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
