"""A per-item like counter read back as JSON: a target app that nobody here wrote.

``POST /like/<item>`` answers ``{"likes": n}`` (the count this handler wrote) and
``GET /likes`` answers ``{"a": n, ...}``. ``create_app`` guards the counts with a
lock; ``create_racy_app`` reads, pauses and writes without one, the way a handler
that does I/O between the read and the write loses likes.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import AbstractContextManager, nullcontext

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

# Long enough that, on a loaded machine, other threads surely read the same value.
RACE_WINDOW = 0.0005


class Likes:
    """The counts, and the lock that the correct build holds around each update."""

    def __init__(self, *, locked: bool) -> None:
        self.lock: AbstractContextManager[object] = threading.Lock() if locked else nullcontext()
        self.pause = 0.0 if locked else RACE_WINDOW
        self.counts: dict[str, int] = {}

    def like(self, item: str) -> int:
        with self.lock:
            seen = self.counts.get(item, 0)
            time.sleep(self.pause)  # stands in for I/O between the read and the write
            self.counts[item] = seen + 1
            return seen + 1

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)


def _build(*, locked: bool) -> Flask:
    app = Flask(__name__)
    app.extensions["likes"] = Likes(locked=locked)

    def likes() -> Likes:
        state: Likes = app.extensions["likes"]
        return state

    @app.post("/like/<item>")
    def like(item: str) -> ResponseReturnValue:
        return jsonify(likes=likes().like(item), pid=os.getpid())

    @app.get("/likes")
    def all_likes() -> ResponseReturnValue:
        return jsonify(likes().snapshot())

    return app


def create_app() -> Flask:
    """The correct build: one lock around every read-modify-write."""
    return _build(locked=True)


def create_racy_app() -> Flask:
    """The racy build: read, pause, write, with nothing to stop two threads interleaving."""
    return _build(locked=False)
