"""The plots of one run's report, each returned as an inline SVG element."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from loadtests.report import svg
from loadtests.report.scan import Collision, HistorySeries
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


_ROLE_STYLE = {
    "collision": (svg.LOST, "#ffffff"),
    "context": (svg.CONTEXT, "#ffffff"),
    "neighbour": ("#d0d7de", svg.INK),
}


def _process_name(process: Any) -> str:
    return f"client {process}"


def timeline_plot(collision: Collision, series: HistorySeries, number: int) -> Markup:
    """The colliding votes as overlapping bars per client, labelled with their counts."""
    rows: list[Any] = []
    for role in ("collision", "context", "neighbour"):
        for iv in collision.intervals:
            if iv.role == role and iv.process not in rows:
                rows.append(iv.process)
    bars = [
        (
            series.seconds(iv.invoke_ns or iv.complete_ns) * 1e3,
            series.seconds(iv.complete_ns) * 1e3,
            iv,
        )
        for iv in collision.intervals
    ]
    # Frame the colliding and count±1 votes; neighbours may run off either edge.
    key = [(a, b) for a, b, iv in bars if iv.role != "neighbour"]
    lo, hi = (series.seconds(t) * 1e3 for t in collision.window(widen=0.5))
    left = max(lo, min(a for a, _, _ in bars))
    right = min(hi, max(b for _, b, _ in bars))
    left, right = min([left, *(a for a, _ in key)]), max([right, *(b for _, b in key)])
    pad = (right - left) * 0.01
    fig = svg.figure(svg.WIDTH, 0.95 + 0.42 * len(rows))
    ax = fig.add_subplot()
    ax.set_xlim(left - pad, right + pad)
    for start, end, iv in bars:
        if end < left or start > right:
            continue
        y = rows.index(iv.process)
        face, ink = _ROLE_STYLE[iv.role]
        hatch = "////" if iv.type != "ok" else None
        ax.barh(
            y, end - start, left=start, height=0.58, color=face, hatch=hatch, edgecolor="#ffffff"
        )
        shown = min(end, right) - max(start, left)
        if shown < (right - left) * 0.07:
            continue  # too little of the bar is visible to hold a label
        text = "?" if iv.type != "ok" else f"→ {iv.count}" if iv.count is not None else "ok"
        if iv.choice:
            text = f"{choice_label(iv.choice)} {text}"
        ax.text(
            (max(start, left) + min(end, right)) / 2,
            y,
            text,
            ha="center",
            va="center",
            color=ink,
            fontsize=9,
            weight="bold" if iv.role == "collision" else "normal",
            clip_on=True,
        )
    both = [iv for iv in collision.intervals if iv.role == "collision" and iv.invoke_ns]
    if len(both) >= 2:
        start = max(series.seconds(iv.invoke_ns or 0) for iv in both) * 1e3
        end = min(series.seconds(iv.complete_ns) for iv in both) * 1e3
        if end > start:
            ax.axvspan(start, end, color=svg.LOST, alpha=0.08, linewidth=0)
            ax.annotate(
                "both in flight",
                ((start + end) / 2, 1.0),
                xycoords=("data", "axes fraction"),
                ha="center",
                va="bottom",
                fontsize=8,
                color=svg.LOST,
            )
    ax.set_yticks(range(len(rows)), [_process_name(p) for p in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("milliseconds since the first vote (each bar: request sent → reply received)")
    return svg.to_svg(fig, f"Timeline of collision {number}", f"timeline-{number}")
