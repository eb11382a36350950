"""Child processes in their own process groups: started, signalled and stopped by group.

Every child the harness runs (target servers, Locust master and workers, hey,
wrk) goes through :func:`start_process`. Stopping is SIGTERM to the group,
SIGKILL after a grace period, always by the recorded pgid, then reaped; nothing
is ever found or killed by name.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

from loadtests.errors import LaunchError, UsageError
from loadtests.target.lifeline import LIFELINE

_REAP_TIMEOUT = 5.0  # a SIGKILLed process can still take a moment to be reapable


class ManagedProcess:
    """One child in its own process group: stopped by group, reaped, never by name."""

    def __init__(
        self, popen: subprocess.Popen[bytes], argv: Sequence[str], log_path: Path | None
    ) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.pgid = popen.pid  # start_new_session made the child its group's leader
        self.argv = tuple(argv)
        self.log_path = log_path
        # Once the group is seen empty its pgid may be reused by an unrelated
        # process group, so from then on we never signal it again.
        self._gone = False
        _LIVE.add(self)
        # Killed with the group if racecheck dies, even by SIGKILL (see lifeline.py).
        LIFELINE.hold(self.pgid)

    def __repr__(self) -> str:
        return f"<ManagedProcess pid={self.pid} {' '.join(self.argv)[:80]!r}>"

    def poll(self) -> int | None:
        """The leader's exit status, or None while it runs."""
        return self._popen.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the leader to exit; None if it is still running at ``timeout``."""
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def group_pids(self) -> set[int]:
        """Pids of the live (non-zombie) processes in the group, read from /proc."""
        if self._gone:
            return set()
        pids = group_members(self.pgid)
        if not pids and self.poll() is not None:
            self._gone = True
            _LIVE.discard(self)
            LIFELINE.release(self.pgid)
        return pids

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the whole group, if anything of it is still alive."""
        if self.poll() is None or self.group_pids():
            with contextlib.suppress(ProcessLookupError):  # it ended just now
                os.killpg(self.pgid, sig)

    def kill(self) -> None:
        """SIGKILL the group now and reap the leader."""
        self.send_signal(signal.SIGKILL)
        self.wait(_REAP_TIMEOUT)
        self._await_empty_group(time.monotonic() + _REAP_TIMEOUT)

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM the group, SIGKILL it after ``grace`` seconds; reap; return the exit status."""
        deadline = time.monotonic() + grace
        self.send_signal(signal.SIGTERM)
        self.wait(grace)
        self._await_empty_group(deadline)
        if self.poll() is None or self.group_pids():
            self.kill()
        return self.poll()

    def _await_empty_group(self, deadline: float) -> None:
        # Members other than the leader (gunicorn workers) are not our children:
        # we cannot wait() for them, only watch them go.
        while self.group_pids() and time.monotonic() < deadline:
            time.sleep(0.02)


def group_members(pgid: int) -> set[int]:
    """Pids of the live processes in group ``pgid``, zombies excluded, read from /proc.

    Zombies do not count: an orphan's zombie waits for PID 1 to reap it, and a
    container's PID 1 may never do so, though the process is gone.
    """
    members = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
                fields = stat.read().rpartition(")")[2].split()
        except OSError:  # exited while we looked
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.add(int(entry.name))
    return members


# Why a module-level registry: it is the last line of defence, for a harness that
# dies of an exception nobody caught or is left without a stop() call; an atexit
# hook cannot be handed the objects, it has to find them. It holds weak references
# only, so it never keeps a handle alive and is no state of its own: just a view of
# the ManagedProcess objects that still exist.
_LIVE: weakref.WeakSet[ManagedProcess] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    processes = list(_LIVE)
    for process in processes:  # TERM all first, so their grace periods overlap
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 2.0
    for process in processes:
        process.stop(grace=max(0.0, deadline - time.monotonic()))


def start_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log_path: Path | None = None,
    pass_fds: Sequence[int] = (),
) -> ManagedProcess:
    """Start ``argv`` in a new process group; output to ``log_path`` (appended) or inherited.

    ``env`` replaces the environment when given (as with subprocess); extend
    ``os.environ`` yourself to add to it. stdin is /dev/null.
    """
    if not argv:
        raise UsageError("start_process needs a command to run")
    log = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
    try:
        popen = subprocess.Popen(
            list(argv),
            # With the lifeline's token, so the keeper finds it even if racecheck dies
            # before it could say the child exists.
            env=LIFELINE.child_env(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log is not None else None,
            pass_fds=tuple(pass_fds),
            start_new_session=True,
        )
    except OSError as exc:
        raise LaunchError(
            f"could not start {argv[0]!r}: {exc.strerror or exc}."
            " Check that it is installed in this environment and executable."
        ) from exc
    finally:
        if log is not None:
            log.close()  # the child has its own copy
    return ManagedProcess(popen, argv, log_path)
