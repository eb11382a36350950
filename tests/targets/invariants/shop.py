"""A shop that sells from a stock with check-then-act, as tutorials write it.

``POST /buy`` answers "bought, N left" while there is stock, and a "sold out" page
(status 200) after; ``GET /stock`` answers ``{"stock": n}``. The racy build reads the
stock, looks the price up (a short pause standing in for a database call) and writes
the stock less one back: two buyers who read the same stock sell two items and take
one, so more sales are acknowledged than there was stock. ``create_app`` holds a lock
across the whole sale.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import AbstractContextManager, nullcontext

from flask import Flask
from flask.typing import ResponseReturnValue

PRICE_LOOKUP = 0.0005  # seconds: the I/O between the check and the act


class Shop:
    """The stock; ``lock`` makes each sale one step in the correct build."""

    def __init__(self, stock: int, *, locked: bool) -> None:
        self.stock = stock
        self.lock: AbstractContextManager[object] = threading.Lock() if locked else nullcontext()

    def buy(self) -> int | None:
        with self.lock:
            left = self.stock  # as read from a database row
            if left > 0:
                time.sleep(PRICE_LOOKUP)
                self.stock = left - 1  # written back
                return left - 1
            return None


def _build(*, locked: bool) -> Flask:
    app = Flask(__name__)
    shop = Shop(int(os.environ.get("SHOP_STOCK", "100")), locked=locked)

    @app.get("/health")
    def health() -> ResponseReturnValue:
        return {"status": "ok"}

    @app.post("/buy")
    def buy() -> ResponseReturnValue:
        left = shop.buy()
        if left is None:
            return "<p>Sorry, sold out!</p>"
        return f"<p>Bought one, {left} left.</p>"

    @app.get("/stock")
    def stock() -> ResponseReturnValue:
        return {"stock": shop.stock}

    return app


def create_app() -> Flask:
    """The correct build: the check and the act under one lock."""
    return _build(locked=True)


def create_racy_app() -> Flask:
    """The racy build: check, pause, act."""
    return _build(locked=False)
