"""Options that several commands share, defined once so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from loadtests import defaults
from loadtests.defaults import preempt_rate_problem, race_window_problem
from loadtests.run.claim import REPLACE_FLAG
from loadtests.target.preempt import Preempt

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


def replace_option(func: F) -> F:
    """``--replace``: let a run reuse an --out that holds a previous run's files."""
    return click.option(
        REPLACE_FLAG,
        "replace",
        is_flag=True,
        help="Delete the previous run's files in --out first (a folder racecheck wrote; "
        "without it a non-empty --out is refused).",
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


def _preempt_rate(ctx: click.Context, param: click.Parameter, value: float) -> float:
    problem = preempt_rate_problem(value)
    if problem is not None:
        raise click.BadParameter(problem, ctx=ctx, param=param)
    return value


def preempt_options(func: F) -> F:
    """``--preempt`` and its knobs: forced thread switches in the app's own code."""
    options = [
        click.option(
            "--preempt",
            is_flag=True,
            help="Force thread switches between the app's own bytecodes, so races the GIL "
            "hides (n += 1) show. See docs/preempt.md.",
        ),
        click.option(
            "--preempt-rate",
            type=float,
            default=defaults.PREEMPT_RATE,
            show_default=True,
            metavar="P",
            callback=_preempt_rate,
            help="Probability of a forced switch per opcode of app code (--preempt).",
        ),
        click.option(
            "--preempt-seed",
            type=int,
            default=defaults.PREEMPT_SEED,
            show_default=True,
            help="Seed of the per-opcode coin (--preempt), recorded to repeat the run.",
        ),
        click.option(
            "--preempt-module",
            "preempt_modules",
            multiple=True,
            metavar="MODULE",
            help="A module whose code gets forced switches (repeatable) [default: the "
            "package of --app].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def preemption(
    preempt: bool, preempt_rate: float, preempt_seed: int, preempt_modules: tuple[str, ...]
) -> Preempt | None:
    """The options as the launcher's settings, or None without --preempt."""
    if not preempt:
        return None
    return Preempt(preempt_rate, preempt_seed, tuple(preempt_modules))
