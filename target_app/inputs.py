"""Reading and checking JSON request bodies; every refusal is a 400 that says what to send."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import abort, request


def refuse(message: str) -> NoReturn:
    """Stop the request with 400 and `message` (rendered as JSON by the error handlers)."""
    abort(400, description=message)


def json_object(hint: str) -> dict[str, Any]:
    """Return the request body as a JSON object, or refuse with `hint` on what to send."""
    if not request.is_json:
        refuse(f"the body must be JSON, sent with Content-Type: application/json; {hint}")
    # Reading the body here (not via get_json) lets us word the error ourselves; Werkzeug still
    # enforces MAX_CONTENT_LENGTH with a 413 as the data is read.
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        # ValueError covers bad syntax, bad UTF-8 and giant integers; RecursionError deep nesting.
        refuse(f"the body is not valid JSON; {hint}")
    if not isinstance(body, dict):
        refuse(f"the body must be a JSON object, not {_json_type(body)}; {hint}")
    return body


def text_field(
    body: dict[str, Any], key: str, *, max_length: int, hint: str, min_length: int = 1
) -> str:
    """Return body[key] as a string of min_length..max_length characters, or refuse."""
    value = body.get(key)
    if key not in body:
        refuse(f"missing field {key!r}; {hint}")
    if not isinstance(value, str):
        refuse(f"field {key!r} must be a string, not {_json_type(value)}; {hint}")
    if not min_length <= len(value) <= max_length:
        refuse(
            f"field {key!r} must have {min_length} to {max_length} characters, "
            f"got {len(value)}; {hint}"
        )
    if not encodable(value):
        refuse(f"field {key!r} contains invalid Unicode (a lone surrogate); {hint}")
    return value


def one_of(body: dict[str, Any], key: str, allowed: tuple[str, ...], *, hint: str) -> str:
    """Return body[key] if it is one of the `allowed` strings, or refuse."""
    if key not in body:
        refuse(f"missing field {key!r}; {hint}")
    value = body[key]
    if not isinstance(value, str) or value not in allowed:
        choices = " or ".join(f'"{name}"' for name in allowed)
        refuse(f"field {key!r} must be {choices}, got {_short(value)}; {hint}")
    return value


def seconds_field(body: dict[str, Any], key: str, *, maximum: float, hint: str) -> float:
    """Return body[key] as a number of seconds in 0..maximum, or refuse."""
    if key not in body:
        refuse(f"missing field {key!r}; {hint}")
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        refuse(f"field {key!r} must be a number of seconds, not {_json_type(value)}; {hint}")
    # A chained comparison refuses NaN and infinities too, and never overflows on huge ints.
    if not 0 <= value <= maximum:
        refuse(
            f"field {key!r} must be between 0 and {maximum:g} seconds, got {_short(value)}; {hint}"
        )
    return float(value)


def encodable(text: str) -> bool:
    """Whether `text` can be stored and sent as UTF-8 (JSON's \\ud800 escapes can't)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(value: object) -> str:
    # Echo enough of a bad scalar to recognise it, not a 16 KiB body or a deep structure.
    if isinstance(value, dict | list):
        return _json_type(value)
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
