"""`racecheck compare`: the matrix, its summary and page, offline and then for real."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.cli import racecheck

from loadtests.check.checker import CheckSettings, FinalState
from loadtests.check.verdict import CheckResult, ChoiceCounts, Verdict
from loadtests.cli import main
from loadtests.cli.compare import format_cell_line, summary_table
from loadtests.errors import LaunchError, UsageError
from loadtests.report import render_run
from loadtests.run import compare
from loadtests.run.compare import Matrix, run_matrix, summary_row
from loadtests.run.execute import RunOutcome
from loadtests.run.rundir import new_run_dir, result_dict, write_result
from loadtests.run.settings import RunSettings


def test_default_matrix_is_every_build_under_waitress_and_the_preempt_contrast() -> None:
    cells = Matrix().cells()
    assert [c.name for c in cells] == [
        "locked-waitress",
        "unlocked-waitress",
        "sqlite-waitress",
        "naive-waitress",
        "locked-waitress-preempt",
        "naive-waitress-preempt",
    ]
    assert [c.expected_verdict for c in cells] == ["PASS", "FAIL", "PASS", "PASS", "PASS", "FAIL"]
    assert Matrix().workload_votes == compare.DEFAULT_VOTES
    assert Matrix(quick=True).workload_votes == compare.QUICK_VOTES
    assert Matrix(quick=True, duration=2.0).workload_votes is None


def test_the_preempt_axis_runs_every_build_both_ways_and_expects_naive_to_fail() -> None:
    cells = Matrix(builds=("locked", "naive"), preempts=(False, True)).cells()
    assert [(c.name, c.preempt, c.expected_verdict) for c in cells] == [
        ("locked-waitress", False, "PASS"),
        ("naive-waitress", False, "PASS"),
        ("locked-waitress-preempt", True, "PASS"),
        ("naive-waitress-preempt", True, "FAIL"),
    ]
    settings = Matrix(builds=("naive",), preempts=(True,)).settings(cells[3], Path("x"))
    assert settings.preempt and settings.expect == "violation"
    assert "--preempt" in settings.command
    assert [c.preempt for c in Matrix(builds=("locked", "unlocked")).cells()] == [False, False]


def test_cells_are_named_by_what_varies() -> None:
    matrix = Matrix(
        builds=("locked", "unlocked"),
        servers=("waitress", "werkzeug"),
        threads=(4, 16),
        race_windows=(0.0, 0.001),
    )
    names = [c.name for c in matrix.cells()]
    assert len(names) == len(set(names)) == 16
    assert names[:2] == ["locked-waitress-t4-w0", "unlocked-waitress-t4-w0"]
    assert "unlocked-werkzeug-t16-w0.001" in names


def test_cell_settings_repeat_as_an_ordinary_run(tmp_path: Path) -> None:
    matrix = Matrix(builds=("locked", "unlocked", "sqlite"), quick=True, race_windows=(0.001,))
    locked, unlocked, _ = matrix.cells()
    settings = matrix.settings(unlocked, tmp_path / unlocked.name)
    assert settings.expect == "violation"
    assert settings.out == tmp_path / unlocked.name
    assert settings.progress is False
    assert settings.command == (
        "racecheck run --build unlocked --server waitress --clients 32 --votes 3000 "
        "--expect violation --race-window 0.001"
    )
    assert matrix.settings(locked, tmp_path).expect == "pass"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"builds": ("locked", "nolock")}, "unknown nolock"),
        ({"builds": ()}, "needs at least one value"),
        ({"servers": ("waitress", "waitress")}, "lists a value twice"),
        ({"threads": (0,)}, "at least 1"),
        ({"race_windows": (-0.5,)}, "give -1 .* or 0 to 60 seconds"),
        ({"votes": 10, "duration": 1.0}, "at most one"),
    ],
)
def test_matrix_refuses_what_cannot_work(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Matrix(**options)


def _result(settings: RunSettings, verdict: str, lost: int = 0) -> dict[str, Any]:
    """A result.json for a cell, without running anything."""
    final = 1000 - lost
    counts = {"yes": ChoiceCounts(1000, 0, 0, final)}
    check = CheckResult("bounds", verdict, f"{lost} acknowledged YES votes are missing")  # type: ignore[arg-type]
    as_expected = verdict == ("FAIL" if settings.expect == "violation" else "PASS")
    outcome = Verdict(verdict, (check,), counts, settings.expect, as_expected, check.detail)  # type: ignore[arg-type]
    stats: dict[str, Any] = {"throughput": 900.0 if lost else 800.0, "duration_s": 1.2}
    stats["latency_ms"] = {"p50": 10.0, "p95": 20.0, "p99": 30.0, "max": 40.0}
    return result_dict(
        outcome,
        FinalState({"yes": final}),
        CheckSettings(expect=settings.expect),
        settings.to_dict(),
        stats,
        settings.command,
        0 if as_expected else 1,
    )


class FakeRuns:
    """Stands in for run.execute: each build gets the verdict it is told to."""

    def __init__(self, verdicts: dict[str, str]) -> None:
        self.verdicts = verdicts
        self.seen: list[str] = []

    def __call__(self, settings: RunSettings, the_plan: object = None) -> RunOutcome:
        self.seen.append(settings.label)
        verdict = self.verdicts[settings.build]
        if verdict == "LAUNCH":
            raise LaunchError("waitress did not become ready within 30 s")
        assert settings.out is not None
        run_dir = new_run_dir(settings.label, out=settings.out)
        result = _result(settings, verdict, lost=37 if verdict == "FAIL" else 0)
        write_result(run_dir, result)
        render_run(run_dir)
        return RunOutcome(None, run_dir, result["exit_code"], result)  # type: ignore[arg-type]


def _fake(monkeypatch: pytest.MonkeyPatch, **verdicts: str) -> FakeRuns:
    runs = FakeRuns(verdicts)
    monkeypatch.setattr(compare, "execute", runs)
    return runs


def test_run_matrix_writes_summary_and_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _fake(monkeypatch, locked="PASS", unlocked="FAIL", sqlite="PASS")
    done: list[str] = []
    comparison = run_matrix(
        Matrix(builds=("locked", "unlocked", "sqlite"), quick=True),
        out=tmp_path / "cmp",
        command="racecheck compare --quick",
        on_done=lambda i, cell, row: done.append(row["name"]),
    )
    assert runs.seen == done == ["locked-waitress", "unlocked-waitress", "sqlite-waitress"]
    assert comparison.exit_code == 0
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert summary["schema"] == "racecheck/compare/v1"
    assert summary["all_as_expected"] is True
    row = summary["cells"][1]
    assert {k: row[k] for k in ("build", "verdict", "expected_verdict", "as_expected")} == {
        "build": "unlocked",
        "verdict": "FAIL",
        "expected_verdict": "FAIL",
        "as_expected": True,
    }
    assert (row["acknowledged"], row["final"], row["lost"], row["throughput"]) == (
        1000,
        963,
        37,
        900.0,
    )
    assert row["latency_ms"] == {"p50": 10.0, "p95": 20.0, "p99": 30.0}
    assert (tmp_path / "cmp" / row["report"]).is_file()
    html = (tmp_path / "cmp" / "index.html").read_text()
    assert "All 3 cells got their expected verdict" in html
    # The banner judges the comparison, not an app: no big PASS above a build's lost votes.
    assert 'big">ALL AS EXPECTED</span>' in html and 'big">PASS</span>' not in html
    assert 'href="unlocked-waitress/index.html"' in html
    assert html.count("<svg") == 3
    assert "could not be drawn" not in html
    assert "The unlocked build under waitress lost 37 of 1,000 acknowledged votes." in html
    # One run per cell is no measure of the lock's cost: no percentage, a pointer to bench.
    assert "slower" not in html and "racecheck bench --only lock" in html


def test_a_cell_that_misses_its_verdict_fails_the_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake(monkeypatch, locked="PASS", unlocked="UNKNOWN")
    comparison = run_matrix(Matrix(builds=("locked", "unlocked"), quick=True), out=tmp_path)
    assert comparison.exit_code == 1
    html = (tmp_path / "index.html").read_text()
    assert "1 of 2 cells got their expected verdict" in html
    assert "✗ expected FAIL" in html


def test_a_cell_that_cannot_start_is_an_error_with_its_own_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake(monkeypatch, locked="LAUNCH", unlocked="FAIL")
    comparison = run_matrix(Matrix(builds=("locked", "unlocked"), quick=True), out=tmp_path)
    assert comparison.exit_code == 1
    assert [r["verdict"] for r in comparison.rows] == ["ERROR", "FAIL"]
    assert comparison.rows[0]["lost"] is None
    cell_page = (tmp_path / "locked-waitress" / "index.html").read_text()
    assert "waitress did not become ready within 30 s" in cell_page
    assert "could not be drawn" not in (tmp_path / "index.html").read_text()


def test_ctrl_c_stops_the_matrix_and_keeps_what_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _fake(monkeypatch, locked="PASS", unlocked="FAIL", sqlite="PASS")

    def interrupt(index: int, cell: compare.Cell) -> None:
        if index == 1:
            raise KeyboardInterrupt

    three = Matrix(builds=("locked", "unlocked", "sqlite"), quick=True)
    comparison = run_matrix(three, out=tmp_path, on_start=interrupt)
    assert comparison.interrupted and comparison.exit_code == 1
    assert runs.seen == ["locked-waitress"]
    html = (tmp_path / "index.html").read_text()
    assert "Interrupted after 1 of 3 cells" in html
    assert "not run (the comparison was interrupted)" in html


def test_usage_errors_stop_before_any_directory_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(settings: RunSettings) -> None:
        raise UsageError("no such app")

    monkeypatch.setattr(compare, "plan", refuse)
    with pytest.raises(UsageError):
        run_matrix(Matrix(quick=True), out=tmp_path / "cmp")
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--builds", "locked,nolock"],
        ["--servers", ""],
        ["--threads", "4,many"],
        ["--race-windows", "0,soon"],
        ["--votes", "10", "--duration", "1"],
        ["--clients", "0"],
    ],
)
def test_cli_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    outcome = CliRunner().invoke(main, ["compare", *args, "--out", str(tmp_path / "c")])
    assert outcome.exit_code == 2, outcome.output
    assert not (tmp_path / "c").exists()


def test_terminal_lines_say_verdict_expectation_and_loss() -> None:
    row = summary_row(
        compare.Cell("unlocked", "waitress", None, "requests", None, "unlocked-waitress"),
        {"verdict": "FAIL", "lost": 37, "counts": {"yes": {"ok": 1000, "final": 963}}},
        "unlocked-waitress",
    )
    line = format_cell_line(1, 3, row, width=20).plain
    assert line == ("  ✓ [2/3] unlocked-waitress     FAIL as expected  37 of 1,000 lost  - votes/s")
    from rich.console import Console

    console = Console(width=100, record=True)
    console.print(summary_table([row]))
    assert re.search(r"✓\s+unlocked-waitress\s+FAIL\s+FAIL\s+37 of 1,000", console.export_text())


@pytest.mark.e2e
@pytest.mark.slow
def test_quick_compare_end_to_end(tmp_path: Path) -> None:
    """The demo: six real servers, 3,000 votes each, exit 0, and a report per cell."""
    out = tmp_path / "cmp"
    done = racecheck("compare", "--quick", out=out)
    assert done.exit_code == 0, done.describe()
    summary = json.loads((out / "summary.json").read_text())
    verdicts = {row["name"]: row["verdict"] for row in summary["cells"]}
    assert verdicts == {
        "locked-waitress": "PASS",
        "unlocked-waitress": "FAIL",
        "sqlite-waitress": "PASS",
        "naive-waitress": "PASS",  # the GIL hides the textbook race...
        "locked-waitress-preempt": "PASS",
        "naive-waitress-preempt": "FAIL",  # ...and forced switches reveal it
    }
    unlocked = next(row for row in summary["cells"] if row["build"] == "unlocked")
    assert unlocked["lost"] > 0
    for row in summary["cells"]:
        assert (out / row["report"]).is_file()
        assert row["acknowledged"] == 3000
    html = (out / "index.html").read_text()
    assert '<table class="cells">' in html and html.count("<svg") >= 2
    # What a new user sees last: one line per cell, then where the report is.
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == f"Report: {out / 'index.html'}"
    for name in verdicts:
        assert any(re.search(rf"✓\s+{name}\s+(PASS|FAIL)", x) for x in lines), name


def test_report_command_rerenders_a_comparison_and_its_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake(monkeypatch, locked="PASS", unlocked="FAIL")
    run_matrix(Matrix(builds=("locked", "unlocked"), quick=True), out=tmp_path)
    pages = [
        tmp_path / "index.html",
        *(tmp_path / c / "index.html" for c in ("locked-waitress", "unlocked-waitress")),
    ]
    for page in pages:
        page.unlink()
    outcome = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    assert all(page.is_file() for page in pages)
    assert outcome.output.splitlines()[-1] == f"wrote {tmp_path / 'index.html'}"
