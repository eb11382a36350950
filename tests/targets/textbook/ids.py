"""An id generator on a module global, as tutorials write it: ``next_id += 1``.

Two requests that read the same ``next_id`` hand out the same id; today's checks see it
as a lost increment of the counter (the final ``next_id`` is short), and
ids_unique_racy.toml as two creates that share an id (the unique-ids check).
"""

from __future__ import annotations

import threading

from flask import Flask

app = Flask(__name__)
next_id = 0


@app.post("/items")
def create() -> dict[str, int]:
    global next_id  # noqa: PLW0603 (as tutorials write it)
    next_id += 1
    return {"id": next_id}  # a re-read: reply = "reread"


@app.get("/items/last")
def last() -> dict[str, int]:
    return {"id": next_id}


locked_app = Flask(__name__)
locked_next_id = 0
lock = threading.Lock()


@locked_app.post("/items")
def locked_create() -> dict[str, int]:
    global locked_next_id  # noqa: PLW0603 (as tutorials write it)
    with lock:
        locked_next_id += 1
        return {"id": locked_next_id}


@locked_app.get("/items/last")
def locked_last() -> dict[str, int]:
    return {"id": locked_next_id}
