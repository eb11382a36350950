"""A hit counter on a module global, as tutorials write it: ``hits += 1``.

``app`` is the textbook version; ``locked_app`` is its twin with a lock. Under CPython
3.11's GIL the textbook version loses nothing (no switch point between the read and the
write); under ``--preempt`` (and on free-threaded CPython) it loses hits.
"""

from __future__ import annotations

import threading

from flask import Flask

app = Flask(__name__)
hits = 0


@app.post("/hit")
def hit() -> dict[str, int]:
    global hits  # noqa: PLW0603 (as tutorials write it)
    hits += 1
    return {"hits": hits}  # a re-read of the global: the target file says reply = "reread"


@app.get("/hits")
def count() -> dict[str, int]:
    return {"hits": hits}


locked_app = Flask(__name__)
locked_hits = 0
lock = threading.Lock()


@locked_app.post("/hit")
def locked_hit() -> dict[str, int]:
    global locked_hits  # noqa: PLW0603 (as tutorials write it)
    with lock:
        locked_hits += 1
        return {"hits": locked_hits}  # read under the lock: the value this handler wrote


@locked_app.get("/hits")
def locked_count() -> dict[str, int]:
    return {"hits": locked_hits}
