"""What a role (master side, worker side) sees of the racecheck node it sits in.

The roles are typed against this, not against ``Node``, which builds them: so the
node imports the roles and neither role imports the node.
"""

from __future__ import annotations

from typing import Any, Protocol

from locust.env import Environment


class Seat(Protocol):
    """The node as its roles use it."""

    environment: Environment
    role: str  # "master", "worker" or "local"

    @property
    def runner(self) -> Any:
        """The Locust runner."""
        ...

    @property
    def headless(self) -> bool:
        """True when no web UI drives the run."""
        ...

    def end_test(self) -> None:
        """End the test as if its run time were up or Stop were pressed."""
        ...
