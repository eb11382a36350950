"""The timeline of a collision: its votes as bars per client, from send to reply."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from loadtests.report import svg
from loadtests.report.scan import Collision, HistorySeries
from loadtests.report.words import choice_label

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
        # A bar that runs on past an edge gets an arrowhead there: it is cut, not short.
        for cut, edge, marker in (
            (start < left - pad, left - pad, "<"),
            (end > right + pad, right + pad, ">"),
        ):
            if cut:
                ax.plot(
                    [edge],
                    [y],
                    marker=marker,
                    markersize=7,
                    color=svg.INK,
                    clip_on=False,
                    gid="cut",
                )
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
