"""Named values taken from one reply and used in later requests, as a browser would.

A login form carries a CSRF token, a create answers with the new item's id: a step's
``extract = { csrf = { regex = 'name="csrf_token" value="([^"]+)"' } }`` keeps the value
under a name, and ``"{csrf}"`` in a later request's path, form, JSON strings or header
values is replaced by it. ``{op_id}`` stays the operation's own id (workload.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from loadtests.target.workload import OP_ID, RequestSpec

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _sub(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, Mapping):
        return {k: _sub(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_sub(v, variables) for v in value]
    return value


def fill(request: RequestSpec, variables: Mapping[str, str]) -> RequestSpec:
    """``request`` with every ``{name}`` of ``variables`` filled in (others left as they are)."""
    if not variables:
        return request
    return replace(
        request,
        path=_sub(request.path, variables),
        json=_sub(request.json, variables),
        form=_sub(request.form, variables) if request.form is not None else None,
        headers=_sub(request.headers, variables) if request.headers is not None else None,
    )


def placeholders(request: RequestSpec) -> set[str]:
    """Every ``{name}`` a request uses (``{op_id}`` included), for the target file's check."""
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk([request.path, request.json, request.form, request.headers])
    return {m.group(1) for text in texts for m in PLACEHOLDER.finditer(text)}


RESERVED = {OP_ID.strip("{}")}
