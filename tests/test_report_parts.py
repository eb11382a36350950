"""The report's pure parts: plain words, the reproduce command, the history scan, SVG."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from loadtests.history import History, Op
from loadtests.report import command_from_settings, reproduce_command
from loadtests.report.scan import Collision, bucket_width, histogram_percentile, scan
from loadtests.report.svg import figure, style, to_svg
from loadtests.report.words import headline
from loadtests.stats import percentile

T0 = 1_764_000_000_000_000_000
MS = 1_000_000


def _result(verdict: str, **counts: dict[str, int]) -> dict[str, Any]:
    rows = {}
    for choice, c in counts.items():
        row: dict[str, Any] = {"ok": 0, "fail": 0, "info": 0, "final": None, **c}
        final = row["final"]
        row["lost"] = max(0, row["ok"] - final) if final is not None else 0
        rows[choice] = row
    checks = [{"name": "unique-counts", "status": "FAIL" if verdict == "FAIL" else "PASS"}]
    return {"verdict": verdict, "counts": rows, "checks": checks, "reason": "r"}


def test_headline_says_what_was_lost_and_how() -> None:
    found = headline(_result("FAIL", yes={"ok": 1500, "final": 1463}, no={"ok": 10, "final": 10}))
    assert found.title == (
        "37 acknowledged YES votes were lost: pairs of votes read the same count and both "
        "wrote count+1"
    )
    assert (
        found.lines[0]
        == "The server said OK to 1,510 votes, but its final tally counts only 1,473."
    )


def test_headline_with_losses_in_several_choices() -> None:
    found = headline(_result("FAIL", yes={"ok": 20, "final": 18}, no={"ok": 20, "final": 19}))
    assert found.title.startswith("3 acknowledged votes were lost (2 YES, 1 NO)")


def test_headline_of_a_pass_counts_refusals_and_unknowns() -> None:
    found = headline(_result("PASS", yes={"ok": 10, "final": 10, "fail": 1, "info": 3}))
    assert found.title == "All 10 acknowledged votes are in the final tally"
    assert any(line.startswith("1 vote was refused") for line in found.lines)
    assert any(line.startswith("3 votes had an unknown outcome") for line in found.lines)
    assert any("evidence, not proof" in line for line in found.lines)


def test_headline_under_expect_violation() -> None:
    fail = _result("FAIL", yes={"ok": 10, "final": 9})
    fail["expected"] = "violation"
    assert "that is the expected outcome" in headline(fail).lines[-1]
    unknown = _result("UNKNOWN", yes={"ok": 10, "final": 10})
    unknown["expected"] = "violation"
    assert "the race was not provoked" in headline(unknown).lines[-1]


def test_command_from_settings_skips_defaults_and_quotes() -> None:
    settings = {
        "build": "unlocked",
        "server": "gunicorn",
        "threads": 16,
        "workers": 2,
        "driver": "requests",
        "clients": 32,
        "votes": None,
        "duration": 5.0,
        "target_file": None,
        "expect": "violation",
        "processes": 1,
        "nemesis": ["kill", "stall"],
        "race_window": 0.001,
        "timeout": 10.0,
        "seed": 0,
        "burst": True,
        "allow_remote": False,
        "out": "/tmp/x",
        "name": "my run",
    }
    assert command_from_settings(settings) == (
        "racecheck run --build unlocked --server gunicorn --threads 16 --workers 2 "
        "--clients 32 --duration 5 --expect violation --race-window 0.001 "
        "--nemesis kill --nemesis stall --burst"
    )
    target = {"build": "locked", "target_file": "my likes.toml", "votes": 100}
    assert command_from_settings(target) == "racecheck run --votes 100 --target 'my likes.toml'"


def test_recorded_command_wins() -> None:
    assert reproduce_command({"command": "racecheck run --votes 5", "settings": {}}) == (
        "racecheck run --votes 5"
    )
    assert reproduce_command({"command": "", "settings": {"votes": 5}}) == (
        "racecheck run --votes 5"
    )


@pytest.mark.parametrize(("duration", "width"), [(0.5, 0.05), (2.9, 0.1), (60, 2), (1e6, 3600)])
def test_bucket_width(duration: float, width: float) -> None:
    assert bucket_width(duration) == width


def test_histogram_percentiles_are_within_a_few_percent() -> None:
    from loadtests.report.scan import _bin

    rng = random.Random(7)
    values = sorted(rng.lognormvariate(3, 1) for _ in range(5000))
    histogram: dict[int, int] = {}
    for v in values:
        histogram[_bin(v)] = histogram.get(_bin(v), 0) + 1
    for q in (50, 95, 99):
        exact = percentile(values, q)
        assert exact is not None
        approx = histogram_percentile(histogram, q)
        assert approx is not None and abs(approx - exact) / exact < 0.03, q
    assert histogram_percentile({}, 50) is None


def _history() -> list[Op]:
    h = History("requests")

    def vote(process: int, choice: str, start: float, end: float, count: int) -> None:
        vid = f"v{len(h)}"
        h.append(process, "invoke", "vote", {"choice": choice}, vid, int(T0 + start * MS))
        value = {"choice": choice, "count": count, "pid": 1, "resolution_id": 1}
        h.append(process, "ok", "vote", value, vid, int(T0 + end * MS))

    vote(0, "yes", 0, 5, 1)  # collides with the next one
    vote(1, "yes", 1, 6, 1)
    vote(0, "yes", 5.5, 8, 2)
    vote(1, "yes", 6.5, 9, 3)
    vote(2, "yes", 400, 401, 4)  # far away: neither neighbour nor context
    h.append("nemesis", "invoke", "kill", None, None, int(T0 + 200 * MS))
    h.append("nemesis", "ok", "kill", None, None, int(T0 + 201 * MS))
    return h.ops()


def test_scan_counts_loss_as_it_happens() -> None:
    series = scan(_history(), T0, 0.401)
    assert series.bucket_s == 0.05
    assert series.votes == 5
    assert sum(b.ok for b in series.buckets.values()) == 5
    # By the end of the first bucket: 4 YES acknowledged, highest count 3 -> 1 lost.
    assert series.progress["yes"][0] == (4, 3)
    assert series.events == [(T0 + 201 * MS, "kill")]


def test_scan_fills_a_collision_with_its_neighbours() -> None:
    ops = _history()
    first, second = (op for op in ops if op.type == "ok" and op.vote_id in ("v0", "v2"))
    same = {"pid": 1, "resolution_id": 1, "count": 1}
    witness = [
        {"vote_id": "v0", "process": 0, "invoke_ns": T0, "complete_ns": first.time_ns, **same},
        {
            "vote_id": "v2",
            "process": 1,
            "invoke_ns": T0 + MS,
            "complete_ns": second.time_ns,
            **same,
        },
    ]
    series = scan(ops, T0, 0.401, [Collision(1, tuple(witness))])
    roles = {iv.vote_id: iv.role for iv in series.collisions[0].intervals}
    assert roles == {"v0": "collision", "v2": "collision", "v4": "context", "v6": "neighbour"}
    assert series.collisions[0].choice == "yes"


def test_svg_is_inline_scalable_and_namespaced() -> None:
    with style():
        fig = figure(4, 2)
        ax = fig.add_subplot()
        ax.bar(["a", "<b>"], [1, 2])
        markup = to_svg(fig, 'a "label"', "k1")
    text = str(markup)
    assert text.startswith('<svg role="img" aria-label="a &#34;label&#34;"')
    assert "<?xml" not in text and "<!DOCTYPE" not in text
    assert not re.search(r"<svg[^>]* width=", text)
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert ids and all(i.startswith("k1-") for i in ids)
    refs = re.findall(r"url\(#([^)]+)\)", text)
    assert refs and all(r in ids for r in refs)
    assert "&lt;b&gt;" in text
