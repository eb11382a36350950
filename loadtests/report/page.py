"""Jinja2 rendering shared by the run and comparison pages."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from loadtests.files import write_atomic
from loadtests.report import svg
from loadtests.report.words import DASH, number


@dataclass(frozen=True)
class Plot:
    """One figure of a page: its SVG, or a note saying why it is not there."""

    key: str
    title: str
    caption: str
    svg: Markup | None = None
    note: str = ""


def plot(key: str, title: str, caption: str, draw: Callable[[], Markup]) -> Plot:
    """Draw a figure; a plot that cannot be drawn becomes a visible note, never a lost page."""
    try:
        with svg.style():
            return Plot(key, title, caption, draw())
    except Exception as exc:  # a report must render even when one plot has a bug
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return Plot(
            key,
            title,
            caption,
            note=f"This plot could not be drawn ({type(exc).__name__}: {exc}, "
            f"at {Path(where.filename).name}:{where.lineno}).",
        )


def ms(value: Any) -> str:
    """Milliseconds with a precision that suits their size."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return DASH
    if value >= 100:
        return f"{value:,.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def rate(value: Any) -> str:
    """Votes per second."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return DASH
    return f"{value:,.0f}/s"


def utc(time_ns: Any) -> str:
    """A nanosecond wall-clock stamp as a readable UTC time."""
    if not isinstance(time_ns, int) or isinstance(time_ns, bool) or time_ns <= 0:
        return DASH
    moment = datetime.fromtimestamp(time_ns / 1e9, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@functools.cache
def environment() -> Environment:
    """The report's Jinja2 environment: autoescaped, and strict about missing names."""
    env = Environment(
        loader=PackageLoader("loadtests.report", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(number=number, ms=ms, rate=rate, utc=utc)
    return env


@functools.cache
def stylesheet() -> Markup:
    """The page's CSS, inlined so the report opens from disk with no other file."""
    css = resources.files("loadtests.report").joinpath("static/report.css").read_text("utf-8")
    return Markup(css)  # our own package file, not user input


def write_page(path: Path, template: str, **context: Any) -> Path:
    """Render a template into ``path`` atomically (a browser never sees half a page)."""
    from loadtests import __version__

    html = (
        environment()
        .get_template(template)
        .render(
            css=stylesheet(),
            version=__version__,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            **context,
        )
    )
    write_atomic(path, html)  # a browser never sees half a page; a full disk leaves no .tmp
    return path
