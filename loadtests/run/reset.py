"""``[[reset]]``: put the app back in a known state before every run (and compare cell).

A reset is a command or a request. Commands run first, before the app starts, in the
target file's folder (``cp seed.db app.db``, ``rm -f votes.json``), since many apps read
their files when they start; requests go to the running app before anything else the
round sends. A failing command stops the run: its state would be unknown.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from loadtests.errors import UsageError

# A reset that takes longer than this is not a reset; the run must stay bounded.
COMMAND_TIMEOUT = 120.0


class ResetError(UsageError):
    """A reset command failed or timed out: the file's command is at fault (exit 2)."""


def run_commands(commands: Sequence[str], folder: Path) -> None:
    """Run each reset command with the shell, in ``folder``; raise ResetError on failure."""
    for command in commands:
        try:
            done = subprocess.run(
                command,
                shell=True,  # the user's own command line from their target file
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ResetError(
                f"reset command {command!r} did not finish within {COMMAND_TIMEOUT:g} s"
                f" (in {folder}); make it finish, or remove it from [[reset]]"
            ) from None
        if done.returncode != 0:
            said = " ".join((done.stderr or done.stdout).split())[:300] or "no output"
            raise ResetError(
                f"reset command {command!r} exited with status {done.returncode} in {folder}:"
                f" {said}. Fix the command in [[reset]] and run again."
            )
