"""A greeting page that keeps the submitted form in a global, as beginners write it.

``POST /greet`` with a form field ``name`` answers "Hello, <name>!". The racy build
stores ``request.form`` in a module-level variable, logs the visit (a short pause:
I/O) and renders from the variable, so under load a reply greets somebody else. The
correct build keeps the form in a local variable, as Flask intends.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, render_template_string, request
from flask.typing import ResponseReturnValue

PAGE = "<p>Hello, <b>{{ name }}</b>!</p>"
LOG_VISIT = 0.0005  # seconds: writing the visit to a log

req: Any = None


def create_racy_app() -> Flask:
    """The racy build: per-request data in a global."""
    app = Flask(__name__)

    @app.get("/health")
    def health() -> ResponseReturnValue:
        return {"status": "ok"}

    @app.post("/greet")
    def greet() -> ResponseReturnValue:
        global req  # noqa: PLW0603 (as beginners write it)
        req = request.form
        time.sleep(LOG_VISIT)
        return render_template_string(PAGE, name=req["name"])

    return app


def create_app() -> Flask:
    """The correct build: the form stays in the request."""
    app = Flask(__name__)

    @app.get("/health")
    def health() -> ResponseReturnValue:
        return {"status": "ok"}

    @app.post("/greet")
    def greet() -> ResponseReturnValue:
        form = request.form
        time.sleep(LOG_VISIT)
        return render_template_string(PAGE, name=form["name"])

    return app
