"""A page-visit counter, the way tutorials write one: every GET / counts itself.

The only way to read the count is to visit the page, which adds one: racecheck's own
reads must be declared (``read.increments = 1``) and accounted for. ``VISITS_MODE=racy``
picks the unguarded build, anything else the locked one. It has no /health route, and
its count need not start at zero (``VISITS_START``): the baseline read takes care of it.
"""

from __future__ import annotations

import os
import threading
import time

from flask import Flask

RACE_WINDOW = 0.0005


def create_app() -> Flask:
    """The visit counter; racy or locked by VISITS_MODE (read once, here at the edge)."""
    app = Flask(__name__)
    racy = os.environ.get("VISITS_MODE") == "racy"
    lock = threading.Lock()
    state = {"visits": int(os.environ.get("VISITS_START", "0"))}

    @app.get("/")
    def index() -> str:
        if racy:
            seen = state["visits"]
            time.sleep(RACE_WINDOW)  # stands in for a template render between read and write
            state["visits"] = seen + 1
        else:
            with lock:
                state["visits"] += 1
        return f"<p>You are visitor number <b>{state['visits']}</b></p>"

    return app
