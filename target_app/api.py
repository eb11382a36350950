"""The JSON API the load drivers use: health, start, vote, stop, tally and its OpenAPI document."""

from __future__ import annotations

import json
import os
from typing import Any, Final

from flask import Blueprint, abort, current_app, jsonify

from target_app import inputs
from target_app.state import current_state
from target_app.store import CHOICES, NoVoteInProgress, Resolution, VoteInProgress

bp = Blueprint("api", __name__)

MAX_VOTE_ID_LENGTH: Final = 128
VOTE_HINT: Final = (
    'send a JSON object like {"choice": "yes", "vote_id": "abc"}; choice must be "yes" or '
    f'"no", vote_id a string of 1 to {MAX_VOTE_ID_LENGTH} characters'
)
NOTHING_OPEN: Final = "no vote is in progress; start one with POST /api/resolutions"


def _resolution_hint() -> str:
    limit = current_state().settings.max_text_length
    return (
        'send a JSON object like {"text": "Homework is optional"}; text must be a string '
        f"of 1 to {limit} characters that is not all whitespace"
    )


def _resolution_json(resolution: Resolution | None) -> dict[str, Any] | None:
    if resolution is None:
        return None
    return {"id": resolution.id, "text": resolution.text, "state": resolution.state}


@bp.get("/health")
def health() -> Any:
    """Say the app is up, which build it is and which process answered."""
    settings = current_state().settings
    return jsonify(status="ok", build=settings.build, pid=os.getpid(), storage=settings.storage)


@bp.get("/api/openapi.json")
def openapi() -> Any:
    """Serve the OpenAPI 3.0 description of this API."""
    with current_app.open_resource("openapi.json") as document:
        return jsonify(json.load(document))


@bp.post("/api/resolutions")
def start() -> Any:
    """Open voting on a new resolution."""
    state = current_state()
    hint = _resolution_hint()
    body = inputs.json_object(hint)
    text = inputs.text_field(
        body, "text", max_length=state.settings.max_text_length, hint=hint
    ).strip()
    if not text:
        inputs.refuse(f"field 'text' is blank; {hint}")
    try:
        resolution = state.store.start(text)
    except VoteInProgress:
        abort(
            409,
            description="a resolution is already in progress; "
            "stop it with POST /api/resolutions/current/stop first",
        )
    return jsonify(_resolution_json(resolution)), 201


@bp.post("/api/votes")
def vote() -> Any:
    """Count one vote for the resolution in progress."""
    state = current_state()
    body = inputs.json_object(VOTE_HINT)
    choice = inputs.one_of(body, "choice", CHOICES, hint=VOTE_HINT)
    vote_id = inputs.text_field(body, "vote_id", max_length=MAX_VOTE_ID_LENGTH, hint=VOTE_HINT)
    state.faults.pause("before")
    try:
        receipt = state.store.vote("yes" if choice == "yes" else "no")
    except NoVoteInProgress:
        abort(409, description=NOTHING_OPEN)
    state.faults.pause("after")
    return jsonify(
        resolution_id=receipt.resolution_id,
        choice=receipt.choice,
        count=receipt.count,
        pid=os.getpid(),
        vote_id=vote_id,
    )


@bp.post("/api/resolutions/current/stop")
def stop() -> Any:
    """Close voting on the resolution in progress and announce the outcome."""
    try:
        result = current_state().store.stop()
    except NoVoteInProgress:
        abort(
            409,
            description="no vote is in progress, so there is nothing to stop; "
            "start one with POST /api/resolutions",
        )
    return jsonify(
        id=result.id, text=result.text, yes=result.yes, no=result.no, outcome=result.outcome
    )


@bp.get("/api/tally")
def tally() -> Any:
    """Report the resolution in progress (or else the last one closed) and its counts."""
    current = current_state().store.tally()
    return jsonify(
        resolution=_resolution_json(current.resolution),
        yes=current.yes,
        no=current.no,
        pid=os.getpid(),
    )
