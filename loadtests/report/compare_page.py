"""The comparison page: every cell's verdict in one table, then plots across cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loadtests.report import plots_compare
from loadtests.report.page import plot, write_page
from loadtests.report.words import number

Row = Mapping[str, Any]


def lesson(rows: Sequence[Row]) -> list[str]:
    """What the comparison shows, in a few sentences: who lost votes and what the lock cost."""
    lines = []
    losing = [r for r in rows if r.get("lost")]
    clean = sorted({str(r["build"]) for r in rows if r.get("lost") == 0})
    for row in losing:
        lines.append(
            f"The {row['build']} build under {plots_compare.variant(row, rows)} lost "
            f"{number(row['lost'])} of {number(row['acknowledged'])} acknowledged votes."
        )
    if losing and clean:
        lines.append(f"The {' and '.join(clean)} build{'s' if len(clean) > 1 else ''} lost none.")
    for row in rows:
        if row.get("build") != "locked":
            continue
        name = plots_compare.variant(row, rows)
        twin = next(
            (
                r
                for r in rows
                if r.get("build") == "unlocked" and plots_compare.variant(r, rows) == name
            ),
            None,
        )
        locked_rate = row.get("throughput")
        unlocked_rate = twin.get("throughput") if twin else None
        if not isinstance(locked_rate, int | float) or not isinstance(unlocked_rate, int | float):
            continue
        if not unlocked_rate:
            continue
        cost = 1 - locked_rate / unlocked_rate
        if cost > 0.03:
            lines.append(
                f"The cost of the lock under {name}: {number(locked_rate)} votes/s with it, "
                f"{number(unlocked_rate)} without ({cost:.0%} slower) — for votes that are all "
                "counted."
            )
        else:
            lines.append(
                f"The lock cost no measurable throughput under {name}: {number(locked_rate)} "
                f"votes/s with it, {number(unlocked_rate)} without."
            )
    return lines


def _status(summary: Mapping[str, Any]) -> tuple[str, str]:
    rows = summary.get("cells") or []
    planned = len(summary.get("planned") or rows)
    good = sum(bool(r.get("as_expected")) for r in rows)
    if summary.get("interrupted"):
        return "UNKNOWN", f"Interrupted after {len(rows)} of {planned} cells"
    if summary.get("all_as_expected"):
        return "PASS", f"All {planned} cells got their expected verdict"
    return "FAIL", f"{good} of {planned} cells got their expected verdict"


def render_comparison(directory: Path, summary: Mapping[str, Any]) -> Path:
    """Write ``directory/index.html`` for a comparison from its summary.json content."""
    rows = list(summary.get("cells") or [])
    status, title = _status(summary)
    table = [
        {
            **row,
            "variant": plots_compare.variant(row, rows),
            "has_report": (directory / str(row.get("report", ""))).is_file(),
        }
        for row in rows
    ]
    plots = []
    if rows:
        plots = [
            plot(
                "cmp-lost",
                "Lost votes by build and server",
                "Acknowledged votes missing from the final tally. Only a build without a lock "
                "should lose any.",
                lambda: plots_compare.lost_plot(rows),
            ),
            plot(
                "cmp-throughput",
                "Throughput by build: the cost of the lock",
                "Votes completed per second over each whole run. The lock makes votes wait for "
                "each other; the unlocked build is faster only because it is wrong.",
                lambda: plots_compare.throughput_plot(rows),
            ),
            plot(
                "cmp-latency",
                "Latency by build",
                "Time from sending a vote to its reply: p50 (half were faster), p95 and p99.",
                lambda: plots_compare.latency_plot(rows),
            ),
        ]
    return write_page(
        directory / "index.html",
        "compare.html",
        summary=summary,
        status=status,
        title=title,
        rows=table,
        lesson=lesson(rows),
        plots=plots,
        name=directory.name,
        missing=[n for n in summary.get("planned") or [] if n not in {r["name"] for r in rows}],
    )
