"""A shopping cart kept in Flask's cookie session, the way tutorials keep one.

``POST /cart/add`` appends an item to ``session["cart"]`` and answers the cart's size;
``GET /cart`` answers it too. The whole cart travels in a signed cookie, so two tabs of
one user adding at once each write back their own copy, and one overwrites the other.
``CART_STORE=server`` keeps the items on the server instead (under a lock, keyed by a
cart id in the session): the fixed twin.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

from flask import Flask, session

RACE_WINDOW = 0.0005


def create_app() -> Flask:
    """The cart app; its store (cookie or server) from CART_STORE."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "tutorial-secret"
    on_server = os.environ.get("CART_STORE") == "server"
    lock = threading.Lock()
    carts: dict[str, list[str]] = {}

    def cart_id() -> str:
        if "cart_id" not in session:
            session["cart_id"] = uuid.uuid4().hex
        return str(session["cart_id"])

    @app.post("/cart/add")
    def add() -> dict[str, int]:
        if on_server:
            with lock:
                items = carts.setdefault(cart_id(), [])
                items.append("apple")
                return {"items": len(items)}
        cart = list(session.get("cart", []))
        time.sleep(RACE_WINDOW)  # stands in for a price lookup between read and write
        cart.append("apple")
        session["cart"] = cart
        return {"items": len(cart)}

    @app.get("/cart")
    def show() -> dict[str, int]:
        if on_server:
            with lock:
                return {"items": len(carts.get(cart_id(), []))}
        return {"items": len(session.get("cart", []))}

    return app
