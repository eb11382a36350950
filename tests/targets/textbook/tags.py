"""Per-tag counters in a defaultdict, as tutorials write them: ``counts[tag] += 1``."""

from __future__ import annotations

import threading
from collections import defaultdict

from flask import Flask

app = Flask(__name__)
counts: defaultdict[str, int] = defaultdict(int)


@app.post("/tag/<tag>")
def tag(tag: str) -> dict[str, int]:
    counts[tag] += 1
    return {"count": counts[tag]}  # a re-read: reply = "reread"


@app.get("/tags")
def all_tags() -> dict[str, int]:
    return dict(counts)


locked_app = Flask(__name__)
locked_counts: defaultdict[str, int] = defaultdict(int)
lock = threading.Lock()


@locked_app.post("/tag/<tag>")
def locked_tag(tag: str) -> dict[str, int]:
    with lock:
        locked_counts[tag] += 1
        return {"count": locked_counts[tag]}


@locked_app.get("/tags")
def locked_all_tags() -> dict[str, int]:
    with lock:
        return dict(locked_counts)
