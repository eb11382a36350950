"""A correct (locked) hit counter whose every 7th reply is JSON nested 100,000 deep.

Parsing such a reply raises RecursionError, not ValueError: once, that exception killed
the client thread that met it, silently, and with every thread gone a run of 3,000
requested votes said PASS after 320. The hit still counted on the server, so the
client must record it as an unknown outcome (``info``) and go on voting.
"""

from __future__ import annotations

import os
import threading

from flask import Flask, Response, jsonify
from flask.typing import ResponseReturnValue

ODD_EVERY = 7
DEPTH = 100_000


def create_app() -> Flask:
    """The counter."""
    app = Flask(__name__)
    lock = threading.Lock()
    counts = {"hits": 0}

    @app.post("/hit")
    def hit() -> ResponseReturnValue:
        with lock:
            counts["hits"] += 1
            hits = counts["hits"]
        if hits % ODD_EVERY == 0:
            return Response("[" * DEPTH + "]" * DEPTH, mimetype="application/json")
        return jsonify(hits=hits, pid=os.getpid())

    @app.get("/hits")
    def read() -> ResponseReturnValue:
        with lock:
            return jsonify(hits=counts["hits"], pid=os.getpid())

    return app
