"""The comparison's closing words when some cells ran under --preempt."""

from __future__ import annotations

from typing import Any

from loadtests.report.compare_page import lesson


def row(build: str, preempt: bool, lost: int, rate: float) -> dict[str, Any]:
    return {
        "build": build,
        "server": "waitress",
        "threads": 16,
        "driver": "requests",
        "race_window": None,
        "preempt": preempt,
        "lost": lost,
        "acknowledged": 3000,
        "throughput": rate,
    }


def test_no_lock_cost_from_single_runs_and_the_gil_contrast_is_said() -> None:
    rows = [
        row("locked", False, 0, 1000.0),
        row("unlocked", False, 1072, 1250.0),
        row("naive", False, 0, 1200.0),
        row("locked", True, 0, 400.0),
        row("naive", True, 1380, 500.0),
    ]
    text = "\n".join(lesson(rows))
    assert "The naive build under waitress, --preempt lost 1,380 of 3,000" in text
    assert "slower" not in text and "racecheck bench --only lock" in text
    assert "Without --preempt the naive build lost none: CPython's GIL hid its race" in text


def test_no_contrast_without_preempted_cells() -> None:
    rows = [row("locked", False, 0, 1000.0), row("naive", False, 0, 1200.0)]
    assert not any("GIL" in line for line in lesson(rows))
