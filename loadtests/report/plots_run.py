"""The plots of one run's report, each returned as an inline SVG element."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from loadtests.report import svg
from loadtests.report.scan import HistorySeries
from loadtests.report.words import choice_label


def _colour(choice: str, position: int) -> str:
    return svg.CHOICE_COLOURS.get(choice, svg.SERIES[position % len(svg.SERIES)])


def _label_bars(ax: Axes, xs: Sequence[float], heights: Sequence[float], colour: str) -> None:
    for x, h in zip(xs, heights, strict=True):
        ax.annotate(
            f"{h:,.0f}",
            (x, h),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color=colour,
        )


def counts_plot(counts: Mapping[str, Mapping[str, Any]]) -> Markup:
    """Acknowledged votes against the final tally, per choice, with the lost ones marked."""
    choices = list(counts)
    fig = svg.figure(svg.WIDTH, 3.0 if len(choices) <= 6 else 4.0)
    ax = fig.add_subplot()
    has_info = any(counts[c].get("info") for c in choices)
    width = 0.36 if not has_info else 0.26
    offsets = (-width / 2, width / 2) if not has_info else (-width, 0.0, width)
    top = 1.0
    lost_labelled = False
    for x, choice in enumerate(choices):
        row = counts[choice]
        acked = float(row.get("ok") or 0)
        final = row.get("final")
        first = x == 0
        ax.bar(
            x + offsets[0],
            acked,
            width,
            color="#ffffff",
            edgecolor=svg.INK,
            label="acknowledged (the server said OK)" if first else None,
        )
        _label_bars(ax, [x + offsets[0]], [acked], svg.INK)
        if has_info:
            info = float(row.get("info") or 0)
            ax.bar(
                x + offsets[1],
                info,
                width,
                color="#eaeef2",
                edgecolor=svg.MUTED,
                label="unknown outcome (timeout, 5xx)" if first else None,
            )
            _label_bars(ax, [x + offsets[1]], [info], svg.MUTED)
        where = x + offsets[-1]
        top = max(top, acked)
        if final is None:
            ax.annotate("no final tally", (where, 0), ha="center", va="bottom", fontsize=8)
            continue
        ax.bar(where, float(final), width, color=_colour(choice, x), label=None)
        top = max(top, float(final))
        lost = int(row.get("lost") or 0)
        if not lost:
            _label_bars(ax, [where], [float(final)], svg.INK)
            continue
        # The missing part, drawn where it should have been: on top of the tally.
        ax.bar(
            where,
            lost,
            width,
            bottom=float(final),
            fill=False,
            hatch="////",
            edgecolor=svg.LOST,
            linewidth=1,
            label=None if lost_labelled else "lost: acknowledged but not in the tally",
        )
        lost_labelled = True
        ax.annotate(
            f"{float(final):,.0f}",
            (where, float(final)),
            xytext=(0, -3),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=8,
            color="#ffffff",
        )
        ax.annotate(
            f"{lost:,} lost",
            (where, float(final) + lost),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            color=svg.LOST,
            fontweight="bold",
            fontsize=9,
        )
    handles, labels = ax.get_legend_handles_labels()
    handles.insert(1, Patch(color=svg.NEIGHBOUR))
    labels.insert(1, "final tally (coloured per choice)")
    ax.set_xticks(range(len(choices)), [choice_label(c) for c in choices])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("votes")
    ax.set_ylim(0, top * 1.15)
    ax.grid(axis="x", visible=False)
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return svg.to_svg(fig, "Acknowledged votes against the final tally, per choice", "counts")


def _events(ax: Axes, series: HistorySeries) -> None:
    for time_ns, name in series.events[:20]:
        x = series.seconds(time_ns)
        ax.axvline(x, color=svg.VERDICT_COLOURS["ERROR"], linestyle="--", linewidth=1)
        ax.annotate(
            name, (x, 1.0), xycoords=("data", "axes fraction"), fontsize=8, rotation=90, va="top"
        )


def throughput_plot(series: HistorySeries) -> Markup:
    """Completed votes per second over the run, split into ok, fail and info."""
    fig = svg.figure(svg.WIDTH, 2.8)
    ax = fig.add_subplot()
    width = series.bucket_s
    xs = [i * width for i in series.bucket_range()]
    bottom = [0.0] * len(xs)
    colours = {"ok": svg.SERIES[0], "fail": svg.SERIES[1], "info": svg.NEIGHBOUR}
    names = {"ok": "acknowledged", "fail": "refused", "info": "unknown outcome"}
    for kind in ("ok", "fail", "info"):
        rates = [
            getattr(series.buckets[i], kind) / width if i in series.buckets else 0.0
            for i in series.bucket_range()
        ]
        if not any(rates) and kind != "ok":
            continue
        ax.bar(
            xs, rates, width, bottom=bottom, align="edge", color=colours[kind], label=names[kind]
        )
        bottom = [b + r for b, r in zip(bottom, rates, strict=True)]
    _events(ax, series)
    ax.set_xlabel("seconds since the first vote")
    ax.set_ylabel("votes completed per second")
    ax.set_xlim(0, max(xs[-1] + width if xs else 1.0, width))
    if len(ax.containers) > 1:
        svg.legend(ax)
    return svg.to_svg(fig, "Throughput over time", "throughput")


def throughput_plot_from_stats(per_second: Sequence[Mapping[str, Any]]) -> Markup:
    """Per-second throughput from result.json, when the history is not available."""
    fig = svg.figure(svg.WIDTH, 2.8)
    ax = fig.add_subplot()
    xs = [float(row.get("t", 0)) for row in per_second]
    ax.bar(xs, [float(row.get("ok", 0)) for row in per_second], 1.0, align="edge")
    ax.set_xlabel("seconds since the first vote")
    ax.set_ylabel("votes acknowledged per second")
    return svg.to_svg(fig, "Throughput over time", "throughput")


def latency_plot(series: HistorySeries, overall: Mapping[str, Any]) -> Markup:
    """Latency percentiles of each time bucket, with the whole run's as dotted lines."""
    fig = svg.figure(svg.WIDTH, 2.8)
    ax = fig.add_subplot()
    width = series.bucket_s
    ranges = list(series.bucket_range())
    styles = (("p50", 50, svg.SERIES[0]), ("p95", 95, svg.SERIES[1]), ("p99", 99, svg.LOST))
    highest = 0.0
    for name, q, colour in styles:
        points = [
            ((i + 0.5) * width, v)
            for i in ranges
            if i in series.buckets and (v := series.buckets[i].percentile(q)) is not None
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", markersize=3, color=colour, label=name)
            highest = max(highest, *ys)
        total = overall.get(name)
        if isinstance(total, int | float):
            ax.axhline(total, color=colour, linestyle=":", linewidth=1)
            highest = max(highest, float(total))
    ax.set_xlabel("seconds since the first vote")
    ax.set_ylabel("latency (ms)")
    ax.set_ylim(0, max(highest * 1.1, 1.0))
    ax.set_xlim(0, max(len(ranges) * width, width))
    svg.legend(ax)
    return svg.to_svg(fig, "Latency percentiles over time", "latency")


def latency_plot_from_stats(overall: Mapping[str, Any]) -> Markup:
    """The run's latency percentiles as bars, when the history is not available."""
    fig = svg.figure(svg.WIDTH, 2.4)
    ax = fig.add_subplot()
    names = [n for n in ("p50", "p95", "p99", "max") if isinstance(overall.get(n), int | float)]
    values = [float(overall[n]) for n in names]
    ax.barh(names, values, color=svg.SERIES[0])
    ax.invert_yaxis()
    ax.set_xlabel("latency (ms)")
    return svg.to_svg(fig, "Latency percentiles", "latency")


def lost_plot(series: HistorySeries, counts: Mapping[str, Mapping[str, Any]]) -> Markup:
    """Per choice, acknowledged-so-far minus the highest count returned so far, over time."""
    fig = svg.figure(svg.WIDTH, 2.8)
    ax = fig.add_subplot()
    width = series.bucket_s
    for position, (choice, points) in enumerate(sorted(series.progress.items())):
        colour = _colour(choice, position)
        xs, ys, last = [0.0], [0], 0
        for i in series.bucket_range():
            if i in points:
                acked, highest = points[i]
                last = max(0, acked - highest)
            xs.append((i + 1) * width)
            ys.append(last)
        ax.step(xs, ys, where="post", color=colour, label=choice_label(choice), linewidth=1.8)
        final_lost = counts.get(choice, {}).get("lost")
        if isinstance(final_lost, int) and final_lost:
            ax.axhline(
                final_lost,
                color=colour,
                linestyle="--",
                linewidth=1,
                label=f"{choice_label(choice)}: {final_lost:,} lost in the final tally",
            )
    ax.set_xlabel("seconds since the first vote")
    ax.set_ylabel("acknowledged votes lost so far")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(len(series.bucket_range()) * width, width))
    ax.set_ylim(bottom=0)
    svg.legend(ax)
    return svg.to_svg(fig, "Lost votes as the run progressed", "lost")
