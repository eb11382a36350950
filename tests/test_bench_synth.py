"""Synthetic histories: the requested size, the planted losses, the same file as History.write."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from loadtests.bench import synth as bench_synth
from loadtests.bench.checker import in_memory
from loadtests.check.checker import check
from loadtests.history import History, iter_file


@pytest.mark.parametrize("ops", [4, 6, 1000, 12_346])
def test_generates_exactly_the_requested_op_count(ops: int) -> None:
    spec = bench_synth.SynthSpec(ops, clients=7)
    history = list(bench_synth.generate(spec))
    assert len(history) == ops
    assert [op.index for op in history] == list(range(ops))
    assert all(a.time_ns < b.time_ns for a, b in itertools.pairwise(history))


def test_an_odd_or_tiny_count_is_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        bench_synth.SynthSpec(1001)
    with pytest.raises(ValueError, match="even"):
        bench_synth.SynthSpec(2)


def test_every_vote_is_invoked_once_and_completed_once_with_concurrency() -> None:
    history = list(bench_synth.generate(bench_synth.SynthSpec(2004, clients=16)))
    votes = [op for op in history if op.f == "vote"]
    per_id = Counter(op.vote_id for op in votes)
    assert len(per_id) == 1000 and set(per_id.values()) == {2}
    # Invocations and completions interleave: up to 16 votes are open at once.
    open_now, most = 0, 0
    for op in votes:
        open_now += 1 if op.type == "invoke" else -1
        most = max(most, open_now)
    assert most == 16


def test_planted_collisions_are_exactly_what_the_checker_finds() -> None:
    truth = bench_synth.SynthTruth()
    spec = bench_synth.SynthSpec(40_004, collision_rate=0.05, fail_rate=0.01, info_rate=0.01)
    history = list(bench_synth.generate(spec, truth))
    assert truth.collisions > 0 and truth.fail > 0 and truth.info > 0
    assert truth.ok + truth.fail + truth.info == spec.votes
    verdict = check(history, truth.final(), bench_synth.settings())
    assert verdict.status == "FAIL"
    assert verdict.lost == truth.collisions
    assert verdict.check("unique-counts").witness_total == truth.collisions
    assert verdict.check("history-complete").status == "PASS"
    assert verdict.check("split-state").status == "PASS"


def test_no_collisions_means_a_pass() -> None:
    truth = bench_synth.SynthTruth()
    spec = bench_synth.SynthSpec(2_004, collision_rate=0.0, info_rate=0.0)
    ops = list(bench_synth.generate(spec, truth))  # the truth is known once generated
    verdict = check(ops, truth.final(), bench_synth.settings())
    assert verdict.status == "PASS"


def test_the_file_is_what_history_write_would_write(tmp_path: Path) -> None:
    spec = bench_synth.SynthSpec(1_004, seed=3)
    path = bench_synth.write(spec, tmp_path / "synth.jsonl")
    reference = tmp_path / "reference.jsonl"
    History("requests", bench_synth.generate(spec)).write(reference)
    assert path.read_bytes() == reference.read_bytes()
    assert list(iter_file(path)) == list(bench_synth.generate(spec))
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0])["f"] == "start"


def test_the_checker_benchmark_counts_ops_and_verifies_the_verdict() -> None:
    row = in_memory(10_004, repeats=1)
    assert row["ops"] == 10_004 and row["ops_per_s"] > 0
    assert row["peak_bytes"] > 0 and row["bytes_per_op"] == round(row["peak_bytes"] / 10_004, 1)
