"""`racecheck run` in a pipe, as CI runs it: a start line, progress lines, one verdict line."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import racecheck

pytestmark = pytest.mark.e2e


def test_a_piped_run_says_where_it_runs_how_it_goes_and_its_verdict_on_one_line(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    # COLUMNS unset (empty): a bare pipe, where rich would assume 80 columns.
    args = ("run", "--build", "unlocked", "--expect", "violation", "--duration", "4")
    done = racecheck(*args, "--clients", "4", out=out, env={"COLUMNS": ""})
    assert done.exit_code == 0, done.describe()
    lines = done.stdout.splitlines()

    start = lines[0]
    assert start.startswith("racecheck run: unlocked build on waitress"), done.describe()
    assert "http://127.0.0.1:" in start and f"run directory {out}" in start

    progress = [line for line in lines if line.startswith("racecheck progress: ")]
    assert progress, done.describe()
    assert all("votes completed" in line and "/s)" in line for line in progress)
    assert all("not acknowledged" in line for line in progress)

    verdicts = [line for line in lines if "racecheck verdict" in line]
    assert len(verdicts) == 1, done.describe()
    verdict = done.result()["reason"]
    assert verdicts[0] == (
        f"racecheck verdict: FAIL (a violation was expected: as expected) — {verdict}"
    ), done.describe()
    assert len(verdicts[0]) > 80  # one line, however long

    assert f"report: {out / 'index.html'}" in lines
    assert (out / "index.html").is_file()
    # The checks table is as wide as its longest detail: no row is folded at column 80.
    details = {c["detail"] for c in done.result()["checks"]}
    assert all(any(d in line for line in lines) for d in details), done.describe()
