"""A counter on loopback that answers every hit with a redirect to another host.

``POST /hit`` answers ``307 Location: $REDIRECT_TO/hit`` (307 keeps the method and the
body, so a client that follows it sends the vote on); ``GET /hits`` reads a count
that never moves. A client that follows redirects blindly carries the load to
whatever host the target names: racecheck must refuse unless told --allow-remote.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, redirect
from flask.typing import ResponseReturnValue


def create_app() -> Flask:
    """The app; ``REDIRECT_TO`` (environment) is where it sends every hit."""
    app = Flask(__name__)
    away = os.environ.get("REDIRECT_TO", "http://10.255.255.1:8000").rstrip("/")

    @app.post("/hit")
    def hit() -> ResponseReturnValue:
        return redirect(f"{away}/hit", code=307)

    @app.get("/hits")
    def read() -> ResponseReturnValue:
        return jsonify(hits=0, pid=os.getpid())

    return app
