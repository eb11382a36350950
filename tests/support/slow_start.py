"""A second locustfile that makes Locust's start-up slow, as a loaded machine does.

``RACECHECK_TEST_SLOW`` says where: ``import`` (while this file loads, after gevent's
hub exists) or ``init`` (in an init listener that runs after racecheck's own). The
CPU is held (no sleep), so gevent's loop does not run and its clock stands still.
"""

from __future__ import annotations

import os
import time
from typing import Any

import gevent
from locust import events  # noqa: TID251 (a test's locustfile, loaded by Locust only)

SECONDS = 2.5


def _hold() -> None:
    until = time.monotonic() + SECONDS
    while time.monotonic() < until:
        pass


gevent.get_hub()  # the hub, and with it the loop's clock, exists before the slow part
if os.environ.get("RACECHECK_TEST_SLOW") == "import":
    _hold()


@events.init.add_listener
def _slow_init(**_: Any) -> None:
    if os.environ.get("RACECHECK_TEST_SLOW") == "init":
        _hold()
