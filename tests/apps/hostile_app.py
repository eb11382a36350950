"""The reference app made hostile: replies crafted to crash or exhaust a careless harness.

``deep_final``: every tally is JSON nested 100,000 deep (json.loads raises RecursionError).
``doubling_counts``: vote n returns the count 2**n, so an index keyed by count that
allocates up to the largest count doubles its memory on every vote.
"""

from __future__ import annotations

import itertools
import json

from flask import Flask, Response, request

from target_app import create_app

DEPTH = 100_000


def deep_final() -> Flask:
    """Votes are honest; every read of the tally is a JSON bomb of nesting."""
    app = create_app({"BUILD": "locked"})

    @app.after_request
    def deepen(response: Response) -> Response:
        if request.path == "/api/tally":
            response.set_data("[" * DEPTH + "]" * DEPTH)
        return response

    return app


def doubling_counts() -> Flask:
    """Every acknowledged vote returns a count twice the last one's."""
    app = create_app({"BUILD": "locked"})
    numbers = itertools.count(1)
    app.extensions["hostile_numbers"] = numbers

    @app.after_request
    def craft(response: Response) -> Response:
        if request.path == "/api/votes" and response.status_code == 200:
            body = json.loads(response.get_data(as_text=True))
            body["count"] = 2 ** next(numbers)
            response.set_data(json.dumps(body))
        return response

    return app
