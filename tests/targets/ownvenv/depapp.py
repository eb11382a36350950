"""A like counter that imports a package only its own venv has (``tinydep``).

Its target file names that venv's python; racecheck's own interpreter could not import
it. It keeps its count in ``likes.txt`` in its working directory, relative, as small
apps do, so the run needs ``cwd`` and a ``[[reset]]`` command that writes the file.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import tinydep  # type: ignore[import-not-found]  # only in the app's own venv
from flask import Flask

STORE = Path("likes.txt")


def create_app() -> Flask:
    """The counter, its count kept in likes.txt (which must exist: a reset writes it)."""
    app = Flask(__name__)
    lock = threading.Lock()
    STORE.read_text()  # fail at start, not at the first like, when the file is missing

    @app.post("/like")
    def like() -> dict[str, object]:
        with lock:
            likes = int(STORE.read_text()) + 1
            STORE.write_text(str(likes))
        return {"likes": likes}

    @app.get("/likes")
    def likes() -> dict[str, object]:
        return {"likes": int(STORE.read_text()), "dep": tinydep.NAME, "python": sys.prefix}

    return app
