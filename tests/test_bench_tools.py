"""hey and wrk: command lines, and their reports parsed from captured real outputs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from loadtests.bench.tools import (
    BODY,
    ToolResult,
    hey_argv,
    parse_hey,
    parse_wrk,
    run_tool,
    wrk_argv,
    wrk_script,
)
from loadtests.errors import HarnessError

SAMPLES = Path(__file__).resolve().parent.parent / "benchmarks" / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def test_hey_report_counts_2xx_over_its_total_time() -> None:
    result = parse_hey(sample("hey_post_ok.txt"), cpu_s=0.5)
    # hey -n 2000 -c 32 sends 62 per worker: 1984, all answered 200 in 3.0105 s.
    assert (result.ok, result.errors, result.seconds) == (1984, 0, 3.0105)
    assert result.rate == pytest.approx(1984 / 3.0105)
    assert result.cpu_us_per_request == pytest.approx(0.5 / 1984 * 1e6)


def test_hey_refusals_are_errors_not_acknowledgements() -> None:
    result = parse_hey(sample("hey_post_400.txt"))
    assert (result.ok, result.errors) == (0, 200)
    assert result.rate == 0


def test_hey_transport_errors_are_counted() -> None:
    text = (
        "Summary:\n  Total:\t1.5000 secs\n\nStatus code distribution:\n  [200]\t90 responses\n\n"
        'Error distribution:\n  [10]\tGet "http://127.0.0.1:1/": connection refused\n'
    )
    assert parse_hey(text) == ToolResult("hey", 90, 10, 1.5, 0.0)


def test_wrk_report_counts_requests_in_its_duration() -> None:
    result = parse_wrk(sample("wrk_post_ok.txt"), cpu_s=0.1)
    assert (result.ok, result.errors, result.seconds) == (1992, 0, 2.0)
    assert result.rate == pytest.approx(996.0)


def test_wrk_non_2xx_replies_are_not_counted_as_done() -> None:
    result = parse_wrk(sample("wrk_post_404.txt"))
    assert (result.ok, result.errors) == (0, 2238)


def test_wrk_socket_errors_and_units() -> None:
    text = (
        "  500 requests in 1.50m, 1KB read\n"
        "  Socket errors: connect 0, read 3, write 0, timeout 2\n"
        "Requests/sec: 5.55\n"
    )
    result = parse_wrk(text)
    assert (result.ok, result.errors, result.seconds) == (500, 5, 90.0)


@pytest.mark.parametrize("parse", [parse_hey, parse_wrk])
def test_output_without_a_summary_is_a_harness_error(parse: object) -> None:
    with pytest.raises(HarnessError, match="no summary"):
        parse("connection refused\n")  # type: ignore[operator]


def test_hey_and_wrk_post_the_same_body_to_the_same_endpoint(tmp_path: Path) -> None:
    hey = hey_argv("http://127.0.0.1:8000/", 3000, 32)
    assert hey[hey.index("-n") + 1] == "3000" and hey[hey.index("-c") + 1] == "32"
    assert hey[hey.index("-m") + 1] == "POST" and hey[hey.index("-d") + 1] == BODY
    assert hey[-1] == "http://127.0.0.1:8000/api/votes"
    script = tmp_path / "post.lua"
    wrk = wrk_argv("http://127.0.0.1:8000", 2.4, 32, script)
    assert wrk[wrk.index("-c") + 1] == "32" and wrk[wrk.index("-d") + 1] == "2s"
    assert wrk[-1] == hey[-1]
    lua = wrk_script()
    assert f"wrk.body = '{BODY}'" in lua and 'wrk.method = "POST"' in lua
    assert "application/json" in lua


def test_wrk_never_gets_more_threads_than_connections(tmp_path: Path) -> None:
    argv = wrk_argv("http://127.0.0.1:1", 1, 1, tmp_path / "x.lua", threads=4)
    assert argv[argv.index("-t") + 1] == "1"


def test_wrk_script_escapes_quotes() -> None:
    assert "wrk.body = 'it\\'s'" in wrk_script("it's")


FAKE_TOOL = """#!/bin/sh
# Burns a known amount of CPU, then prints a real hey report, like hey would.
{python} -c 'import time
while time.process_time() < 0.3: pass'
cat {sample}
"""


def test_a_tools_cpu_is_its_own_rusage_and_its_report_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = tmp_path / "bin" / "hey"
    tool.parent.mkdir()
    sample_path = SAMPLES / "hey_post_ok.txt"
    tool.write_text(FAKE_TOOL.format(python=sys.executable, sample=sample_path), encoding="utf-8")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
    text, cpu = run_tool(["hey", "-n", "1"], tmp_path / "hey.log", timeout=60)
    result = parse_hey(text, cpu)
    assert result.ok == 1984
    assert cpu >= 0.3  # the child's CPU, counted though it ran in its own process group


def test_a_missing_tool_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(HarnessError, match="apt-get install hey wrk"):
        run_tool(["hey"], tmp_path / "hey.log", timeout=5)
