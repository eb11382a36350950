"""Soak: keep the locked build under load for minutes on every server; nothing may be lost.

    .venv/bin/python benchmarks/soak.py                       # 100,000 votes per server
    .venv/bin/python benchmarks/soak.py --votes 20000 --servers waitress

For each server one target is started and kept up for the whole soak, and the real
`racecheck run` path (:func:`loadtests.run.execute.execute` against its URL) is repeated in
rounds until the votes are sent: open a resolution, vote, stop, read, check, write.
Every round must PASS with nothing lost. The resident memory of the target (all its
processes) and of this harness process is measured at the start, after every round,
and at the end, so a leak shows as a climb from round to round.

Prints a short table and writes JSON (``--out``, default reports/soak-<UTC stamp>.json).
Exit 0 when every round passed and no vote was lost, else 1. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from loadtests.defaults import SERVERS  # noqa: E402
from loadtests.run.execute import execute  # noqa: E402
from loadtests.run.settings import RunSettings  # noqa: E402
from loadtests.target.launcher import (  # noqa: E402
    RunningTarget,
    TargetSpec,
    group_members,
    start_target,
)


def rss_kib(pid: int) -> int:
    """Resident set size of one process in KiB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def target_rss_kib(target: RunningTarget) -> int:
    """The target's memory: every process of its group (gunicorn's arbiter and worker)."""
    return sum(rss_kib(pid) for pid in group_members(target.process.pgid))


@dataclass
class Memory:
    """Start, end and peak resident memory of one process (or group), in MiB."""

    start: float = 0.0
    end: float = 0.0
    peak: float = 0.0
    samples: list[float] = field(default_factory=list)

    def sample(self, kib: int) -> None:
        mib = round(kib / 1024, 1)
        if not self.samples:
            self.start = mib
        self.samples.append(mib)
        self.end, self.peak = mib, max(self.peak, mib)


@dataclass
class ServerSoak:
    """What one server went through."""

    server: str
    rounds: int = 0
    sent: int = 0
    ok: int = 0
    fail: int = 0
    info: int = 0
    lost: int = 0
    phantom: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    votes_per_second: float = 0.0
    target_mib: Memory = field(default_factory=Memory)
    harness_mib: Memory = field(default_factory=Memory)

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.phantom == 0 and set(self.verdicts) == {"PASS"}


def soak_server(server: str, args: argparse.Namespace, scratch: Path) -> ServerSoak:
    """Start one locked target and run rounds against it until the votes are sent."""
    soak = ServerSoak(server)
    spec = TargetSpec(server=server, build="locked", threads=args.threads)  # type: ignore[arg-type]
    verdicts: Counter[str] = Counter()
    with start_target(spec, ready_timeout=60, log_path=scratch / f"{server}-target.log") as target:
        soak.target_mib.sample(target_rss_kib(target))
        soak.harness_mib.sample(rss_kib(os.getpid()))
        began = time.monotonic()
        while soak.sent < args.votes:
            votes = min(args.round_votes, args.votes - soak.sent)
            settings = RunSettings(
                target_url=target.url,
                votes=votes,
                clients=args.clients,
                timeout=args.timeout,
                progress=False,
                out=scratch / f"{server}-{soak.rounds}",
                name=f"soak-{server}",
            )
            outcome = execute(settings)
            soak.rounds += 1
            soak.sent += votes
            for counts in outcome.result["counts"].values():
                soak.ok, soak.fail = soak.ok + counts["ok"], soak.fail + counts["fail"]
                soak.info += counts["info"]
            soak.lost += outcome.result["lost"]
            soak.phantom += outcome.result["phantom"]
            verdicts[outcome.verdict.status] += 1
            soak.target_mib.sample(target_rss_kib(target))
            soak.harness_mib.sample(rss_kib(os.getpid()))
            if not args.keep_runs:
                shutil.rmtree(outcome.run_dir, ignore_errors=True)
            print(
                f"  {server} round {soak.rounds}: {outcome.verdict.status}, {soak.sent} votes, "
                f"lost {soak.lost}, target {soak.target_mib.end} MiB, "
                f"harness {soak.harness_mib.end} MiB",
                flush=True,
            )
        soak.seconds = round(time.monotonic() - began, 1)
    soak.verdicts = dict(verdicts)
    soak.votes_per_second = round(soak.sent / soak.seconds, 1) if soak.seconds else 0.0
    return soak


def table(soaks: list[ServerSoak]) -> str:
    """The short summary a person reads."""
    head = (
        f"{'server':<9} {'votes':>8} {'lost':>5} {'info':>5} {'rounds':>6} {'votes/s':>8} "
        f"{'target MiB start→end (peak)':>28} {'harness MiB start→end (peak)':>29}"
    )
    rows = [head, "-" * len(head)]
    for s in soaks:
        t, h = s.target_mib, s.harness_mib
        rows.append(
            f"{s.server:<9} {s.sent:>8} {s.lost:>5} {s.info:>5} {s.rounds:>6} "
            f"{s.votes_per_second:>8} {f'{t.start}→{t.end} ({t.peak})':>28} "
            f"{f'{h.start}→{h.end} ({h.peak})':>29}"
        )
    return "\n".join(rows)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--votes", type=int, default=100_000, help="votes per server")
    parser.add_argument("--round-votes", type=int, default=20_000, help="votes per round")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--threads", type=int, default=16, help="server threads")
    parser.add_argument("--timeout", type=float, default=10.0, help="client read timeout")
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON")
    parser.add_argument("--keep-runs", action="store_true", help="keep each round's run dir")
    args = parser.parse_args(argv)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = sorted(set(servers) - set(SERVERS))
    if unknown or not servers:
        parser.error(f"--servers takes {', '.join(SERVERS)}; got {args.servers!r}")
    if args.votes < 1 or args.round_votes < 1 or args.clients < 1:
        parser.error("--votes, --round-votes and --clients must be at least 1")
    args.servers = servers
    return args


def main(argv: list[str] | None = None) -> int:
    """Soak every server in turn; exit 0 only if nothing was lost and every round passed."""
    args = parse(argv)
    # Loaded up front, so that the harness's memory "at start" is that of a harness
    # ready to write reports, and growth after it means growth, not a first import.
    import loadtests.report  # noqa: F401

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or ROOT / "reports" / f"soak-{stamp}.json"
    scratch = out.with_suffix("") if args.keep_runs else out.parent / f".soak-{stamp}"
    scratch.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    soaks = []
    try:
        for server in args.servers:
            print(f"soaking {server}: {args.votes} votes, {args.clients} clients", flush=True)
            soaks.append(soak_server(server, args, scratch))
    finally:
        if not args.keep_runs:
            shutil.rmtree(scratch, ignore_errors=True)
    report: dict[str, Any] = {
        "schema": "racecheck/soak/v1",
        "started": stamp,
        "seconds": round(time.monotonic() - began, 1),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "servers": {s.server: {**asdict(s), "clean": s.clean} for s in soaks},
        "clean": all(s.clean for s in soaks),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print(table(soaks))
    print(f"{'clean: no vote lost, every round PASS' if report['clean'] else 'NOT CLEAN'}; {out}")
    return 0 if report["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
