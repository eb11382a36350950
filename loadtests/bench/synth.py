"""Synthetic histories for the checker benchmark: any size, with lost updates in them.

A history here looks like a real run of the reference app: the harness starts a
resolution, ``clients`` processes vote concurrently (their invocations and
completions interleave), and the harness stops the resolution. A fraction of the
acknowledged votes returns a count that an earlier vote already returned, which
is exactly the fingerprint of a lost update, so every check has work to do and
the verdict is FAIL with witnesses. Everything is deterministic for one seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests import defaults
from loadtests.check.checker import CheckSettings, FinalState
from loadtests.history import Op, OpType, Process

CHOICES = ("yes", "no")
PID = 4242
RESOLUTION = 1
# The start and the stop of the resolution: two ops each, by the harness.
HARNESS_OPS = 4


@dataclass(frozen=True)
class SynthSpec:
    """What to generate: the op count, the concurrency and how often updates are lost."""

    ops: int
    clients: int = defaults.CLIENTS
    collision_rate: float = 0.01
    fail_rate: float = 0.002
    info_rate: float = 0.001
    seed: int = 0

    def __post_init__(self) -> None:
        if self.ops < HARNESS_OPS or self.ops % 2:
            raise ValueError(f"ops must be an even number >= {HARNESS_OPS}, got {self.ops}")
        if self.clients < 1:
            raise ValueError("clients must be at least 1")
        rates = (self.collision_rate, self.fail_rate, self.info_rate)
        if any(not 0 <= rate <= 1 for rate in rates) or self.fail_rate + self.info_rate > 1:
            raise ValueError("rates must be between 0 and 1 (fail + info at most 1)")

    @property
    def votes(self) -> int:
        """How many votes the history holds (each is an invoke and a completion)."""
        return (self.ops - HARNESS_OPS) // 2


@dataclass
class SynthTruth:
    """What the generator knows the checker must find (filled in while generating)."""

    ok: int = 0
    fail: int = 0
    info: int = 0
    collisions: int = 0
    final_yes: int = 0
    final_no: int = 0
    end_ns: int = 0

    def final(self) -> FinalState:
        """The final tally a read after the load would have returned."""
        counts = {"yes": self.final_yes, "no": self.final_no}
        return FinalState(counts, RESOLUTION, self.end_ns + 1, (PID,), "read")


def settings() -> CheckSettings:
    """The check settings of a reference-app run (all checks on)."""
    return CheckSettings(choices=CHOICES)


class _Generator:
    """One pass of generation: a clock, the next index and the counters."""

    def __init__(self, spec: SynthSpec, truth: SynthTruth) -> None:
        self.spec, self.truth = spec, truth
        self.rng = random.Random(spec.seed)
        self.clock = 1_700_000_000_000_000_000
        self.index = 0
        self.counters = {"yes": 0, "no": 0}

    def op(self, process: Process, kind: OpType, f: str, value: Any, vote_id: str | None) -> Op:
        self.clock += self.rng.randrange(1_000, 50_000)
        made = Op(self.index, process, kind, f, value, self.clock, vote_id, "requests")
        self.index += 1
        return made

    def ops(self) -> Iterator[Op]:
        yield self.op("harness", "invoke", "start", None, None)
        yield self.op("harness", "ok", "start", {"id": RESOLUTION, "state": "voting"}, None)
        remaining, number = self.spec.votes, 0
        while remaining:
            # One round: up to `clients` votes invoked, then completed in a shuffled
            # order, so invocations and completions interleave as under real load.
            batch = min(self.spec.clients, remaining)
            remaining -= batch
            open_votes = []
            for process in range(batch):
                choice = CHOICES[self.rng.random() < 0.5]
                vote_id = f"bench-{number}"
                number += 1
                open_votes.append((process, choice, vote_id))
                yield self.op(process, "invoke", "vote", {"choice": choice}, vote_id)
            self.rng.shuffle(open_votes)
            for process, choice, vote_id in open_votes:
                yield self.complete(process, choice, vote_id)
        self.truth.final_yes, self.truth.final_no = self.counters["yes"], self.counters["no"]
        yield self.op("harness", "invoke", "stop", None, None)
        stopped = self.op("harness", "ok", "stop", {"id": RESOLUTION, **self.counters}, None)
        self.truth.end_ns = stopped.time_ns
        yield stopped

    def complete(self, process: int, choice: str, vote_id: str) -> Op:
        spec, truth = self.spec, self.truth
        roll = self.rng.random()
        if roll < spec.fail_rate:
            truth.fail += 1
            value: dict[str, Any] = {"choice": choice, "status": 409, "error": "no vote"}
            return self.op(process, "fail", "vote", value, vote_id)
        if roll < spec.fail_rate + spec.info_rate:
            # A timeout whose vote never landed: the final tally stays within ok + info.
            truth.info += 1
            value = {"choice": choice, "status": None, "error": "ReadTimeout: timed out"}
            return self.op(process, "info", "vote", value, vote_id)
        truth.ok += 1
        if self.counters[choice] and self.rng.random() < spec.collision_rate:
            # A lost update: this handler read the value another had read, so it
            # returns a count already returned and the counter does not move.
            truth.collisions += 1
        else:
            self.counters[choice] += 1
        count = self.counters[choice]
        value = {"choice": choice, "count": count, "pid": PID, "resolution_id": RESOLUTION}
        return self.op(process, "ok", "vote", value, vote_id)


def generate(spec: SynthSpec, truth: SynthTruth | None = None) -> Iterator[Op]:
    """Yield exactly ``spec.ops`` ops; ``truth`` receives what the checker must find."""
    return _Generator(spec, truth if truth is not None else SynthTruth()).ops()


def write(spec: SynthSpec, path: Path, truth: SynthTruth | None = None) -> Path:
    """Write the history as history.jsonl, line for line as History.write would."""
    encode = json.JSONEncoder(separators=(",", ":")).encode
    with path.open("w", encoding="utf-8") as out:
        for made in generate(spec, truth):
            out.write(encode(made.to_dict()))
            out.write("\n")
    return path
