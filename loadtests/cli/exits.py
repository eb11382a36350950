"""The one place where outcomes become exit codes."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TypeVar

import click

from loadtests.check.exitcodes import EXIT_ERROR, EXIT_USAGE
from loadtests.errors import HarnessError, RacecheckError, UsageError
from loadtests.files import os_problem
from loadtests.target.redact import redact_text

T = TypeVar("T")
# The signals that stop a run the way Ctrl-C does (SIGINT is Python's KeyboardInterrupt).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def run_command(body: Callable[[], T]) -> T:
    """Run a subcommand body, turning racecheck's own errors into a message and exit code."""
    try:
        return body()
    except UsageError as exc:
        click.secho(f"racecheck: error: {redact_text(str(exc))}", err=True, fg="red")
        sys.exit(EXIT_USAGE)
    except HarnessError as exc:
        click.secho(f"racecheck: harness error: {redact_text(str(exc))}", err=True, fg="red")
        sys.exit(EXIT_ERROR)
    except RacecheckError as exc:
        click.secho(f"racecheck: {redact_text(str(exc))}", err=True, fg="red")
        sys.exit(EXIT_ERROR)
    except OSError as exc:
        # A file racecheck could not write or read (a full disk, a folder made read-only
        # mid-run): one line and 2 or 4, never a traceback under the FAIL code.
        problem = os_problem(exc, Path(str(exc.filename or "a file")))
        label = "error" if isinstance(problem, UsageError) else "harness error"
        click.secho(f"racecheck: {label}: {redact_text(str(problem))}", err=True, fg="red")
        sys.exit(EXIT_USAGE if isinstance(problem, UsageError) else EXIT_ERROR)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Treat SIGTERM and SIGHUP like Ctrl-C, so every `finally` that stops a process runs.

    SIGHUP is what a closing terminal sends: by default it would end racecheck with
    nothing written and its children running.
    """
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
