"""The console the commands print their results on.

At a terminal rich uses its width. In a pipe (a CI log) rich assumes 80 columns
and hard-wraps tables and long lines there, which splits a verdict over lines a
log search cannot find; there each line keeps its length (unless COLUMNS says
otherwise), and nothing is coloured.
"""

from __future__ import annotations

import os
import sys

import click
from rich.console import Console

from loadtests.run.progress import Say

# Wide enough that no table or line of ours is ever wrapped in a pipe.
UNWRAPPED = 10_000


def stdout_console() -> Console:
    """Rich's console on stdout: the terminal's width, or no wrapping in a pipe."""
    console = Console(highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        return Console(highlight=False, width=UNWRAPPED)
    return console


def pipe_say() -> Say | None:
    """A callback that prints a run's start and progress lines, when stdout is a pipe.

    At a terminal the driver's progress bar tells the same, and lines printed under
    it would garble it.
    """
    if sys.stdout.isatty():
        return None
    return click.echo
