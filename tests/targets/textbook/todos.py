"""A to-do list that numbers items by the list's length, as tutorials write it.

``todos.append`` itself is one C call and loses nothing, even under ``--preempt``; the
race is the number: two requests that read the same ``len(todos)`` give two items one id.
todos_racy.toml judges it with the unique-ids check (under ``--preempt``).
"""

from __future__ import annotations

import threading

from flask import Flask, request

app = Flask(__name__)
todos: list[dict[str, object]] = []


@app.post("/todos")
def add() -> dict[str, object]:
    item = {"id": len(todos) + 1, "text": request.form.get("text", "")}
    todos.append(item)
    return item


@app.get("/todos")
def all_todos() -> dict[str, object]:
    return {"count": len(todos), "ids": [t["id"] for t in todos]}


locked_app = Flask(__name__)
locked_todos: list[dict[str, object]] = []
lock = threading.Lock()


@locked_app.post("/todos")
def locked_add() -> dict[str, object]:
    with lock:
        item = {"id": len(locked_todos) + 1, "text": request.form.get("text", "")}
        locked_todos.append(item)
    return item


@locked_app.get("/todos")
def locked_all_todos() -> dict[str, object]:
    with lock:
        return {"count": len(locked_todos), "ids": [t["id"] for t in locked_todos]}
