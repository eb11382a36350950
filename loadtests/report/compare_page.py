"""The comparison page: every cell's verdict in one table, then plots across cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loadtests.report import plots_compare
from loadtests.report.page import plot, write_page
from loadtests.report.words import number

Row = Mapping[str, Any]


def _losses(rows: Sequence[Row]) -> list[str]:
    """Who lost votes: one sentence per build (naming the cell when it is the only one)."""
    lines = []
    for build in dict.fromkeys(str(r["build"]) for r in rows):
        own = [r for r in rows if r["build"] == build]
        losing = [r for r in own if r.get("lost")]
        if len(losing) == 1:
            row = losing[0]
            lines.append(
                f"The {build} build under {plots_compare.variant(row, rows)} lost "
                f"{number(row['lost'])} of {number(row['acknowledged'])} acknowledged votes."
            )
        elif losing:
            shares = [r["lost"] / r["acknowledged"] for r in losing if r.get("acknowledged")]
            spread = f" ({min(shares):.0%} to {max(shares):.0%} of the acknowledged votes)"
            lines.append(
                f"The {build} build lost votes in {len(losing)} of its {len(own)} cells"
                f"{spread if shares else ''}."
            )
    clean = [b for b in dict.fromkeys(str(r["build"]) for r in rows) if _all_zero(rows, b)]
    if lines and clean:
        lines.append(f"The {' and '.join(clean)} build{'s' if len(clean) > 1 else ''} lost none.")
    return lines


def _hidden_by_the_gil(rows: Sequence[Row]) -> list[str]:
    """The naive build's contrast: no loss without --preempt, losses with it."""
    naive = [r for r in rows if r["build"] == "naive"]
    hidden = [r for r in naive if not r.get("preempt") and r.get("lost") == 0]
    caught = [r for r in naive if r.get("preempt") and r.get("lost")]
    if not (hidden and caught):
        return []
    return [
        "Without --preempt the naive build lost none: CPython's GIL hid its race (a "
        "read-modify-write with no call in between); forced switches in the app's code "
        "exposed it, as free-threaded CPython would."
    ]


def _all_zero(rows: Sequence[Row], build: str) -> bool:
    return all(r.get("lost") == 0 for r in rows if r["build"] == build)


def _lock_costs(rows: Sequence[Row]) -> list[tuple[str, float, float]]:
    """(variant, locked votes/s, unlocked votes/s) for each variant that ran both builds."""
    rates: dict[tuple[str, str], float] = {}
    for row in rows:
        value = row.get("throughput")
        if isinstance(value, int | float) and value > 0:
            rates[(str(row["build"]), plots_compare.variant(row, rows))] = float(value)
    return [
        (name, rates[("locked", name)], rates[("unlocked", name)])
        for (build, name) in rates
        if build == "locked" and ("unlocked", name) in rates
    ]


def lesson(rows: Sequence[Row]) -> list[str]:
    """What the comparison shows, in a few sentences: who lost votes, and the GIL's part."""
    lines = _losses(rows)
    lines += _hidden_by_the_gil(rows)
    if _lock_costs(rows):
        # One run per cell measures the machine's mood as much as the lock: the same
        # demo gave 5% and 48%. The number needs rounds; bench has them.
        lines.append(
            "Throughput from one run per cell is no measure of what the lock costs (on a "
            "shared machine it varies by tens of percent from run to run): "
            "`racecheck bench --only lock` measures it over alternating rounds and gives a range."
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


# The comparison's banner names what it judges (did every cell get its expected verdict?),
# so a green word above a build that lost votes does not read as "the app passed".
META_LABEL = {"PASS": "ALL AS EXPECTED", "FAIL": "NOT AS EXPECTED", "UNKNOWN": "INTERRUPTED"}


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
        meta_label=META_LABEL.get(status, status),
        title=title,
        rows=table,
        lesson=lesson(rows),
        plots=plots,
        paired=len(rows) <= plots_compare.PAIRED_CELLS,
        name=directory.name,
        missing=[n for n in summary.get("planned") or [] if n not in {r["name"] for r in rows}],
    )
