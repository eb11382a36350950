"""Stock sold with check-then-act, as tutorials write it: ``if stock > 0: stock -= 1``.

Two buyers can both see the last item and both buy it: stock goes below zero, or more
sales are acknowledged than there was stock. Under ``--preempt`` even ``stock -= 1``
loses updates; stock_racy.toml judges it with the stock checks (floor, conservation,
oversell).
"""

from __future__ import annotations

import threading

from flask import Flask
from flask.typing import ResponseReturnValue

INITIAL_STOCK = 100

app = Flask(__name__)
stock = INITIAL_STOCK


@app.post("/buy")
def buy() -> ResponseReturnValue:
    global stock  # noqa: PLW0603 (as tutorials write it)
    if stock > 0:
        stock -= 1
        return {"left": stock}
    return {"error": "sold out"}, 409


@app.get("/stock")
def left() -> dict[str, int]:
    return {"left": stock}


locked_app = Flask(__name__)
locked_stock = INITIAL_STOCK
lock = threading.Lock()


@locked_app.post("/buy")
def locked_buy() -> ResponseReturnValue:
    global locked_stock  # noqa: PLW0603 (as tutorials write it)
    with lock:
        if locked_stock > 0:
            locked_stock -= 1
            return {"left": locked_stock}
    return {"error": "sold out"}, 409


@locked_app.get("/stock")
def locked_left() -> dict[str, int]:
    return {"left": locked_stock}
