"""The stock over time against its floor: what the sales promised, what the reads saw.

For each stock a decrement names: a step line from the level read before the load,
down one for every acknowledged sale (what the stock must be if every sale took one),
the levels the harness and the load read (dots), and the floor (dashed). A line
below the floor is an oversell; dots above the line are sales that took nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from loadtests.check.kinds import CALIBRATION
from loadtests.errors import HistoryError
from loadtests.history import Op, iter_file
from loadtests.report import svg
from loadtests.report.page import Plot, plot


@dataclass
class StockSeries:
    """One stock's story in seconds since its initial read."""

    floor: int = 0
    t0_ns: int | None = None
    initial: int | None = None
    sales_ns: list[int] = field(default_factory=list)
    reads: list[tuple[int, int]] = field(default_factory=list)


def stock_series(ops: Iterable[Op], final: Mapping[str, Any]) -> dict[str, StockSeries]:
    """Every stock's initial level, acknowledged sales and reads, from one pass."""
    stocks: dict[str, StockSeries] = {}
    for op in ops:
        value = op.value if isinstance(op.value, Mapping) else {}
        if op.f == "read" and op.type == "ok" and isinstance(value.get("stocks"), Mapping):
            for name, level in value["stocks"].items():
                if type(level) is not int:
                    continue
                entry = stocks.setdefault(str(name), StockSeries())
                if entry.initial is None and op.process == "harness":
                    entry.initial, entry.t0_ns = level, op.time_ns
                entry.reads.append((op.time_ns, level))
        elif op.f == "decrement" and op.type == "ok":
            entry = stocks.setdefault(str(value.get("stock")), StockSeries())
            floor = value.get("floor")
            entry.floor = floor if type(floor) is int else 0
            if entry.t0_ns is not None and op.process != CALIBRATION:
                entry.sales_ns.append(op.time_ns)
    levels = final.get("stocks") if isinstance(final.get("stocks"), Mapping) else {}
    for name, level in (levels or {}).items():
        known = stocks.get(str(name))
        if known is not None and type(level) is int and isinstance(final.get("time_ns"), int):
            known.reads.append((final["time_ns"], level))
    return {name: s for name, s in stocks.items() if s.initial is not None}


def stock_plot(name: str, series: StockSeries) -> Markup:
    """The promised level (step line), the read levels (dots) and the floor (dashed)."""
    assert series.initial is not None and series.t0_ns is not None
    t0 = series.t0_ns
    fig = svg.figure(svg.WIDTH, 2.8)
    ax = fig.add_subplot()
    xs = [0.0] + [(t - t0) / 1e9 for t in sorted(series.sales_ns)]
    ys = [series.initial - n for n in range(len(xs))]
    ax.step(xs, ys, where="post", color=svg.SERIES[0], label="initial - acknowledged sales")
    if series.reads:
        ax.plot(
            [(t - t0) / 1e9 for t, _ in series.reads],
            [level for _, level in series.reads],
            "o",
            color=svg.SERIES[1],
            label="stock as read",
        )
    ax.axhline(series.floor, color=svg.MUTED, linestyle="--", label=f"floor ({series.floor})")
    ax.set_xlabel("seconds since the stock was first read")
    ax.set_ylabel(f"{name}")
    svg.legend(ax)
    return svg.to_svg(fig, f"Stock {name} over time", f"stock-{name}")


def stock_plots(run_dir: Path, result: Mapping[str, Any]) -> list[Plot]:
    """One plot per stock of the run (none for a run without stocks)."""
    final = result.get("final") or {}
    if not isinstance(final, Mapping) or not final.get("stocks"):
        return []
    try:
        stocks = stock_series(iter_file(run_dir / "history.jsonl"), final)
    except HistoryError:
        return []
    return [
        plot(
            f"stock-{name}",
            f"Stock {name!r} over time",
            "The line is the level the stock must have if every acknowledged sale took one "
            "item; the dots are the levels read (before, during and after the load); the "
            "dashed line is the floor. A line below the floor is an oversell; dots above "
            "the line are sales that took nothing from the stock (lost decrements).",
            lambda name=name, series=series: stock_plot(name, series),  # type: ignore[misc]
        )
        for name, series in stocks.items()
    ]
