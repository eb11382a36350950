"""Matplotlib set up for reports: figures without pyplot, saved as inline SVG.

The object-oriented :class:`~matplotlib.figure.Figure` API keeps no global
figure registry and needs no GUI backend, so drawing works in any thread and on
machines without a display. Every figure becomes an ``<svg>`` element embedded
in the page, so a report is one self-contained file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import matplotlib
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# One palette for pages and plots: the verdict colours match the CSS badges.
VERDICT_COLOURS = {
    "PASS": "#1a7f37",
    "FAIL": "#cf222e",
    "UNKNOWN": "#9a6700",
    "ERROR": "#8250df",
    "SKIP": "#6e7781",
}
LOST = "#cf222e"
NEIGHBOUR = "#8c959f"
CONTEXT = "#0969da"
INK = "#1f2328"
MUTED = "#57606a"
GRID = "#d0d7de"
SERIES = ("#0969da", "#bc4c00", "#1a7f37", "#8250df", "#bf3989", "#0a7b83", "#9a6700", "#57606a")
CHOICE_COLOURS = {"yes": "#0969da", "no": "#bc4c00"}
BUILD_COLOURS = {"locked": "#0969da", "unlocked": "#cf222e", "sqlite": "#8250df"}

# Figures fill the page column (about 1,000 px): 10 inches keeps 10 pt text
# close to the size of the page's own text once scaled.
WIDTH = 10.0

_RC: dict[str, Any] = {
    # Text stays text: smaller files, selectable labels, and no glyph <defs>
    # whose ids would clash between the several SVGs of one page.
    "svg.fonttype": "none",
    # Fixed hash salt: the same run renders byte-identical SVG every time.
    "svg.hashsalt": "racecheck",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#eaeef2",
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "legend.frameon": False,
}


@contextmanager
def style() -> Iterator[None]:
    """The report's matplotlib settings, for the figures drawn inside the block."""
    # cast: the stubs type the keys as a Literal of every rc name; ours are all valid.
    with matplotlib.rc_context(cast(Any, _RC)):
        yield


def figure(width: float = WIDTH, height: float = 3.2) -> Figure:
    """A new figure (inches) with constrained layout, so labels never overlap the edges."""
    return Figure(figsize=(width, height), layout="constrained")


def to_svg(fig: Figure, label: str, key: str) -> Markup:
    """The figure as an inline ``<svg>``; ``key`` (unique in the page) prefixes its ids."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, count=1, flags=re.S)
    # Several figures share one HTML document, and matplotlib numbers its ids per
    # figure ("patch_1", clip paths): prefix them so every id stays unique.
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", key) + "-"
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', text)
    # Drop the fixed size: the viewBox keeps the aspect ratio and CSS sets the width.
    text = re.sub(r'^<svg([^>]*?) width="[^"]+" height="[^"]+"', r"<svg\1", text, count=1)
    escaped = Markup.escape(label)
    text = text.replace("<svg", f'<svg role="img" aria-label="{escaped}"', 1)
    return Markup(text)  # matplotlib escapes every text it writes


def legend(ax: Axes, **options: Any) -> None:
    """A legend at the right of the plot, only when something in it has a label."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        settings: dict[str, Any] = {
            "loc": "upper left",
            "bbox_to_anchor": (1.0, 1.0),
            "fontsize": 8,
        }
        ax.legend(handles, labels, **{**settings, **options})
