"""A Flask app that is not the reference app, for the launcher's ``--app module:attr`` path.

It has no ``/health`` route on purpose: such targets are ready when ``/`` answers.
"""

from __future__ import annotations

import os

from flask import Flask


def create_app() -> Flask:
    """A factory that needs no arguments, like most apps' ``create_app``."""
    app = Flask(__name__)

    @app.get("/")
    def index() -> dict[str, object]:
        return {"app": "tiny", "pid": os.getpid()}

    return app


app = create_app()
