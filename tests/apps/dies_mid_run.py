"""A correct (locked) hit counter that dies on its Nth hit: a target that crashes mid-run.

``POST /hit`` answers ``{"hits": n, "pid": pid}``; ``GET /hits`` answers ``{"hits": n,
"pid": pid}``. On hit number ``DIES_AT_HIT`` (environment, default 500) the process
calls ``os._exit(DIES_WITH)`` (default 3), the way a segfaulting C extension or an
out-of-memory kill ends a server: no exception, no reply, no cleanup. Under werkzeug
or waitress the whole server is gone; under gunicorn only the worker, and the
arbiter starts a fresh one with empty memory.
"""

from __future__ import annotations

import os
import sys
import threading

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue


def create_app() -> Flask:
    """The counter; it reads when to die from the environment."""
    app = Flask(__name__)
    dies_at = int(os.environ.get("DIES_AT_HIT", "500"))
    status = int(os.environ.get("DIES_WITH", "3"))
    lock = threading.Lock()
    counts = {"hits": 0}

    @app.post("/hit")
    def hit() -> ResponseReturnValue:
        with lock:
            counts["hits"] += 1
            hits = counts["hits"]
        if hits == dies_at:
            print(f"dies_mid_run: hit {hits}, exiting with status {status}", file=sys.stderr)
            sys.stderr.flush()
            os._exit(status)
        return jsonify(hits=hits, pid=os.getpid())

    @app.get("/hits")
    def read() -> ResponseReturnValue:
        with lock:
            return jsonify(hits=counts["hits"], pid=os.getpid())

    return app
