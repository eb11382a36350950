"""A like counter whose handler sometimes raises, as one on a busy SQLite file does.

Every fifth like raises ``RuntimeError("database is locked")`` before it counts: a 500,
an unknown outcome for racecheck, and a traceback in the target's log.
"""

from __future__ import annotations

import itertools
import threading

from flask import Flask


def create_app() -> Flask:
    """The flaky counter (locked, so it never loses a like it acknowledged)."""
    app = Flask(__name__)
    lock = threading.Lock()
    calls = itertools.count(1)
    state = {"likes": 0}

    @app.post("/like")
    def like() -> dict[str, int]:
        with lock:
            if next(calls) % 5 == 0:
                raise RuntimeError("database is locked")
            state["likes"] += 1
            return {"likes": state["likes"]}

    @app.get("/likes")
    def likes() -> dict[str, int]:
        return dict(state)

    return app
