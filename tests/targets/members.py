"""A members-only like counter behind a form login with a CSRF token, as tutorials build one.

``GET /login`` shows a form with a hidden ``csrf_token`` (kept in the session);
``POST /login`` checks it and the password, and remembers the user in the session.
``POST /like`` needs the login and the token (form field ``csrf_token`` or header
``X-CSRFToken``); ``GET /likes`` needs the login. ``MEMBERS_MODE=racy`` picks the unguarded counter.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

from flask import Flask, abort, redirect, request, session

RACE_WINDOW = 0.0005
FORM = """<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{token}">
<input name="username"> <input name="password" type="password"> <button>Log in</button>
</form>"""


def create_app() -> Flask:
    """The members' counter; racy or locked by MEMBERS_MODE."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "tutorial-secret"
    racy = os.environ.get("MEMBERS_MODE") == "racy"
    lock = threading.Lock()
    state = {"likes": 0}

    def check_csrf() -> None:
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
        if sent != session.get("csrf_token"):
            abort(400, "bad CSRF token")

    @app.get("/login")
    def login_form() -> str:
        session["csrf_token"] = token = secrets.token_hex(8)
        return FORM.format(token=token)

    @app.post("/login")
    def login() -> object:
        check_csrf()
        if request.form.get("password") != "hunter2":
            abort(403, "wrong password")
        session["user"] = request.form["username"]
        return redirect("/likes")

    @app.post("/like")
    def like() -> dict[str, int]:
        if "user" not in session:
            abort(401, "log in first")
        check_csrf()
        if racy:
            seen = state["likes"]
            time.sleep(RACE_WINDOW)
            state["likes"] = seen + 1
        else:
            with lock:
                state["likes"] += 1
        return {"likes": state["likes"]}

    @app.get("/likes")
    def likes() -> dict[str, object]:
        if "user" not in session:
            abort(401, "log in first")
        return {"likes": state["likes"], "user": session["user"]}

    return app
