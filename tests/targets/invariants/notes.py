"""Notes in sqlite through one connection shared by every request thread.

Tutorials that meet "SQLite objects created in a thread can only be used in that same
thread" often silence it with ``check_same_thread=False`` and share one connection.
Each ``POST /notes`` runs ``BEGIN IMMEDIATE; INSERT; COMMIT``; on a shared connection
two requests' transactions collide ("cannot start a transaction within a
transaction") and the loser answers 500. A single client never sees it. The correct
build opens a connection per request (Flask's ``g``), as the Flask tutorial does.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import Flask, g, request
from flask.typing import ResponseReturnValue

SCHEMA = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"


def _database() -> str:
    fd, path = tempfile.mkstemp(prefix="racecheck-notes-", suffix=".sqlite")
    os.close(fd)
    # racecheck stops its targets with SIGTERM, which unwinds cleanly: atexit runs.
    atexit.register(Path(path).unlink, missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(SCHEMA)
    return path


def _routes(app: Flask, db: Callable[[], sqlite3.Connection]) -> None:
    @app.get("/health")
    def health() -> ResponseReturnValue:
        return {"status": "ok"}

    @app.post("/notes")
    def add() -> ResponseReturnValue:
        text = (request.get_json(silent=True) or {}).get("text", "")
        conn = db()
        conn.execute("BEGIN IMMEDIATE")
        cursor = conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
        conn.execute("COMMIT")
        return {"id": cursor.lastrowid, "text": text}, 201

    @app.get("/notes")
    def notes() -> ResponseReturnValue:
        return {"notes": [row[0] for row in db().execute("SELECT text FROM notes")]}

    @app.get("/notes/count")
    def count() -> ResponseReturnValue:
        return {"count": db().execute("SELECT COUNT(*) FROM notes").fetchone()[0]}


def create_racy_app() -> Flask:
    """One connection for every thread (check_same_thread=False)."""
    app = Flask(__name__)
    shared = sqlite3.connect(_database(), check_same_thread=False, isolation_level=None)
    _routes(app, lambda: shared)
    return app


def create_app() -> Flask:
    """A connection per request, closed when the request ends."""
    app = Flask(__name__)
    path = _database()

    def connection() -> sqlite3.Connection:
        if "db" not in g:
            g.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn: sqlite3.Connection = g.db
        return conn

    @app.teardown_appcontext
    def close(_: BaseException | None) -> None:
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()

    _routes(app, connection)
    return app
