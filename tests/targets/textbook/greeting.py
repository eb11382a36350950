"""Per-request data kept in a module global, as beginners write it.

The reply must carry this request's own name; with the global, another request's name
can leak into it: greeting_racy.toml judges it with the echo check (under ``--preempt``).
"""

from __future__ import annotations

import threading

from flask import Flask, request

app = Flask(__name__)
current_name = ""


@app.post("/hello")
def hello() -> dict[str, str]:
    global current_name  # noqa: PLW0603 (as tutorials write it)
    current_name = request.form.get("name", "")
    greeting = "Hello, " + current_name
    return {"greeting": greeting}


locked_app = Flask(__name__)
locked_name = ""
lock = threading.Lock()


@locked_app.post("/hello")
def locked_hello() -> dict[str, str]:
    global locked_name  # noqa: PLW0603 (as tutorials write it)
    with lock:
        locked_name = request.form.get("name", "")
        greeting = "Hello, " + locked_name
    return {"greeting": greeting}
