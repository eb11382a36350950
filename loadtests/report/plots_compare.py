"""The plots of a comparison: lost votes, throughput and latency across its cells."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from markupsafe import Markup

from loadtests.report import svg
from loadtests.report.words import DASH

Row = Mapping[str, Any]
# Up to this many cells, lost votes and throughput are grouped bars side by side;
# beyond it, one horizontal bar per cell stays readable at any size.
PAIRED_CELLS = 6


def variant(row: Row, rows: Sequence[Row]) -> str:
    """What sets a cell apart besides its build: the server, then whatever else varies."""
    parts = [str(row.get("server"))]
    for key, fmt in (
        ("threads", "{} threads"),
        ("driver", "{} driver"),
        ("race_window", "window {} s"),
    ):
        if len({str(r.get(key)) for r in rows}) > 1:
            value = row.get(key)
            parts.append(fmt.format(f"{value:g}" if isinstance(value, float) else value))
    # --preempt changes what a cell proves, so a preempted cell never shares a variant
    # (and a lock's cost is never read off a preempted cell against a plain one).
    if row.get("preempt") and len({bool(r.get("preempt")) for r in rows}) > 1:
        parts.append("--preempt")
    return ", ".join(parts)


def _grouped(
    rows: Sequence[Row],
    value: Callable[[Row], float | None],
    label: Callable[[Row], str],
    ylabel: str,
    title: str,
    key: str,
    highlight: Callable[[Row], bool] = lambda row: False,
) -> Markup:
    """Bars grouped by build, one bar per variant, each labelled with its value."""
    builds = list(dict.fromkeys(str(r.get("build")) for r in rows))
    variants = list(dict.fromkeys(variant(r, rows) for r in rows))
    # Half the page wide: the lost-votes and throughput plots sit side by side.
    fig = svg.figure(svg.WIDTH * 0.5, 3.2)
    ax = fig.add_subplot()
    width = min(0.8 / len(variants), 0.5)
    top = 0.0
    for v_index, name in enumerate(variants):
        colour = svg.SERIES[v_index % len(svg.SERIES)]
        if len(variants) == 1:
            colour = ""  # one variant: each build in its own colour instead
        for b_index, build in enumerate(builds):
            row = next(
                (r for r in rows if r.get("build") == build and variant(r, rows) == name), None
            )
            if row is None:
                continue
            x = b_index - width * len(variants) / 2 + width * (v_index + 0.5)
            height = value(row)
            ax.bar(
                x,
                height or 0.0,
                width * 0.92,
                color=colour or svg.BUILD_COLOURS.get(build, svg.SERIES[b_index % len(svg.SERIES)]),
                label=name if b_index == 0 or len(builds) == 1 else None,
            )
            top = max(top, height or 0.0)
            ax.annotate(
                label(row),
                (x, height or 0.0),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
                color=svg.LOST if highlight(row) else svg.INK,
                fontweight="bold" if highlight(row) else "normal",
            )
    ax.set_xticks(range(len(builds)), builds)
    ax.set_xlim(-0.5, len(builds) - 0.5)
    ax.set_ylim(0, max(top, 1.0) * 1.2)
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", visible=False)
    if len(variants) > 1:
        svg.legend(ax)
    return svg.to_svg(fig, title, key)


def by_build(rows: Sequence[Row]) -> list[Row]:
    """The cells grouped by build, builds in the order they were listed."""
    order = list(dict.fromkeys(str(r.get("build")) for r in rows))
    return sorted(rows, key=lambda r: order.index(str(r.get("build"))))


def _per_cell(
    rows: Sequence[Row],
    value: Callable[[Row], float | None],
    label: Callable[[Row], str],
    axis_label: str,
    title: str,
    key: str,
    highlight: Callable[[Row], bool] = lambda row: False,
) -> Markup:
    """One horizontal bar per cell, coloured by build, labelled at its end."""
    ordered = by_build(rows)
    fig = svg.figure(svg.WIDTH, 0.9 + 0.34 * len(ordered))
    ax = fig.add_subplot()
    top = 0.0
    for y, row in enumerate(ordered):
        length = value(row) or 0.0
        top = max(top, length)
        build = str(row.get("build"))
        ax.barh(y, length, 0.7, color=svg.BUILD_COLOURS.get(build, svg.SERIES[0]))
        ax.annotate(
            label(row),
            (length, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
            color=svg.LOST if highlight(row) else svg.INK,
            fontweight="bold" if highlight(row) else "normal",
        )
    ax.set_yticks(range(len(ordered)), [f"{r.get('build')} · {variant(r, rows)}" for r in ordered])
    ax.set_ylim(len(ordered) - 0.5, -0.5)
    ax.set_xlim(0, max(top, 1.0) * 1.2)
    ax.set_xlabel(axis_label)
    ax.grid(axis="y", visible=False)
    return svg.to_svg(fig, title, key)


def _bars(
    rows: Sequence[Row],
    value: Callable[[Row], float | None],
    label: Callable[[Row], str],
    axis_label: str,
    title: str,
    key: str,
    highlight: Callable[[Row], bool] = lambda row: False,
) -> Markup:
    draw = _grouped if len(rows) <= PAIRED_CELLS else _per_cell
    return draw(rows, value, label, axis_label, title, key, highlight)


def _lost_label(row: Row) -> str:
    lost, acked = row.get("lost"), row.get("acknowledged") or 0
    if lost is None:
        return f"no tally ({row.get('verdict')})"
    if not lost:
        return "0 lost"
    return f"{lost:,} lost ({lost / acked:.0%})" if acked else f"{lost:,} lost"


def lost_plot(rows: Sequence[Row]) -> Markup:
    """Acknowledged votes lost, by build and server."""
    return _bars(
        rows,
        lambda r: r.get("lost"),
        _lost_label,
        "acknowledged votes lost",
        "Lost votes by build and server",
        "cmp-lost",
        highlight=lambda r: bool(r.get("lost")),
    )


def throughput_plot(rows: Sequence[Row]) -> Markup:
    """Votes per second, by build and server: the cost of the lock."""

    def label(row: Row) -> str:
        value = row.get("throughput")
        return f"{value:,.0f}/s" if isinstance(value, int | float) else DASH

    return _bars(
        rows,
        lambda r: r.get("throughput"),
        label,
        "votes per second",
        "Throughput by build",
        "cmp-throughput",
    )


def latency_plot(rows: Sequence[Row]) -> Markup:
    """Each cell's latency p50, p95 and p99 on one line, cells grouped by build."""
    ordered = by_build(rows)
    fig = svg.figure(svg.WIDTH, 0.9 + 0.42 * len(ordered))
    ax = fig.add_subplot()
    markers = (("p50", "o", svg.SERIES[0]), ("p95", "D", svg.SERIES[1]), ("p99", "^", svg.LOST))
    highest = 0.0
    labelled: set[str] = set()
    for y, row in enumerate(ordered):
        latency = row.get("latency_ms") or {}
        values: dict[str, float] = {
            q: float(v) for q, _, _ in markers if isinstance(v := latency.get(q), int | float)
        }
        if len(values) >= 2:
            ax.plot(
                [min(values.values()), max(values.values())], [y, y], color=svg.GRID, linewidth=3
            )
        for q, marker, colour in markers:
            if q in values:
                ax.plot(
                    values[q],
                    y,
                    marker=marker,
                    color=colour,
                    linestyle="",
                    label=None if q in labelled else q,
                )
                labelled.add(q)
        if values:
            top = max(values.values())
            highest = max(highest, top)
            ax.annotate(
                f"p99 {values.get('p99', top):.1f} ms",
                (top, y),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color=svg.MUTED,
            )
    labels = [f"{r.get('build')} · {variant(r, rows)}" for r in ordered]
    ax.set_yticks(range(len(ordered)), labels)
    ax.set_ylim(len(ordered) - 0.5, -0.5)
    ax.set_xlim(0, max(highest, 1.0) * 1.25)
    ax.set_xlabel("latency of a vote (ms)")
    ax.grid(axis="y", visible=False)
    if labelled:
        svg.legend(ax)
    return svg.to_svg(fig, "Latency by build", "cmp-latency")
