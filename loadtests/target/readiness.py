"""When a started target is ready, found without changing what the run measures.

Without a ``health`` path racecheck sends the app no request at all: the server process
says "the app is loaded" over a pipe (:func:`signal_ready`, called by
``loadtests.target.serve`` just before it starts serving on the socket the launcher
bound), so a page-visit counter on ``/`` is not bumped by a probe. With a ``health``
path, that path is polled until it answers 200; a 404 or 405 there is a typo in the
target file, refused at once rather than after the whole ready timeout.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable

from loadtests.errors import UsageError

# Statuses that mean "no such route here": waiting longer will not change them.
NO_SUCH_ROUTE = (404, 405)


class HealthPathError(UsageError):
    """The declared health path is not a route of the app (a 404 or 405): exit 2."""


class ReadyPipe:
    """A pipe the server process writes one byte to once its app is loaded."""

    def __init__(self) -> None:
        self.read_fd, self.child_fd = os.pipe()
        os.set_inheritable(self.child_fd, True)

    def parent_side(self) -> None:
        """Close the child's end here, so the child's death reads as end of file."""
        if self.child_fd >= 0:
            os.close(self.child_fd)
            self.child_fd = -1

    def wait(self, deadline: float, alive: Callable[[], bool]) -> bool:
        """True once the child says it is ready; False at the deadline or its death."""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.read_fd], [], [], 0.05)
            if ready:
                return os.read(self.read_fd, 16) != b""  # b"": the child closed it unready
            if not alive():
                return False
        return False

    def close(self) -> None:
        """Close whatever is still open; idempotent."""
        self.parent_side()
        if self.read_fd >= 0:
            os.close(self.read_fd)
            self.read_fd = -1


def signal_ready(fd: int | None) -> None:
    """In the server process: tell the launcher the app is loaded (no-op without a pipe)."""
    if fd is None:
        return
    try:
        os.write(fd, b"1")
    finally:
        os.close(fd)


def health_refused(path: str, status: int, where: str) -> HealthPathError:
    """The error for a health path that is no route of the app, with the fix."""
    return HealthPathError(
        f"GET {path} answered HTTP {status}: {where} names a health path the app does not"
        f' have. Fix it to a route that answers 200 (e.g. health = "/health"), or remove it:'
        " racecheck then knows the app is ready when it has loaded, and sends it no request."
    )
