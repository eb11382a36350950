"""JSON error replies for the machine-facing routes: `{"error": "<what and what to do>", "pid"}`."""

from __future__ import annotations

import os
from typing import Final

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)

# Requests under these prefixes come from drivers and scripts; they get JSON, people get HTML.
JSON_PREFIXES: Final = ("/api/", "/health", "/_racecheck/")


def wants_json() -> bool:
    """Whether the current request is for a machine-facing route."""
    return request.path.startswith(JSON_PREFIXES) or request.path == "/api"


def message_for(error: HTTPException) -> str:
    """A message that says what went wrong and what to send instead."""
    if isinstance(error, NotFound) and not _has_own_description(error):
        return (
            f"no such endpoint: {request.method} {request.path}; "
            "the routes are listed in GET /api/openapi.json"
        )
    if isinstance(error, MethodNotAllowed) and not _has_own_description(error):
        allowed = ", ".join(sorted(set(error.valid_methods or ()) - {"HEAD", "OPTIONS"}))
        return f"{request.method} is not allowed on {request.path}; use {allowed}"
    if isinstance(error, RequestEntityTooLarge) and not _has_own_description(error):
        limit = request.max_content_length
        return f"request body too large; send at most {limit} bytes"
    if isinstance(error, InternalServerError) and not _has_own_description(error):
        # Say plainly that the outcome is unknown: the harness must record this as `info`.
        return (
            "the server failed while handling this request; it may or may not have taken "
            "effect, so check GET /api/tally before retrying"
        )
    return error.description or error.name


def _has_own_description(error: HTTPException) -> bool:
    # Werkzeug's class-level descriptions are generic prose; a description set on the
    # instance (abort(404, "...")) is ours and already says what to do.
    return error.description != type(error).description


def handle_http_exception(error: HTTPException) -> HTTPException | Response:
    """Turn an HTTP error on a JSON route into a JSON reply; leave HTML routes alone."""
    if not wants_json():
        return error
    # The pid says which server process refused: with several gunicorn workers a
    # refusal from a worker that never saw the round is the evidence of split state.
    response = jsonify(error=message_for(error), pid=os.getpid())
    response.status_code = error.code or 500
    # Keep the exception's own headers (Allow on 405) but not its text/html content type.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Register the JSON error handlers on `app`."""
    # Unhandled exceptions reach this handler as InternalServerError, a subclass of
    # HTTPException, so a crash on /api still answers JSON (with a 5xx: an `info` outcome).
    app.register_error_handler(HTTPException, handle_http_exception)
