"""Pure formatting of results for the terminal (no printing here)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from loadtests.check.checker import loss_checks_failed

STYLE = {
    "PASS": "bold green",
    "FAIL": "bold red",
    "UNKNOWN": "bold yellow",
    "ERROR": "bold magenta",
    "SKIP": "dim",
}


def verdict_text(status: str) -> Text:
    """A verdict word in its colour."""
    return Text(status, style=STYLE.get(status, ""))


def counts_table(result: Mapping[str, Any]) -> Table:
    """Per-choice ok/fail/info/final and the proven lost, shortfall, overwritten, phantom."""
    table = Table(title="votes per choice", title_justify="left")
    columns = ("choice", "ok", "fail", "info", "final", "lost", "shortfall", "overwritten")
    for column in (*columns, "phantom"):
        table.add_column(column, justify="left" if column == "choice" else "right")
    for choice, c in result["counts"].items():
        final = "-" if c["final"] is None else str(c["final"])
        lost = Text(str(c["lost"]), style="bold red" if c["lost"] else "")
        table.add_row(
            choice,
            str(c["ok"]),
            str(c["fail"]),
            str(c["info"]),
            final,
            lost,
            str(c.get("shortfall", c["lost"])),
            str(c.get("overwritten", "-")),
            str(c["phantom"]),
        )
    proven = loss_checks_failed(result)
    if proven and not any(c["lost"] for c in result["counts"].values()):
        table.caption = (
            f"lost updates are proven by {', '.join(proven)} (see checks); the figures "
            "above count only the final tally's shortfall and duplicate counts"
        )
    return table


def checks_table(result: Mapping[str, Any]) -> Table:
    """Each check's status and one-line detail."""
    table = Table(title="checks", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for c in result["checks"]:
        table.add_row(c["name"], verdict_text(c["status"]), c["detail"])
    return table


def verdict_line(result: Mapping[str, Any], run_dir: str) -> Text:
    """One line: the verdict, why, and where the run was written."""
    line = Text("racecheck verdict: ")
    line.append_text(verdict_text(result["verdict"]))
    if result.get("expected") == "violation":
        line.append(
            " (a violation was expected: "
            + ("as expected)" if result["as_expected"] else "not as expected)")
        )
    if result.get("reason"):
        line.append(f" — {result['reason']}")
    line.append(f"\nrun directory: {run_dir}")
    line.append(f"\nreport: {Path(run_dir) / 'index.html'}")
    return line
