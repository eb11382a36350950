"""The bench's --preempt parts: detection targets and the cost table, from given numbers."""

from __future__ import annotations

from typing import Any

from loadtests.bench import machine as bench_machine
from loadtests.bench.detect import Scenario
from loadtests.bench.main import BenchSettings, format_table, headline_numbers, targets_met
from loadtests.target.preempt import ENV_RATE


def detect(runs: int, detected: int) -> dict[str, Any]:
    return {
        "runs": runs,
        "detected": detected,
        "detection_rate": f"{detected}/{runs}",
        "max_votes": 2000,
        "median_votes_to_detect": 3 if detected else None,
    }


def sections(naive: int, locked: int) -> dict[str, Any]:
    return {
        "detect": {"naive-preempt": detect(20, naive), "locked-preempt": detect(20, locked)},
        "preempt": {
            "waitress": {
                "plain_rate": 1000.0,
                "by_rate": [
                    {"rate": 1.0, "preempt_rate": 200.0, "preempt_vs_plain": 0.2},
                    {"rate": 0.1, "preempt_rate": 500.0, "preempt_vs_plain": 0.5},
                ],
            }
        },
    }


def test_the_naive_race_must_be_caught_and_a_lock_never() -> None:
    met = targets_met({}, sections(naive=19, locked=0))
    assert met["detect_naive-preempt"]["met"] is True
    assert met["detect_locked-preempt"]["met"] is True
    met = targets_met({}, sections(naive=18, locked=1))
    assert met["detect_naive-preempt"]["met"] is False
    assert met["detect_locked-preempt"]["met"] is False


def table(data: dict[str, Any]) -> str:
    """The summary table of a bench run whose sections are ``data``."""
    return format_table(
        {
            **headline_numbers(data),
            "targets": targets_met({}, data),
            "mode": "quick",
            "machine": bench_machine.describe(),
            "sections": data,
        }
    )


def test_the_table_shows_the_cost_per_server_and_rate() -> None:
    table_ = table(sections(naive=20, locked=0))
    assert "preempt cost waitress  rate 1      with/without 0.2 (200.0/s vs 1000.0/s)" in table_
    assert "rate 0.1    with/without 0.5" in table_
    assert "detect naive-preempt" in table_
    assert "section failed" not in table_


def test_a_failed_section_is_named_in_the_table() -> None:
    data: dict[str, Any] = {
        **sections(naive=20, locked=0),
        "preempt": {"error": "HarnessError: hey did not finish within 120 s", "seconds": 1.0},
    }
    assert "preempt: section failed: HarnessError: hey did not finish within 120 s" in table(data)


def test_the_preempt_scenarios_reach_the_target() -> None:
    names = {s.name: s for s in BenchSettings.for_mode(quick=True).scenarios}
    assert names["naive-preempt"].build == "naive" and names["naive-preempt"].max_votes == 2000
    assert ENV_RATE in names["locked-preempt"].env()
    assert ENV_RATE not in Scenario("default").env()
