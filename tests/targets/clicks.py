"""A click counter shown only inside an HTML page: a target app that nobody here wrote.

``POST /click`` and ``GET /`` both answer a page that says ``Count: <b>n</b>``; after a
click, n is the count this handler wrote. There is no JSON anywhere, so racecheck
reads it with a regex. ``CLICKS_MODE=racy`` in the environment picks the unguarded
build (the way many small apps switch behaviour), anything else the locked one.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import AbstractContextManager, nullcontext

from flask import Flask, render_template_string
from flask.typing import ResponseReturnValue

RACE_WINDOW = 0.0005

PAGE = """<!doctype html>
<title>Clicks</title>
<h1>Click counter</h1>
<p>Count: <b>{{ count }}</b></p>
<form method="post" action="/click"><button>Click</button></form>
"""


class Clicks:
    """One counter; ``locked`` decides whether a lock guards its read-modify-write."""

    def __init__(self, *, locked: bool) -> None:
        self.lock: AbstractContextManager[object] = threading.Lock() if locked else nullcontext()
        self.pause = 0.0 if locked else RACE_WINDOW
        self.count = 0

    def click(self) -> int:
        with self.lock:
            seen = self.count
            time.sleep(self.pause)  # stands in for I/O between the read and the write
            self.count = seen + 1
            return seen + 1


def create_app() -> Flask:
    """The click counter, racy or locked by CLICKS_MODE (read once, here at the edge)."""
    app = Flask(__name__)
    app.extensions["clicks"] = Clicks(locked=os.environ.get("CLICKS_MODE") != "racy")

    def clicks() -> Clicks:
        state: Clicks = app.extensions["clicks"]
        return state

    @app.get("/")
    def index() -> ResponseReturnValue:
        return render_template_string(PAGE, count=clicks().count)

    @app.post("/click")
    def click() -> ResponseReturnValue:
        return render_template_string(PAGE, count=clicks().click())

    return app
