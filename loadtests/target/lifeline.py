"""Every process racecheck starts ends when racecheck ends, even by SIGKILL.

A SIGKILLed racecheck runs no ``finally``, no atexit hook: its children (Locust
master and workers firing at a dead port, the web UI, Apache) would run on. So
the first child racecheck starts also starts a *keeper*: a small process in a
session of its own that holds the other end of a pipe. The kernel closes
racecheck's end however racecheck dies; the keeper then reads end-of-file at once.

Every child carries this process's token in its environment (``RACECHECK_LIFELINE``),
and so do its own children (gunicorn's workers, Apache's). After racecheck's death
the keeper finds the token's carriers in ``/proc`` and SIGKILLs their process groups,
twice, the second time half a second later for a child that was caught between fork
and exec. A token, not a list of process groups: it also finds a child forked in the
instant before racecheck could name it, and it never signals a group id that an
unrelated process has taken over since. racecheck tells the keeper each group it
starts and lets go of (``+pgid``/``-pgid``, which doubles as a check that the keeper
still lives); when the last is let go of it says goodbye and the keeper leaves
without looking.

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
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

_REPO_ROOT = Path(__file__).resolve().parents[2]
_KEEPER_EXIT_WAIT = 5.0
VARIABLE = "RACECHECK_LIFELINE"
_BYE = "bye\n"  # a clean close: nothing is being born, nothing to hunt for
_SECOND_LOOK = 0.5  # seconds: a child caught between fork and exec has exec'd by then


class Lifeline:
    """This process's end of the pipe to its keeper, and the groups it holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self._keeper: subprocess.Popen[bytes] | None = None
        self._pipe: int | None = None
        self.token = _new_token()

    def child_env(self, env: Mapping[str, str] | None) -> dict[str, str]:
        """The environment for a child: ``env`` (or ours) with this process's token."""
        return {**(os.environ if env is None else env), VARIABLE: self.token}

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
                [sys.executable, "-m", "loadtests.target.lifeline", self.token],
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
            self._close(clean=False)
            return False
        return True

    def _close(self, clean: bool = True) -> None:
        """Close our end; ``clean``: say goodbye first, so the keeper hunts for nothing."""
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                if clean:
                    os.write(self._pipe, _BYE.encode("ascii"))
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
        self.token = _new_token()


def _new_token() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex}"


def _pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


# Why module level: the lifeline belongs to the process, not to any object in it;
# every start_process in this process shares the one keeper.
LIFELINE = Lifeline()
os.register_at_fork(after_in_child=LIFELINE.forget_after_fork)


def keep(stream: BinaryIO, token: str) -> None:
    """The keeper: wait for end-of-file; unless told goodbye, kill the token's carriers."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    for line in stream:
        if line.strip() == _BYE.strip().encode():
            return  # a clean close: every child was stopped, nothing is being born
    _kill_groups(_carriers(token))
    time.sleep(_SECOND_LOOK)
    _kill_groups(_carriers(token))


def _carriers(token: str) -> set[int]:
    """Process groups of the live processes whose environment carries ``token``."""
    needle = f"{VARIABLE}={token}".encode()
    groups = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as environ:
                variables = environ.read().split(b"\0")
                if needle in variables:
                    groups.add(os.getpgid(int(entry.name)))
                    _remove_scratch(variables)
        except OSError:  # gone while we looked, or not ours to read
            continue
    groups.discard(os.getpgrp())
    return {pgid for pgid in groups if pgid > 1}


def _remove_scratch(variables: list[bytes]) -> None:
    """Remove a carrier's scratch folder (the sqlite build's database) before its group
    dies: its launcher would have, and the target's own parent watch is about to be
    SIGKILLed with it."""
    prefix = b"RACECHECK_SCRATCH_DIR="
    for variable in variables:
        if variable.startswith(prefix):
            folder = Path(os.fsdecode(variable[len(prefix) :]))
            if folder.name.startswith("racecheck-db-"):
                shutil.rmtree(folder, ignore_errors=True)


def _kill_groups(groups: Iterable[int]) -> None:
    # SIGKILL, not SIGTERM: nobody is left to wait for a graceful exit, and Locust's
    # graceful exit would first fire its final requests at a dead port.
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


if __name__ == "__main__":
    keep(sys.stdin.buffer, sys.argv[1])
