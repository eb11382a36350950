"""A task store that keeps its tasks in a JSON file, as tutorials write it.

``POST /tasks`` with ``{"title": ...}`` reads the file, numbers the new task
``max(id) + 1``, appends it and writes the file back; ``GET /tasks`` answers the list.
Between the read and the write other requests do the same: tasks vanish and ids
repeat. ``create_app`` holds a lock around the read-modify-write; ``create_racy_app``
does not.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask.typing import ResponseReturnValue


class TaskFile:
    """The tasks on disk; ``lock`` guards the read-modify-write in the correct build."""

    def __init__(self, path: Path, *, locked: bool) -> None:
        self.path = path
        self.lock: AbstractContextManager[object] = threading.Lock() if locked else nullcontext()
        self.path.write_text("[]")

    def load(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = json.loads(self.path.read_text() or "[]")
        return tasks

    def add(self, title: str) -> dict[str, Any]:
        with self.lock:
            tasks = self.load()
            task = {"id": max((t["id"] for t in tasks), default=0) + 1, "title": title}
            tasks.append(task)
            # Written aside and renamed into place, so a reader never sees half a file.
            aside = self.path.with_suffix(f".{threading.get_ident()}.tmp")
            aside.write_text(json.dumps(tasks))
            aside.replace(self.path)
            return task


def _build(*, locked: bool) -> Flask:
    app = Flask(__name__)
    fd, name = tempfile.mkstemp(prefix="racecheck-tasks-", suffix=".json")
    os.close(fd)
    # racecheck stops its targets with SIGTERM, which unwinds cleanly: atexit runs.
    atexit.register(Path(name).unlink, missing_ok=True)
    store = TaskFile(Path(os.environ.get("TASKS_FILE", name)), locked=locked)

    @app.get("/health")
    def health() -> ResponseReturnValue:
        return {"status": "ok"}

    @app.post("/tasks")
    def add() -> ResponseReturnValue:
        body = request.get_json(silent=True) or {}
        return store.add(str(body.get("title", ""))), 201

    @app.get("/tasks")
    def tasks() -> ResponseReturnValue:
        with store.lock:
            return {"tasks": store.load()}

    return app


def create_app() -> Flask:
    """The correct build: one lock around the file's read-modify-write."""
    return _build(locked=True)


def create_racy_app() -> Flask:
    """The racy build: read, renumber, write, with nothing between two threads."""
    return _build(locked=False)
