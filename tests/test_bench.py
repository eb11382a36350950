"""The bench's arithmetic and reporting: rates, ratios, rotation, medians, targets, the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from loadtests.bench import machine as bench_machine
from loadtests.bench.load import DRIVER, ratios, rotated, summarize_rounds
from loadtests.bench.main import (
    BenchSettings,
    format_table,
    headline_numbers,
    targets_met,
    write_results,
)
from loadtests.bench.tools import ToolResult
from loadtests.cli import main


def result(tool: str, ok: int, seconds: float, cpu: float = 0.0) -> ToolResult:
    return ToolResult(tool, ok, 0, seconds, cpu)


def test_rate_and_cpu_per_request_of_a_known_run() -> None:
    run = ToolResult("x", ok=2000, errors=7, seconds=2.5, cpu_s=0.4)
    assert run.rate == 800.0
    assert run.cpu_us_per_request == pytest.approx(200.0)
    assert run.to_dict()["rate"] == 800.0


def test_every_tool_goes_first_once_in_a_rotation() -> None:
    tools = ["a", "b", "c"]
    firsts = [rotated(tools, r)[0] for r in range(3)]
    assert firsts == ["a", "b", "c"]
    assert sorted(rotated(tools, 5)) == tools
    assert rotated([], 2) == []


def test_ratios_are_taken_within_a_round_and_the_median_reported() -> None:
    rounds = [
        {DRIVER: result(DRIVER, 800, 1.0), "hey": result("hey", 1000, 1.0)},  # 0.8
        {DRIVER: result(DRIVER, 450, 1.0), "hey": result("hey", 500, 1.0)},  # 0.9 (slow round)
        {DRIVER: result(DRIVER, 700, 1.0), "hey": result("hey", 1000, 1.0)},  # 0.7
        {"hey": result("hey", 1000, 1.0)},  # the driver failed: no ratio
    ]
    assert ratios(rounds, DRIVER, "hey") == pytest.approx([0.8, 0.9, 0.7])
    summary = summarize_rounds((DRIVER, "hey"), rounds, baseline="hey")
    assert summary["ratios"] == {f"{DRIVER}_vs_hey": 0.8}
    assert summary["tools"]["hey"]["rate_median"] == 1000.0
    assert summary["tools"][DRIVER]["rate_median"] == 700.0


def sections() -> dict[str, Any]:
    rounds = [
        {
            DRIVER: result(DRIVER, 900, 1.0, 0.45),
            "hey": result("hey", 1000, 1.0, 0.2),
            "wrk": result("wrk", 1200, 1.0, 0.05),
        }
    ]
    return {
        "load": summarize_rounds((DRIVER, "hey", "wrk"), rounds, baseline="hey"),
        "locust": {"available": False, "reason": "not built yet"},
        "checker": {
            "checker_ops_per_s": 1_200_000,
            "checker_bytes_per_op": 80.0,
            "streaming_ops_per_s": 300_000,
            "streaming_bytes_per_op": 150.0,
        },
        "detect": {
            "default": {
                "runs": 20,
                "detected": 20,
                "detection_rate": "20/20",
                "max_votes": 1000,
                "median_votes_to_detect": 12,
            },
            "call-window": {
                "runs": 20,
                "detected": 18,
                "detection_rate": "18/20",
                "max_votes": 20000,
                "median_votes_to_detect": 900,
            },
        },
        "lock": {
            "waitress": {"locked_vs_unlocked": 0.97, "locked_rate": 970, "unlocked_rate": 1e3}
        },
    }


def test_headline_keys_and_targets() -> None:
    headline = headline_numbers(sections())
    assert headline["driver_vs_hey"] == 0.9
    assert headline["driver_vs_wrk"] == 0.75
    assert headline["locust_vs_hey"] is None
    assert headline["checker_ops_per_s"] == 1_200_000
    met = targets_met(headline, sections())
    assert met["driver_vs_hey"]["met"] is True
    assert met["checker_bytes_per_op"]["met"] is True
    assert met["detect_default"]["met"] is True
    assert met["detect_call-window"]["met"] is False  # 18/20 < 19/20
    # CPU per request: 500 µs against hey's 200, within the one round: 2.5x, over 2x.
    assert headline["driver_cpu_vs_hey"] == 2.5
    assert met["driver_cpu_vs_hey"] == {"goal": 2.0, "value": 2.5, "met": False}
    assert met["checker_ops_per_s"]["met"] is False  # 1.2 M < 2 M in memory
    assert met["checker_streaming_ops_per_s"]["met"] is False
    assert met["checker_streaming_bytes_per_op"]["met"] is True


def test_the_table_names_the_load_average_and_the_cpu_ratio_per_server() -> None:
    headline = headline_numbers(sections())
    cpu = {
        "waitress": {
            "driver_cpu_vs_hey": 1.8,
            "driver_cpu_us": 360.0,
            "hey_cpu_us": 200.0,
            "driver_vs_hey": 1.1,
            "rounds": 2,
        },
        "apache": {"skipped": "mod_wsgi is not installed"},
    }
    results = {
        **headline,
        "targets": targets_met(headline, sections()),
        "mode": "quick",
        "machine": bench_machine.describe(),
        "load_average_start": [3.5, 2.0, 1.0],
        "load_average_end": [4.0, 2.5, 1.2],
        "sections": {**sections(), "cpu": cpu},
    }
    table = format_table(results)
    assert "load average (1, 5, 15 min): [3.5, 2.0, 1.0] at the start" in table
    assert "driver CPU waitress" in table and "1.8x hey's (360.0 vs 200.0" in table
    assert "target <= 2.0x: met)" in table
    assert "driver CPU apache" in table and "not measured: mod_wsgi" in table
    assert "checker_streaming_ops_per_s" in table


def test_the_cpu_ratio_is_a_target_on_every_server_measured() -> None:
    cpu = {
        "werkzeug": {"driver_cpu_vs_hey": 1.5, "driver_cpu_us": 300.0, "hey_cpu_us": 200.0},
        "gunicorn": {"driver_cpu_vs_hey": 2.4, "driver_cpu_us": 480.0, "hey_cpu_us": 200.0},
        "apache": {"skipped": "mod_wsgi is not installed"},
    }
    all_sections = {**sections(), "cpu": cpu}
    met = targets_met(headline_numbers(all_sections), all_sections)
    assert met["driver_cpu_vs_hey_werkzeug"] == {"goal": 2.0, "value": 1.5, "met": True}
    assert met["driver_cpu_vs_hey_gunicorn"] == {"goal": 2.0, "value": 2.4, "met": False}
    assert "driver_cpu_vs_hey_apache" not in met  # skipped: no row, no verdict
    results = {
        "targets": met,
        "mode": "quick",
        "machine": bench_machine.describe(),
        "sections": all_sections,
    }
    table = format_table(results)
    assert "driver_cpu_vs_hey_gunicorn" in table and "(NOT met)" in table
    assert "target <= 2.0x: NOT met)" in table and "target <= 2.0x: met)" in table


def test_results_file_and_table(tmp_path: Path) -> None:
    headline = headline_numbers(sections())
    results = {
        **headline,
        "targets": targets_met(headline, sections()),
        "mode": "quick",
        "machine": bench_machine.describe(),
        "sections": sections(),
    }
    data, summary = write_results(tmp_path / "out", results)
    assert data.name == "results.json" and summary.read_text(encoding="utf-8")
    table = format_table(results)
    assert "driver_vs_hey" in table and "NOT met" in table
    assert "locust: not built yet" in table
    assert "18/20" in table and "0.97" in table


def test_machine_description_names_cpu_cores_memory_and_versions() -> None:
    machine = bench_machine.describe()
    assert machine["cores"] >= 1 and machine["python"].count(".") == 2
    assert machine["cpu_model"]
    assert "requests" in machine["versions"] and "hey" in machine["versions"]


def test_quick_mode_is_smaller_than_full() -> None:
    quick, full = BenchSettings.for_mode(True), BenchSettings.for_mode(False)
    assert quick.detect_runs < full.detect_runs == 20
    assert max(quick.checker_in_memory) < max(full.checker_in_memory) == 10**7
    assert quick.load.rounds < full.load.rounds


def test_cli_refuses_an_unknown_section() -> None:
    outcome = CliRunner().invoke(main, ["bench", "--only", "everything"])
    assert outcome.exit_code == 2
    assert "everything" in outcome.output
