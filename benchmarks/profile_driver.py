"""Profile the requests driver: where does a vote's client-side CPU go?

Run the driver under py-spy (sampling, every thread, native frames off), then
summarise the collapsed stacks by layer::

    .venv/bin/py-spy record --rate 250 --format raw --output /tmp/driver.txt \\
        -- .venv/bin/python benchmarks/profile_driver.py --votes 6000
    .venv/bin/python benchmarks/profile_driver.py --summarize /tmp/driver.txt

The target (a locked waitress server) is a child process and is not sampled:
py-spy follows only the pid it started unless told --subprocesses.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

from loadtests.bench.load import measure_driver, reference_target

# Layers, most specific first: the first pattern found in a stack (from the leaf
# up) names the layer that sample is charged to.
LAYERS = (
    ("json (encode/decode)", ("json/encoder.py", "json/decoder.py", "json/__init__.py")),
    ("socket I/O (send/recv syscalls)", ("socket.py", "ssl.py")),
    ("http.client (parse the reply)", ("http/client.py", "email/", "http/__init__.py")),
    ("urllib3 (pool, connection)", ("urllib3/",)),
    ("requests (session, models, adapters)", ("requests/",)),
    ("racecheck history", ("loadtests/history.py",)),
    ("racecheck client + workload", ("loadtests/drive/client.py", "loadtests/target/workload.py")),
    ("racecheck driver", ("loadtests/drive/driver.py",)),
    ("threading (locks, waits)", ("threading.py",)),
)


def summarize(path: Path) -> str:
    """Percent of samples per layer, and the top self-time functions."""
    layers: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        if frames and frames[0].startswith("thread "):
            frames = frames[1:]
        total += count
        leaves[frames[-1] if frames else "?"] += count
        for frame in reversed(frames):
            layer = next((name for name, pats in LAYERS if any(p in frame for p in pats)), None)
            if layer is not None:
                layers[layer] += count
                break
        else:
            layers["other"] += count
    lines = [f"{total} samples"]
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in layers.most_common()]
    lines.append("top leaf functions:")
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in leaves.most_common(15)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--server", default="waitress")
    parser.add_argument("--summarize", type=Path, help="summarise a py-spy --format raw file")
    args = parser.parse_args(argv)
    if args.summarize is not None:
        print(summarize(args.summarize))
        return 0
    with reference_target(args.server, 16, "locked", Path("/tmp")) as target:
        started = time.perf_counter()
        result = measure_driver(target.url, args.votes, args.clients)
        wall = time.perf_counter() - started
    print(
        f"{result.ok} ok in {wall:.2f} s: {result.rate:.0f}/s, "
        f"{result.cpu_us_per_request:.0f} µs CPU per request",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
