"""Every process group racecheck starts ends when racecheck ends, even by SIGKILL.

A SIGKILLed racecheck runs no ``finally``, no atexit hook: its children (Locust
master and workers firing at a dead port, the web UI, Apache) would run on. So
the first child racecheck starts also starts a *keeper*: a small process in a
session of its own that reads, from a pipe, the process groups racecheck holds
(``+pgid``) and lets go of (``-pgid``). The kernel closes racecheck's end of the
pipe however racecheck dies; the keeper then reads end-of-file at once and
SIGKILLs every group still held. A clean exit lets go of every group first, and
the keeper leaves with nothing to kill.

Why not ``PR_SET_PDEATHSIG``: it fires when the *thread* that forked the child
exits (a nemesis thread restarts targets), and it reaches the direct child only,
not gunicorn's workers or Apache's. Why a pipe rather than a keeper polling the
parent's pid: end-of-file is immediate, and a pid can be reused.

The keeper's own code (:func:`keep`) uses the standard library only: it starts in
a few milliseconds and imports nothing of racecheck's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

_REPO_ROOT = Path(__file__).resolve().parents[2]
_KEEPER_EXIT_WAIT = 5.0


class Lifeline:
    """This process's end of the pipe to its keeper, and the groups it holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self._keeper: subprocess.Popen[bytes] | None = None
        self._pipe: int | None = None

    def hold(self, pgid: int) -> None:
        """Have ``pgid`` killed if this process dies before it calls :meth:`release`."""
        with self._lock:
            self._groups.add(pgid)
            if not self._send(f"+{pgid}\n"):
                self._start()  # none yet, or it died: a new one learns every group held

    def release(self, pgid: int) -> None:
        """``pgid`` is gone (or stopped by us): the keeper must never signal it again."""
        with self._lock:
            if pgid not in self._groups:
                return
            self._groups.discard(pgid)
            self._send(f"-{pgid}\n")
            if not self._groups:
                # Nothing left to guard: the keeper leaves now, so no process of ours
                # outlives the children it watched.
                self._close()

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_REPO_ROOT), *_pythonpath()])}
        try:
            self._keeper = subprocess.Popen(
                [sys.executable, "-m", "loadtests.target.lifeline"],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                env=env,
                # Its own session: a terminal's Ctrl-C or hangup reaches racecheck, which
                # stops its children itself; the keeper must outlive racecheck, not die with it.
                start_new_session=True,
            )
        except OSError:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        self._pipe = write_end
        self._send("".join(f"+{pgid}\n" for pgid in sorted(self._groups)))

    def _send(self, lines: str) -> bool:
        if self._pipe is None:
            return False
        try:
            # One write of under PIPE_BUF bytes per call: atomic, never half a line.
            os.write(self._pipe, lines.encode("ascii"))
        except OSError:  # the keeper died (EPIPE): forget it, the caller starts another
            self._close()
            return False
        return True

    def _close(self) -> None:
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                os.close(self._pipe)
            self._pipe = None
        if self._keeper is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._keeper.wait(_KEEPER_EXIT_WAIT)
            self._keeper = None

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's pipe, or the keeper would wait for us too."""
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                os.close(self._pipe)
        self._pipe, self._keeper, self._groups = None, None, set()
        self._lock = threading.Lock()


def _pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


# Why module level: the lifeline belongs to the process, not to any object in it;
# every start_process in this process shares the one keeper.
LIFELINE = Lifeline()
os.register_at_fork(after_in_child=LIFELINE.forget_after_fork)


def keep(stream: BinaryIO) -> None:
    """The keeper: follow the held groups until end-of-file, then SIGKILL those left."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    held: set[int] = set()
    for line in stream:
        text = line.strip()
        if not text[1:].isdigit():
            continue
        pgid = int(text[1:])
        if pgid <= 1:
            continue  # never a signal to every process, nor to init's group
        if text.startswith(b"+"):
            held.add(pgid)
        elif text.startswith(b"-"):
            held.discard(pgid)
    _kill_groups(held)


def _kill_groups(groups: Iterable[int]) -> None:
    # SIGKILL, not SIGTERM: nobody is left to wait for a graceful exit, and Locust's
    # graceful exit would first fire its final requests at a dead port.
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


if __name__ == "__main__":
    keep(sys.stdin.buffer)
