"""Tickets that lose nothing without a lock, but whose reply re-reads shared state.

``next()`` on an ``itertools.count`` and ``list.append`` are single C calls, atomic under
the GIL even with forced switches between bytecodes; the reply reads ``len(issued)``
back, which may already include another request's ticket. Two replies can then carry
the same number with nothing lost: under ``--preempt`` this must not FAIL, and it does
not because its target file says reply = "reread".
"""

from __future__ import annotations

import itertools

from flask import Flask

app = Flask(__name__)
numbers = itertools.count(1)
issued: list[int] = []


@app.post("/ticket")
def take() -> dict[str, int]:
    issued.append(next(numbers))
    return {"issued": len(issued)}  # read back: may count a later ticket too


@app.get("/tickets")
def count() -> dict[str, int]:
    return {"issued": len(issued)}
