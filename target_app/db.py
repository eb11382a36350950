"""SQLite plumbing for the sqlite build: the file, its schema and one connection per request."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import weakref
from collections.abc import Callable

from flask import Flask, g

# Seconds a writer waits for another's lock before giving up. Every statement is short, so
# waiting (rather than failing with "database is locked") is what keeps busy runs free of 500s.
BUSY_TIMEOUT = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS resolutions (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    text      TEXT    NOT NULL,
    state     TEXT    NOT NULL CHECK (state IN ('voting', 'closed')),
    yes_count INTEGER NOT NULL DEFAULT 0,
    no_count  INTEGER NOT NULL DEFAULT 0
);
-- At most one resolution is open at a time, enforced by the database itself.
CREATE UNIQUE INDEX IF NOT EXISTS one_open_resolution
    ON resolutions (state) WHERE state = 'voting';
"""

_G_KEY = "racecheck_db"


def connect(path: str) -> sqlite3.Connection:
    """Open a connection in autocommit mode that waits for busy writers."""
    # isolation_level=None: each statement is its own transaction, so nothing holds a lock
    # between statements and the single UPDATE ... RETURNING is the whole read-modify-write.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def init_schema(path: str) -> None:
    """Create the tables if missing and switch the file to WAL so readers never block writers."""
    with contextlib.closing(connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)


def temporary_database(app: Flask) -> str:
    """Create a fresh database file for `app` and remove it when the app goes away."""
    fd, path = tempfile.mkstemp(prefix="racecheck-", suffix=".sqlite3")
    os.close(fd)
    # The file is named here, in the process that calls create_app, so workers forked from it
    # (gunicorn --preload) share it; only this process may delete it, not a forked worker.
    weakref.finalize(app, _remove_files, path, os.getpid())
    return path


def _remove_files(path: str, owner_pid: int) -> None:
    if os.getpid() != owner_pid:
        return
    for name in (path, f"{path}-wal", f"{path}-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def request_connection(path: str) -> Callable[[], sqlite3.Connection]:
    """Return a getter for the current request's connection, opened on first use."""

    def get() -> sqlite3.Connection:
        conn: sqlite3.Connection | None = g.get(_G_KEY)
        if conn is None:
            conn = connect(path)
            setattr(g, _G_KEY, conn)
        return conn

    return get


def close_request_connection(_exc: BaseException | None = None) -> None:
    """Close the request's connection, if it opened one (a teardown_appcontext hook)."""
    conn: sqlite3.Connection | None = g.pop(_G_KEY, None)
    if conn is not None:
        conn.close()
