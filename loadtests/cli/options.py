"""Options that several commands share, defined once so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from loadtests.defaults import race_window_problem

F = TypeVar("F", bound=Callable[..., Any])


def _race_window(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    problem = race_window_problem(value) if value is not None else None
    if problem is not None:
        raise click.BadParameter(problem, ctx=ctx, param=param)
    return value


def race_window_option(func: F) -> F:
    """``--race-window SECONDS`` for the reference app's unlocked build."""
    return click.option(
        "--race-window",
        type=float,
        default=None,
        metavar="SECONDS",
        callback=_race_window,
        help="Seconds between reading and writing a counter (unlocked build); -1: only a call.",
    )(func)


def switch_interval_option(func: F) -> F:
    """``--switch-interval SECONDS``: sys.setswitchinterval in the target's process."""
    return click.option(
        "--switch-interval",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="SECONDS",
        help="sys.setswitchinterval in the target process (1e-6: stress mode).",
    )(func)


def ready_timeout_option(func: F) -> F:
    """``--ready-timeout SECONDS``: how long a started target may take to answer."""
    return click.option(
        "--ready-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        help="How long the target may take to start answering.",
    )(func)
