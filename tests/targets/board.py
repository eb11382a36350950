"""A meeting board: the chair logs in and opens a motion, then members vote on it.

Written the way a tutorial would: a login that keeps the user in Flask's signed
session cookie, state in module-level memory guarded by a lock. ``POST /motion``
(open a motion) needs a login; ``POST /support`` counts a vote on the open motion and
answers 409 when none is open; ``GET /support`` reads the count. A restart forgets the
motion, so whoever reopens it has to log in again first.
"""

from __future__ import annotations

import threading

from flask import Flask, jsonify, request, session

app = Flask(__name__)
app.config["SECRET_KEY"] = "board-secret"
lock = threading.Lock()
motion: dict[str, int | str | None] = {"title": None, "support": 0}


@app.post("/login")
def login():  # type: ignore[no-untyped-def]
    if request.form.get("password") != "chair":
        return jsonify(error="wrong password: log in with password=chair"), 403
    session["user"] = request.form.get("username", "chair")
    return jsonify(user=session["user"])


@app.post("/motion")
def open_motion():  # type: ignore[no-untyped-def]
    if "user" not in session:
        return jsonify(error="log in first: POST /login with username and password"), 401
    with lock:
        motion["title"], motion["support"] = request.form.get("title", "motion"), 0
    return jsonify(title=motion["title"])


@app.post("/support")
def support():  # type: ignore[no-untyped-def]
    with lock:
        if motion["title"] is None:
            return jsonify(error="no motion is open: POST /motion first"), 409
        motion["support"] = int(motion["support"] or 0) + 1
        return jsonify(support=motion["support"])


@app.get("/support")
def read_support():  # type: ignore[no-untyped-def]
    return jsonify(support=motion["support"])
